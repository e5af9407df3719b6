import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, AuditEvent, AuditQuery, User } from '../api';
import { Field, FormNotices, Notice, Submit, useForm } from '../components/form';
import { formatTime } from '../format';
import { messages } from '../messages';
import { AdminClients } from './admin-clients';
import type { UiSettings } from '../settings';

const t = messages.admin;
const POLL_MS = 5000;

/** Users and the audit log. The API decides who may do what; this page only hides itself. */
export function AdminPage({ api, user, settings }: { api: Api; user: User; settings: UiSettings }) {
  const [auditUser, setAuditUser] = useState('');
  // Usernames of the users seen so far, so that audit rows name people rather than ids.
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map([[user.id, user.username]]));
  const learn = (users: User[]) => setNames((old) => new Map([...old, ...users.map((u) => [u.id, u.username] as const)]));
  if (user.role !== 'admin') return <Notice kind="error">{t.notAdmin}</Notice>;
  return (
    <div class="stack">
      <h1>{t.title}</h1>
      <Users api={api} self={user} onShowAudit={(id) => setAuditUser(id)} onUsers={learn} />
      <Audit api={api} types={settings.auditTypes} user={auditUser} names={names} />
      <AdminClients api={api} />
    </div>
  );
}

function Users({ api, self, onShowAudit, onUsers }: { api: Api; self: User; onShowAudit: (id: string) => void; onUsers: (users: User[]) => void }) {
  const [q, setQ] = useState('');
  const [applied, setApplied] = useState('');
  // Cursors of the pages before this one, and of this one: "previous" pops.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ items: User[]; next: string | null } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const list = useForm({ q: t.search });
  const act = useForm();
  const cursor = cursors[cursors.length - 1];

  const load = () =>
    list.run(async () => {
      const found = await api.listUsers(applied, cursor);
      setPage({ items: found.items, next: found.next_cursor });
      onUsers(found.items);
    });
  useEffect(() => void load(), [applied, cursor]);

  const search = (event: Event) => {
    event.preventDefault();
    const wanted = q.trim();
    if (wanted.length > 64) return list.fail(messages.form.fieldError(t.search, messages.form.tooLong(64)), { q: messages.form.tooLong(64) });
    setCursors([undefined]);
    setApplied(wanted);
    if (wanted === applied && cursor === undefined) void load();
  };

  const change = (target: User, action: () => Promise<unknown>, done: string) =>
    act.run(async () => {
      setConfirming(null);
      await action();
      await load();
      return done;
    });

  return (
    <section class="card" aria-labelledby="users-title">
      <h2 id="users-title">{t.users}</h2>
      <form class="toolbar" role="search" onSubmit={search} noValidate>
        <Field id="user-search" label={t.search} type="search" value={q} onInput={setQ} autocomplete="off" error={list.failure?.fields.q} />
        <Submit form={list} label={t.searchSubmit} />
      </form>
      {list.failure && <Notice kind="error">{list.failure.message}</Notice>}
      <FormNotices form={act} />
      {page && page.items.length === 0 && <p class="muted">{t.noUsers}</p>}
      {page && page.items.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="users-title">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t.username}</th>
                <th scope="col">{t.email}</th>
                <th scope="col">{t.role}</th>
                <th scope="col">{t.status}</th>
                <th scope="col">{t.created}</th>
                <th scope="col">{t.actions}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((u) => (
                <tr key={u.id} data-user={u.username}>
                  <th scope="row">
                    {u.username}
                    {u.name && <span class="muted block">{u.name}</span>}
                  </th>
                  <td>{u.email ?? '—'}</td>
                  <td>
                    <select
                      aria-label={t.changeRole(u.username)}
                      value={u.role}
                      disabled={act.busy}
                      onChange={(e) => {
                        const role = (e.currentTarget as HTMLSelectElement).value as User['role'];
                        void change(u, () => api.updateUser(u.id, { role }), t.roleChanged(u.username, role === 'admin' ? t.roleAdmin : t.roleUser));
                      }}
                    >
                      <option value="user">{t.roleUser}</option>
                      <option value="admin">{t.roleAdmin}</option>
                    </select>
                  </td>
                  <td>
                    <span class={`badge${u.disabled ? ' badge--danger' : ''}`}>{u.disabled ? t.disabled : t.active}</span>
                  </td>
                  <td>{formatTime(u.created_at)}</td>
                  <td>
                    <div class="row-actions">
                      <button
                        type="button"
                        class="button button--small"
                        disabled={act.busy}
                        onClick={() => change(u, () => api.updateUser(u.id, { disabled: !u.disabled }), u.disabled ? t.enabledDone(u.username) : t.disabledDone(u.username))}
                      >
                        {u.disabled ? t.enable : t.disable}
                        <span class="visually-hidden"> {u.username}</span>
                      </button>
                      <button
                        type="button"
                        class="button button--small"
                        aria-label={t.revokeSessionsOf(u.username)}
                        disabled={act.busy}
                        onClick={() => change(u, () => api.revokeUserSessions(u.id), t.sessionsRevoked(u.username))}
                      >
                        {t.revokeSessions}
                      </button>
                      <button type="button" class="button button--small" aria-label={t.showAuditOf(u.username)} onClick={() => onShowAudit(u.id)}>
                        {t.showAudit}
                      </button>
                      {confirming === u.id ? (
                        <>
                          <button
                            type="button"
                            class="button button--small button--danger"
                            disabled={act.busy}
                            onClick={() => change(u, () => api.deleteUser(u.id), t.deleted(u.username))}
                          >
                            {t.confirmDeleteButton}
                            <span class="visually-hidden"> {u.username}</span>
                          </button>
                          <button type="button" class="button button--small" onClick={() => setConfirming(null)}>
                            {t.cancel}
                          </button>
                        </>
                      ) : (
                        <button
                          type="button"
                          class="button button--small button--danger"
                          aria-label={t.deleteOf(u.username)}
                          disabled={act.busy || u.id === self.id}
                          onClick={() => setConfirming(u.id)}
                        >
                          {t.delete}
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="actions">
        <button type="button" class="button" disabled={cursors.length < 2 || list.busy} onClick={() => setCursors((c) => c.slice(0, -1))}>
          {t.previous}
        </button>
        <button type="button" class="button" disabled={!page?.next || list.busy} onClick={() => page?.next && setCursors((c) => [...c, page.next!])}>
          {t.next}
        </button>
      </div>
    </section>
  );
}

const AUDIT_LABELS = { user: t.filterUser, type: t.filterType, since: t.filterSince, until: t.filterUntil };
interface Filters {
  user: string;
  type: string;
  since: string;
  until: string;
}
const NO_FILTERS: Filters = { user: '', type: '', since: '', until: '' };

/** datetime-local text (the browser's time zone) as an instant, or undefined when empty. */
function instant(local: string): string | undefined | null {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** A user by name when known, else the start of the id (the whole id for machines and search). */
function Who({ id, names }: { id: string | null; names: ReadonlyMap<string, string> }) {
  if (id === null) return <>—</>;
  const name = names.get(id);
  return name ? <span data-id={id}>{name}</span> : <code data-id={id}>{id.slice(0, 8)}…</code>;
}

function Audit({ api, types, user, names }: { api: Api; types: readonly string[]; user: string; names: ReadonlyMap<string, string> }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<AuditQuery>({});
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const [announcement, setAnnouncement] = useState('');
  const form = useForm(AUDIT_LABELS);
  const newest = useRef<string | null>(null);
  const set = (name: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [name]: value }));

  // "Audit" on a user's row filters by that user.
  useEffect(() => {
    if (!user) return;
    setDraft((d) => ({ ...d, user }));
    setApplied((a) => ({ ...a, user }));
  }, [user]);

  useEffect(() => {
    void form.run(async () => {
      const page = await api.audit(applied);
      setEvents(page.items);
      setNext(page.next_cursor);
      newest.current = page.items[0]?.id ?? null;
      setAnnouncement('');
    });
  }, [applied]);

  // Following: the first page is asked for again and whatever is newer than the top row is added.
  useEffect(() => {
    if (!follow || applied.until) return;
    const timer = setInterval(async () => {
      try {
        const page = await api.audit(applied);
        const fresh = page.items.filter((e) => newest.current === null || e.id > newest.current);
        if (fresh.length === 0) return;
        newest.current = fresh[0]!.id;
        setEvents((old) => [...fresh, ...old]);
        setAnnouncement(t.newEvents(fresh.length));
      } catch {
        // A missed poll is retried by the next one.
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [follow, applied]);

  const submit = (event: Event) => {
    event.preventDefault();
    const since = instant(draft.since);
    const until = instant(draft.until);
    const fields: Record<string, string> = {};
    if (since === null) fields.since = messages.form.invalidDate(t.filterSince);
    if (until === null) fields.until = messages.form.invalidDate(t.filterUntil);
    if (since && until && since >= until) fields.until = t.untilBeforeSince;
    if (Object.keys(fields).length > 0) return form.fail(Object.values(fields).join(' '), fields);
    setApplied({ user: draft.user.trim() || undefined, type: draft.type || undefined, since: since ?? undefined, until: until ?? undefined });
  };

  const more = () =>
    void form.run(async () => {
      if (!next) return;
      const page = await api.audit({ ...applied, cursor: next });
      setEvents((old) => [...old, ...page.items]);
      setNext(page.next_cursor);
    });

  return (
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title">{t.audit}</h2>
      <form class="filters" onSubmit={submit} noValidate>
        <FormNotices form={form} />
        <div class="grid grid--filters">
          <Field id="audit-user" label={t.filterUser} value={draft.user} onInput={set('user')} autocomplete="off" error={form.failure?.fields.user} />
          <div class="field">
            <label for="audit-type">{t.filterType}</label>
            <select id="audit-type" value={draft.type} onChange={(e) => set('type')((e.currentTarget as HTMLSelectElement).value)}>
              <option value="">{t.anyType}</option>
              {types.map((type) => (
                <option key={type} value={type}>
                  {type}
                </option>
              ))}
            </select>
          </div>
          <Field id="audit-since" label={t.filterSince} type="datetime-local" value={draft.since} onInput={set('since')} error={form.failure?.fields.since} />
          <Field id="audit-until" label={t.filterUntil} type="datetime-local" value={draft.until} onInput={set('until')} error={form.failure?.fields.until} />
        </div>
        <div class="actions">
          <Submit form={form} label={t.applyFilters} />
          <button
            type="button"
            class="button"
            onClick={() => {
              setDraft(NO_FILTERS);
              setApplied({});
            }}
          >
            {t.clearFilters}
          </button>
          <label class="check">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.currentTarget as HTMLInputElement).checked)} />
            {t.follow}
          </label>
        </div>
      </form>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      {events.length === 0 && !form.busy && <p class="muted">{t.noEvents}</p>}
      {events.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="audit-title">
          <table class="table table--audit">
            <thead>
              <tr>
                <th scope="col">{t.when}</th>
                <th scope="col">{t.type}</th>
                <th scope="col">{t.actor}</th>
                <th scope="col">{t.subject}</th>
                <th scope="col">{t.ip}</th>
                <th scope="col">{t.details}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} data-type={e.type}>
                  <td class="when">{formatTime(e.at, true)}</td>
                  <td>
                    <code>{e.type}</code>
                  </td>
                  <td class="id">
                    <Who id={e.actor_id} names={names} />
                  </td>
                  <td class="id">
                    <Who id={e.subject_id} names={names} />
                  </td>
                  <td>{e.ip ?? '—'}</td>
                  <td class="details">
                    {Object.entries(e.details)
                      .map(([k, v]) => `${k}=${String(v)}`)
                      .join(' ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <div class="actions">
          <button type="button" class="button" disabled={form.busy} onClick={more}>
            {t.more}
          </button>
        </div>
      )}
    </section>
  );
}
