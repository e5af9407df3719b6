import { useState } from 'preact/hooks';
import type { Api, User } from '../api';
import { Field, FormNotices, Submit, missing, useForm } from '../components/form';
import { messages } from '../messages';
import { onLinkClick } from '../router';

const t = messages.register;
const LABELS = { username: t.username, email: t.email, name: t.name, password: t.password, confirm: t.confirm };

/** Create an account, then sign in with it. */
export function RegisterPage({ api, onSignedIn, loginHref }: { api: Api; onSignedIn: (user: User) => void; loginHref: string }) {
  const [values, setValues] = useState({ username: '', email: '', name: '', password: '', confirm: '' });
  const form = useForm(LABELS);
  const set = (name: keyof typeof values) => (value: string) => setValues((v) => ({ ...v, [name]: value }));

  const submit = (event: Event) => {
    event.preventDefault();
    const fields = missing(values, LABELS, ['username', 'email', 'password', 'confirm']);
    if (!fields.email && !/^[^\s@]+@[^\s@]+$/.test(values.email.trim())) fields.email = messages.form.invalidEmail;
    if (!fields.password && values.password.length < 8) fields.password = messages.form.tooShort(t.password, 8);
    if (!fields.confirm && !fields.password && values.password !== values.confirm) fields.confirm = messages.form.mismatch;
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    void form.run(async () => {
      const { username, email, name, password } = values;
      await api.signUp({ username: username.trim(), email: email.trim(), password, ...(name.trim() ? { name: name.trim() } : {}) });
      const result = await api.signIn(username.trim(), password);
      if (result.status === 'signed-in') onSignedIn(result.user);
      return null;
    });
  };

  const error = (name: string) => form.failure?.fields[name];
  return (
    <section class="card card--narrow" aria-labelledby="register-title">
      <h1 id="register-title">{t.title}</h1>
      <form onSubmit={submit} noValidate>
        <FormNotices form={form} />
        <Field
          id="username"
          label={t.username}
          value={values.username}
          onInput={set('username')}
          autocomplete="username"
          hint={t.usernameHint}
          required
          autofocus
          error={error('username')}
        />
        <Field id="email" label={t.email} type="email" value={values.email} onInput={set('email')} autocomplete="email" required error={error('email')} />
        <Field id="name" label={t.name} value={values.name} onInput={set('name')} autocomplete="name" error={error('name')} />
        <Field
          id="password"
          label={t.password}
          type="password"
          value={values.password}
          onInput={set('password')}
          autocomplete="new-password"
          hint={t.passwordHint}
          required
          error={error('password')}
        />
        <Field id="confirm" label={t.confirm} type="password" value={values.confirm} onInput={set('confirm')} autocomplete="new-password" required error={error('confirm')} />
        <Submit form={form} label={t.submit} busyLabel={t.submitting} />
      </form>
      <p class="aside">
        {t.haveAccount}{' '}
        <a href={loginHref} onClick={onLinkClick}>
          {t.signIn}
        </a>
      </p>
    </section>
  );
}
