import { useState } from 'preact/hooks';
import type { Api, User } from '../api';
import { Field, FormNotices, Submit, missing, useForm } from '../components/form';
import { messages } from '../messages';
import { onLinkClick } from '../router';
import { ProviderButtons, SsoError } from '../components/providers';

const t = messages.login;
const LABELS = { login: t.login, password: t.password };

interface SecondStep {
  readonly mfaToken: string;
  readonly methods: readonly string[];
}

/** Sign in with a username or email and a password (then a second factor, when the account has one), or with a passkey alone. */
export function LoginPage({ api, onSignedIn, registerHref }: { api: Api; onSignedIn: (user: User) => void; registerHref: string }) {
  // An application's login_hint (OIDC Core §3.1.2.1) fills the field; the user may change it.
  const [login, setLogin] = useState(() => new URLSearchParams(location.search).get('login_hint') ?? '');
  const [password, setPassword] = useState('');
  const [step, setStep] = useState<SecondStep | null>(null);
  const form = useForm(LABELS);
  const passkeyForm = useForm();

  const submit = (event: Event) => {
    event.preventDefault();
    const fields = missing({ login, password }, LABELS, ['login', 'password']);
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    void form.run(async () => {
      const result = await api.signIn(login.trim(), password);
      setPassword('');
      if (result.status === 'signed-in') {
        onSignedIn(result.user);
        return null;
      }
      setStep({ mfaToken: result.mfaToken, methods: result.methods });
      return null;
    });
  };

  const withPasskey = () =>
    void passkeyForm.run(async () => {
      const result = await api.signInWithPasskey();
      if (result.status === 'signed-in') onSignedIn(result.user);
      return null;
    });

  if (step) return <SecondFactor api={api} step={step} onSignedIn={onSignedIn} onStartOver={() => setStep(null)} />;

  return (
    <section class="card card--narrow" aria-labelledby="login-title">
      <h1 id="login-title">{t.title}</h1>
      <SsoError />
      <form onSubmit={submit} noValidate>
        <FormNotices form={form} />
        <Field id="login" label={t.login} value={login} onInput={setLogin} autocomplete="username webauthn" required autofocus error={form.failure?.fields.login} />
        <Field
          id="password"
          label={t.password}
          type="password"
          value={password}
          onInput={setPassword}
          autocomplete="current-password"
          required
          error={form.failure?.fields.password}
        />
        <Submit form={form} label={t.submit} busyLabel={t.submitting} />
      </form>
      <p class="aside">{t.or}</p>
      <FormNotices form={passkeyForm} />
      <button type="button" class="button" id="passkey-sign-in" disabled={passkeyForm.busy} onClick={withPasskey}>
        {t.withPasskey}
      </button>
      <ProviderButtons api={api} redirectTo={new URLSearchParams(location.search).get('redirect_to')} />
      <p class="aside">
        <a href="/ui/forgot" onClick={onLinkClick} id="forgot-link">
          {messages.forgot.forgotLink}
        </a>
      </p>
      <p class="aside">
        {t.noAccount}{' '}
        <a href={registerHref} onClick={onLinkClick}>
          {t.register}
        </a>
      </p>
    </section>
  );
}

/** The second step: a code from the app, a recovery code, or a passkey. */
function SecondFactor({ api, step, onSignedIn, onStartOver }: { api: Api; step: SecondStep; onSignedIn: (user: User) => void; onStartOver: () => void }) {
  const hasCodes = step.methods.includes('totp') || step.methods.includes('recovery_code');
  const [recovery, setRecovery] = useState(!step.methods.includes('totp') && step.methods.includes('recovery_code'));
  const [code, setCode] = useState('');
  const label = recovery ? t.recoveryCode : t.code;
  const form = useForm({ code: label });

  const finish = (action: () => ReturnType<Api['completeSignIn']>) =>
    void form.run(async () => {
      const result = await action();
      if (result.status === 'signed-in') onSignedIn(result.user);
      return null;
    });

  const submit = (event: Event) => {
    event.preventDefault();
    const fields = missing({ code }, { code: label }, ['code']);
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    finish(() => api.completeSignIn(step.mfaToken, code.trim(), recovery));
  };

  return (
    <section class="card card--narrow" aria-labelledby="second-step-title" id="second-step">
      <h1 id="second-step-title">{t.secondStepTitle}</h1>
      <FormNotices form={form} />
      {hasCodes && (
        <form onSubmit={submit} noValidate>
          {!recovery && <p>{t.secondStepIntro}</p>}
          <Field id="mfa-code" label={label} value={code} onInput={setCode} autocomplete="one-time-code" required autofocus error={form.failure?.fields.code} />
          <Submit form={form} label={t.verify} busyLabel={t.verifying} />
          {step.methods.includes('totp') && step.methods.includes('recovery_code') && (
            <p class="aside">
              <button type="button" class="link-button" id="toggle-recovery" onClick={() => setRecovery(!recovery)}>
                {recovery ? t.useAppCode : t.useRecoveryCode}
              </button>
            </p>
          )}
        </form>
      )}
      {step.methods.includes('webauthn') && (
        <button type="button" class="button" id="mfa-passkey" disabled={form.busy} onClick={() => finish(() => api.completeSignInWithPasskey(step.mfaToken))}>
          {t.usePasskey}
        </button>
      )}
      <p class="aside">
        <button type="button" class="link-button" onClick={onStartOver}>
          {t.startOver}
        </button>
      </p>
    </section>
  );
}
