import { useEffect, useState } from 'preact/hooks';
import type { Api, OAuthClientView } from '../api';
import { Field, FormNotices, Notice, Submit, useForm } from '../components/form';
import { messages } from '../messages';

const t = messages.adminClients;

/** OAuth clients: register (the secret is shown once), rotate a secret, remove. */
export function AdminClients({ api }: { api: Api }) {
  const [items, setItems] = useState<OAuthClientView[] | null>(null);
  const [secret, setSecret] = useState<{ id: string; value: string } | null>(null);
  const [name, setName] = useState('');
  const [redirect, setRedirect] = useState('');
  const [type, setType] = useState<'public' | 'confidential'>('confidential');
  const [firstParty, setFirstParty] = useState(false);
  const list = useForm();
  const form = useForm({ name: t.name, redirect_uris: t.redirectUri });
  const load = () =>
    list.run(async () => {
      setItems((await api.clients()).items);
      return null;
    });
  useEffect(() => void load(), []);

  const submit = (event: Event) => {
    event.preventDefault();
    void form.run(async () => {
      const created = await api.createClient({ name: name.trim(), type, first_party: firstParty, redirect_uris: redirect.trim() ? [redirect.trim()] : [], scopes: [] });
      setSecret(created.client_secret ? { id: created.client.id, value: created.client_secret } : null);
      setName('');
      setRedirect('');
      await load();
      return t.created(created.client.id);
    });
  };
  const act = (action: () => Promise<void>) =>
    void form.run(async () => {
      await action();
      await load();
      return null;
    });

  return (
    <section class="card" aria-labelledby="clients-title" id="oauth-clients">
      <h2 id="clients-title">{t.title}</h2>
      <FormNotices form={list} />
      {secret && (
        <Notice kind="info">
          {t.secretOnce(secret.id)} <code id="client-secret">{secret.value}</code>
        </Notice>
      )}
      {items && items.length === 0 && <p class="muted">{t.none}</p>}
      {items && items.length > 0 && (
        <div class="table-scroll">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t.name}</th>
                <th scope="col">{t.id}</th>
                <th scope="col">{t.type}</th>
                <th scope="col">{t.redirectUri}</th>
                <th scope="col">{t.actions}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <td>{c.name}</td>
                  <td>
                    <code>{c.id}</code>
                  </td>
                  <td>{c.first_party ? t.firstPartyType(c.type) : c.type}</td>
                  <td>{c.redirect_uris.join(' ')}</td>
                  <td>
                    {c.type === 'confidential' && (
                      <button
                        type="button"
                        class="button"
                        disabled={form.busy}
                        onClick={() =>
                          act(async () => {
                            const rotated = await api.rotateClientSecret(c.id);
                            setSecret(rotated.client_secret ? { id: c.id, value: rotated.client_secret } : null);
                          })
                        }
                      >
                        {t.rotate}
                      </button>
                    )}{' '}
                    <button
                      type="button"
                      class="button button--danger"
                      aria-label={`${t.remove}: ${c.name}`}
                      disabled={form.busy}
                      onClick={() => act(() => api.deleteClient(c.id))}
                    >
                      {t.remove}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form onSubmit={submit} noValidate>
        <h3>{t.register}</h3>
        <FormNotices form={form} />
        <Field id="client-name" label={t.name} value={name} onInput={setName} required error={form.failure?.fields.name} />
        <Field id="client-redirect" label={t.redirectUri} value={redirect} onInput={setRedirect} error={form.failure?.fields.redirect_uris} />
        <div class="field">
          <label for="client-type">{t.type}</label>
          <select id="client-type" value={type} onChange={(e) => setType((e.currentTarget as HTMLSelectElement).value as 'public' | 'confidential')}>
            <option value="confidential">{t.confidential}</option>
            <option value="public">{t.public}</option>
          </select>
        </div>
        <div class="field">
          <label>
            <input type="checkbox" id="client-first-party" checked={firstParty} onChange={(e) => setFirstParty((e.currentTarget as HTMLInputElement).checked)} /> {t.firstParty}
          </label>
        </div>
        <Submit form={form} label={t.register} busyLabel={t.registering} />
      </form>
    </section>
  );
}
