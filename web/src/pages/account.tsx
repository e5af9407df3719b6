import { useEffect, useState } from 'preact/hooks';
import type { Api, Session, User } from '../api';
import { Field, FormNotices, Submit, missing, useForm } from '../components/form';
import { describeDevice, formatTime } from '../format';
import { messages } from '../messages';
import { Factors, StepUp } from './account-factors';
import { LinkedIdentities } from './identities';
import { ConnectedApps } from './connected-apps';

const t = messages.account;

/** The signed-in person's own account: profile, password, sessions, and what comes next. */
export function AccountPage({ api, user, onUser, onSignedOut }: { api: Api; user: User; onUser: (user: User) => void; onSignedOut: () => void }) {
  const [sessionsVersion, setSessionsVersion] = useState(0);
  return (
    <div class="stack">
      <h1>{t.title}</h1>
      <StepUp api={api} />
      <Profile api={api} user={user} onUser={onUser} />
      <EmailStatus api={api} user={user} />
      <Password api={api} username={user.username} onChanged={() => setSessionsVersion((v) => v + 1)} />
      <Sessions api={api} version={sessionsVersion} onSignedOut={onSignedOut} />
      <Factors api={api} />
      <LinkedIdentities api={api} />
      <ConnectedApps api={api} />
      <DeleteAccount api={api} user={user} onDeleted={onSignedOut} />
    </div>
  );
}

const PROFILE_LABELS = { name: t.name, username: t.username, email: t.email };

function Profile({ api, user, onUser }: { api: Api; user: User; onUser: (user: User) => void }) {
  const [values, setValues] = useState({ name: user.name ?? '', username: user.username, email: user.email ?? '' });
  const form = useForm(PROFILE_LABELS);
  const set = (name: keyof typeof values) => (value: string) => setValues((v) => ({ ...v, [name]: value }));

  const submit = (event: Event) => {
    event.preventDefault();
    const fields = missing(values, PROFILE_LABELS, ['username', 'email']);
    if (!fields.email && !/^[^\s@]+@[^\s@]+$/.test(values.email.trim())) fields.email = messages.form.invalidEmail;
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    // Only what changed is sent: an unchanged email is not re-verified by later email work.
    const patch: Record<string, string | null> = {};
    if (values.name.trim() !== (user.name ?? '')) patch.name = values.name.trim() || null;
    if (values.username.trim() !== user.username) patch.username = values.username.trim();
    if (values.email.trim() !== (user.email ?? '')) patch.email = values.email.trim();
    if (Object.keys(patch).length === 0) return form.fail(t.noChanges);
    void form.run(async () => {
      const answer = await api.updateMe(patch);
      // A new address is confirmed by a link first; the other fields are saved already.
      const updated = 'pending_email' in answer ? await api.currentUser() : answer;
      if (updated) {
        onUser(updated);
        setValues({ name: updated.name ?? '', username: updated.username, email: updated.email ?? '' });
      }
      return 'pending_email' in answer ? t.emailPending(answer.pending_email) : t.profileSaved;
    });
  };

  const error = (name: string) => form.failure?.fields[name];
  return (
    <section class="card" aria-labelledby="profile-title">
      <h2 id="profile-title">{t.profile}</h2>
      <form onSubmit={submit} noValidate>
        <FormNotices form={form} />
        <div class="grid">
          <Field id="profile-name" label={t.name} value={values.name} onInput={set('name')} autocomplete="name" error={error('name')} />
          <Field id="profile-username" label={t.username} value={values.username} onInput={set('username')} autocomplete="username" required error={error('username')} />
          <Field id="profile-email" label={t.email} type="email" value={values.email} onInput={set('email')} autocomplete="email" required error={error('email')} />
        </div>
        <Submit form={form} label={t.saveProfile} />
      </form>
    </section>
  );
}

const PASSWORD_LABELS = { current_password: t.currentPassword, new_password: t.newPassword, confirm: t.confirmPassword };

function Password({ api, username, onChanged }: { api: Api; username: string; onChanged: () => void }) {
  const [values, setValues] = useState({ current_password: '', new_password: '', confirm: '' });
  const form = useForm(PASSWORD_LABELS);
  const set = (name: keyof typeof values) => (value: string) => setValues((v) => ({ ...v, [name]: value }));

  const submit = (event: Event) => {
    event.preventDefault();
    const fields = missing(values, PASSWORD_LABELS, ['current_password', 'new_password', 'confirm']);
    if (!fields.new_password && values.new_password.length < 8) fields.new_password = messages.form.tooShort(t.newPassword, 8);
    if (!fields.confirm && !fields.new_password && values.new_password !== values.confirm) fields.confirm = messages.form.mismatch;
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    void form.run(async () => {
      await api.changePassword(values.current_password, values.new_password);
      setValues({ current_password: '', new_password: '', confirm: '' });
      onChanged();
      return t.passwordChanged;
    });
  };

  const error = (name: string) => form.failure?.fields[name];
  return (
    <section class="card" aria-labelledby="password-title">
      <h2 id="password-title">{t.password}</h2>
      <form onSubmit={submit} noValidate>
        <FormNotices form={form} />
        {/* Password managers file the new password under this account. */}
        <input type="text" name="username" autocomplete="username" value={username} readOnly hidden />
        <div class="grid">
          <Field
            id="current_password"
            label={t.currentPassword}
            type="password"
            value={values.current_password}
            onInput={set('current_password')}
            autocomplete="current-password"
            required
            error={error('current_password')}
          />
          <Field
            id="new_password"
            label={t.newPassword}
            type="password"
            value={values.new_password}
            onInput={set('new_password')}
            autocomplete="new-password"
            required
            error={error('new_password')}
          />
          <Field
            id="confirm_password"
            label={t.confirmPassword}
            type="password"
            value={values.confirm}
            onInput={set('confirm')}
            autocomplete="new-password"
            required
            error={error('confirm')}
          />
        </div>
        <Submit form={form} label={t.changePassword} />
      </form>
    </section>
  );
}

function Sessions({ api, version, onSignedOut }: { api: Api; version: number; onSignedOut: () => void }) {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  // Loading the list and acting on it report apart: a reload after an action keeps its message.
  const list = useForm();
  const form = useForm();
  const load = () =>
    list.run(async () => {
      setSessions((await api.sessions()).items);
    });
  useEffect(() => void load(), [version]);

  const act = (action: () => Promise<void>, done: string, endsHere = false) =>
    void form.run(async () => {
      await action();
      if (endsHere) {
        onSignedOut();
        return null;
      }
      await load();
      return done;
    });

  return (
    <section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">{t.sessions}</h2>
      <p class="muted">{t.sessionsIntro}</p>
      <FormNotices form={list} />
      <FormNotices form={form} />
      {sessions && (
        <ul class="sessions">
          {sessions.map((s) => {
            const device = describeDevice(s.user_agent);
            return (
              <li key={s.id} class="session">
                <div>
                  <strong>{device}</strong>
                  {s.current && <span class="badge">{t.thisDevice}</span>}
                  <dl class="facts">
                    <div>
                      <dt>{t.ip}</dt>
                      <dd>{s.ip ?? '—'}</dd>
                    </div>
                    <div>
                      <dt>{t.started}</dt>
                      <dd>{formatTime(s.created_at)}</dd>
                    </div>
                    <div>
                      <dt>{t.lastUsed}</dt>
                      <dd>{formatTime(s.last_used_at)}</dd>
                    </div>
                  </dl>
                </div>
                <button
                  type="button"
                  class="button"
                  aria-label={t.revokeSession(device)}
                  disabled={form.busy}
                  onClick={() => act(() => (s.current ? api.signOut('local') : api.revokeSession(s.id)), t.sessionRevoked, s.current)}
                >
                  {t.revoke}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <div class="actions">
        <button type="button" class="button" disabled={form.busy} onClick={() => act(() => api.signOut('others'), t.othersRevoked)}>
          {t.revokeOthers}
        </button>
        <button type="button" class="button button--danger" disabled={form.busy} onClick={() => act(() => api.signOut('global'), t.sessionRevoked, true)}>
          {t.revokeAll}
        </button>
      </div>
    </section>
  );
}

function DeleteAccount({ api, user, onDeleted }: { api: Api; user: User; onDeleted: () => void }) {
  const [typed, setTyped] = useState('');
  const form = useForm();
  const label = t.deleteConfirm(user.username);

  const submit = (event: Event) => {
    event.preventDefault();
    if (typed.trim() !== user.username) return form.fail(t.deleteMismatch, { confirm: t.deleteMismatch });
    void form.run(async () => {
      await api.deleteUser(user.id);
      // The account is gone and its sessions with it: clear what the client holds too.
      await api.signOut('local').catch(() => undefined);
      onDeleted();
      return null;
    });
  };

  return (
    <section class="card card--danger" aria-labelledby="delete-title">
      <h2 id="delete-title">{t.danger}</h2>
      <p>{t.deleteIntro}</p>
      <form onSubmit={submit} noValidate>
        <FormNotices form={form} />
        <Field id="delete-confirm" label={label} value={typed} onInput={setTyped} autocomplete="off" error={form.failure?.fields.confirm} />
        <button type="submit" class="button button--danger" disabled={form.busy}>
          {t.deleteSubmit}
        </button>
      </form>
    </section>
  );
}

/** Whether the address is verified, and a new link when it is not. */
function EmailStatus({ api, user }: { api: Api; user: User }) {
  const form = useForm();
  const send = () =>
    void form.run(async () => {
      await api.sendVerification();
      return t.verificationSent(user.email ?? '');
    });
  return (
    <section class="card" aria-labelledby="email-title" id="email">
      <h2 id="email-title">{t.emailTitle}</h2>
      <FormNotices form={form} />
      <p>{user.email_verified ? t.emailVerified(user.email ?? '') : t.emailUnverified(user.email ?? '')}</p>
      {!user.email_verified && (
        <button type="button" class="button" id="send-verification" disabled={form.busy || form.waiting} onClick={send}>
          {t.sendVerification}
        </button>
      )}
    </section>
  );
}
