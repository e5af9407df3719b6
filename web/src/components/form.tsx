import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError, type Failure } from '../errors';
import { messages } from '../messages';

interface FieldProps {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly onInput: (value: string) => void;
  readonly type?: 'text' | 'email' | 'password' | 'search' | 'datetime-local';
  readonly autocomplete?: string;
  readonly hint?: string;
  readonly error?: string | undefined;
  readonly required?: boolean;
  readonly autofocus?: boolean;
}

/** A labelled input; its hint and error are tied to it for screen readers. */
export function Field({ id, label, value, onInput, type = 'text', autocomplete, hint, error, required, autofocus }: FieldProps) {
  const input = useRef<HTMLInputElement>(null);
  // The attribute alone is not honoured for fields a script adds after the page loaded.
  useEffect(() => {
    if (autofocus) input.current?.focus();
  }, []);
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${error ? ' field--invalid' : ''}`}>
      <label for={id}>{label}</label>
      <input
        ref={input}
        id={id}
        name={id}
        // Preact types each input type apart; the union of ours is fine at run time.
        type={type as 'text'}
        value={value}
        autocomplete={autocomplete}
        required={required}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described}
        onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** Messages about a form: errors are alerts (announced at once), confirmations polite. */
export function Notice({ kind, children }: { kind: 'error' | 'success' | 'info'; children: ComponentChildren }) {
  return (
    <div class={`notice notice--${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export interface FormState {
  readonly busy: boolean;
  readonly failure: Failure | null;
  readonly success: string | null;
  /** True while a 429's Retry-After runs: the submit button waits with it. */
  readonly waiting: boolean;
  /** Runs `action`, reporting what failed with these field labels. */
  run(action: () => Promise<string | null | void>): Promise<void>;
  fail(message: string, fields?: Record<string, string>): void;
  reset(): void;
}

export function useForm(labels: Readonly<Record<string, string>> = {}): FormState {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [success, setSuccess] = useState<string | null>(null);
  const [waiting, setWaiting] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  return {
    busy,
    failure,
    success,
    waiting,
    async run(action) {
      setBusy(true);
      setFailure(null);
      setSuccess(null);
      try {
        const done = await action();
        if (done) setSuccess(done);
      } catch (error) {
        const described = describeError(error, labels);
        setFailure(described);
        if (described.retryAfter !== null && described.retryAfter > 0) {
          setWaiting(true);
          timer.current = setTimeout(() => setWaiting(false), described.retryAfter * 1000);
        }
      } finally {
        setBusy(false);
      }
    },
    fail(message, fields = {}) {
      setSuccess(null);
      setFailure({ message, fields, retryAfter: null });
    },
    reset() {
      setFailure(null);
      setSuccess(null);
    },
  };
}

/** The notices of a form, in the order a reader meets them. */
export function FormNotices({ form }: { form: FormState }) {
  return (
    <>
      {form.failure && <Notice kind="error">{form.failure.message}</Notice>}
      {form.success && <Notice kind="success">{form.success}</Notice>}
    </>
  );
}

export function Submit({ form, label, busyLabel }: { form: FormState; label: string; busyLabel?: string }) {
  return (
    <button type="submit" class="button button--primary" disabled={form.busy || form.waiting}>
      {form.busy ? (busyLabel ?? label) : label}
    </button>
  );
}

/** Checks done before a request: required fields, then the form's own rules. */
export function missing(values: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>, required: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const name of required) if (!values[name]?.trim()) fields[name] = messages.form.required(labels[name] ?? name);
  return fields;
}
