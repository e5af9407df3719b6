import { useState } from 'preact/hooks';
import type { Api } from '../api';
import { Field, FormNotices, Submit, missing, useForm } from '../components/form';
import { messages } from '../messages';
import { onLinkClick } from '../router';

const t = messages.forgot;
const LABELS = { email: t.email };

/** Ask for a password-reset link. The answer is the same whether or not the address has an account (EMAIL-02). */
export function ForgotPage({ api, loginHref }: { api: Api; loginHref: string }) {
  const [email, setEmail] = useState('');
  const form = useForm(LABELS);

  const submit = (event: Event) => {
    event.preventDefault();
    const fields = missing({ email }, LABELS, ['email']);
    if (!fields.email && !/^[^\s@]+@[^\s@]+$/.test(email.trim())) fields.email = messages.form.invalidEmail;
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    void form.run(async () => {
      await api.forgotPassword(email.trim());
      return t.sent;
    });
  };

  return (
    <section class="card card--narrow" aria-labelledby="forgot-title">
      <h1 id="forgot-title">{t.title}</h1>
      <p>{t.intro}</p>
      <form onSubmit={submit} noValidate>
        <FormNotices form={form} />
        <Field id="email" label={t.email} type="email" value={email} onInput={setEmail} autocomplete="email" required autofocus error={form.failure?.fields.email} />
        <Submit form={form} label={t.submit} busyLabel={t.submitting} />
      </form>
      <p class="aside">
        <a href={loginHref} onClick={onLinkClick}>
          {t.backToSignIn}
        </a>
      </p>
    </section>
  );
}
