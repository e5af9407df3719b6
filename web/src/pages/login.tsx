import { useState } from 'preact/hooks';
import type { Api, User } from '../api';
import { Field, FormNotices, Submit, missing, useForm } from '../components/form';
import { messages } from '../messages';
import { onLinkClick } from '../router';

const t = messages.login;
const LABELS = { login: t.login, password: t.password };

/** Sign in with a username or email and a password. */
export function LoginPage({ api, onSignedIn, registerHref }: { api: Api; onSignedIn: (user: User) => void; registerHref: string }) {
  // An application's login_hint (OIDC Core §3.1.2.1) fills the field; the user may change it.
  const [login, setLogin] = useState(() => new URLSearchParams(location.search).get('login_hint') ?? '');
  const [password, setPassword] = useState('');
  const form = useForm(LABELS);

  const submit = (event: Event) => {
    event.preventDefault();
    const fields = missing({ login, password }, LABELS, ['login', 'password']);
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    void form.run(async () => {
      const result = await api.signIn(login.trim(), password);
      if (result.status === 'signed-in') {
        setPassword('');
        onSignedIn(result.user);
        return null;
      }
      return form.fail(t.secondFactorNotYet);
    });
  };

  return (
    <section class="card card--narrow" aria-labelledby="login-title">
      <h1 id="login-title">{t.title}</h1>
      <form onSubmit={submit} noValidate>
        <FormNotices form={form} />
        <Field id="login" label={t.login} value={login} onInput={setLogin} autocomplete="username" required autofocus error={form.failure?.fields.login} />
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
