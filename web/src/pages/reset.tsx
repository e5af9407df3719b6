import { useState } from 'preact/hooks';
import type { Api } from '../api';
import { Field, FormNotices, Notice, Submit, missing, useForm } from '../components/form';
import { messages } from '../messages';
import { onLinkClick } from '../router';

const t = messages.reset;
const LABELS = { password: t.password, confirm: t.confirm };

/** The token rides in the fragment (`#token=`), which the browser never sends to a server. */
export function linkToken(name: string): string | null {
  return new URLSearchParams(location.hash.replace(/^#/, '')).get(name);
}

/** Choose a new password with the link from the reset message; every session ends. */
export function ResetPage({ api, loginHref, forgotHref }: { api: Api; loginHref: string; forgotHref: string }) {
  const [token] = useState(() => linkToken('token'));
  const [values, setValues] = useState({ password: '', confirm: '' });
  const [done, setDone] = useState(false);
  const form = useForm(LABELS);
  const set = (name: keyof typeof values) => (value: string) => setValues((v) => ({ ...v, [name]: value }));

  const submit = (event: Event) => {
    event.preventDefault();
    const fields = missing(values, LABELS, ['password', 'confirm']);
    if (!fields.password && values.password.length < 8) fields.password = messages.form.tooShort(t.password, 8);
    if (!fields.confirm && !fields.password && values.password !== values.confirm) fields.confirm = messages.form.mismatch;
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    void form.run(async () => {
      await api.resetPassword(token!, values.password);
      setDone(true);
      return null;
    });
  };

  if (!token) {
    return (
      <section class="card card--narrow" aria-labelledby="reset-title">
        <h1 id="reset-title">{t.title}</h1>
        <Notice kind="error">{t.noToken}</Notice>
        <p class="aside">
          <a href={forgotHref} onClick={onLinkClick}>
            {t.askAgain}
          </a>
        </p>
      </section>
    );
  }
  return (
    <section class="card card--narrow" aria-labelledby="reset-title">
      <h1 id="reset-title">{t.title}</h1>
      {done ? (
        <>
          <Notice kind="success">{t.done}</Notice>
          <p class="aside">
            <a href={loginHref} onClick={onLinkClick} id="reset-sign-in">
              {t.signIn}
            </a>
          </p>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <FormNotices form={form} />
          <Field
            id="password"
            label={t.password}
            type="password"
            value={values.password}
            onInput={set('password')}
            autocomplete="new-password"
            hint={t.passwordHint}
            required
            autofocus
            error={form.failure?.fields.password}
          />
          <Field
            id="confirm"
            label={t.confirm}
            type="password"
            value={values.confirm}
            onInput={set('confirm')}
            autocomplete="new-password"
            required
            error={form.failure?.fields.confirm}
          />
          <Submit form={form} label={t.submit} busyLabel={t.submitting} />
          {form.failure && !form.failure.fields.password && (
            <p class="aside">
              <a href={forgotHref} onClick={onLinkClick}>
                {t.askAgain}
              </a>
            </p>
          )}
        </form>
      )}
    </section>
  );
}
