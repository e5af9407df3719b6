import { useEffect, useState } from 'preact/hooks';
import { GatehouseError, type Api, type LinkedIdentity } from '../api';
import { FormNotices, Notice, useForm } from '../components/form';
import { SsoError, useProviders } from '../components/providers';
import { formatTime } from '../format';
import { messages } from '../messages';

const t = messages.sso;

/** Linked identities on the account page: list, link another (a round trip to the provider), unlink. */
export function LinkedIdentities({ api }: { api: Api }) {
  const providers = useProviders(api);
  const [identities, setIdentities] = useState<LinkedIdentity[] | null>(null);
  const list = useForm();
  const form = useForm();
  const linkedNow = new URLSearchParams(location.search).get('linked');
  const nameOf = (id: string) => providers.find((p) => p.id === id)?.name ?? id;
  const load = () =>
    list.run(async () => {
      setIdentities((await api.identities()).items);
    });
  useEffect(() => void load(), []);

  // Linking and unlinking want a recent sign-in (RFC 9470 step-up): said in words that lead somewhere.
  const recent = async (action: () => Promise<void>): Promise<boolean> => {
    try {
      await action();
      return true;
    } catch (error) {
      if (error instanceof GatehouseError && error.code === 'ERR_AUTH_STEP_UP_REQUIRED') {
        form.fail(t.reauthenticate);
        return false;
      }
      throw error;
    }
  };
  const link = (provider: string) =>
    void form.run(async () => {
      await recent(async () => location.assign((await api.linkIdentity(provider)).authorization_url));
    });
  const unlink = (id: string) =>
    void form.run(async () => {
      if (!(await recent(() => api.unlinkIdentity(id)))) return;
      await load();
      return t.unlinked;
    });

  if (providers.length === 0 && identities !== null && identities.length === 0) return null;
  return (
    <section class="card" aria-labelledby="identities-title" id="identities">
      <h2 id="identities-title">{messages.account.linkedIdentities}</h2>
      <p class="muted">{t.identitiesIntro}</p>
      <SsoError />
      {linkedNow && providers.length > 0 && <Notice kind="success">{t.linked(nameOf(linkedNow))}</Notice>}
      <FormNotices form={list} />
      <FormNotices form={form} />
      {identities && identities.length === 0 && <p class="muted">{t.noIdentities}</p>}
      {identities && identities.length > 0 && (
        <ul class="sessions" id="identity-list">
          {identities.map((i) => (
            <li key={i.id} class="session">
              <div>
                <strong>{nameOf(i.provider)}</strong> {i.email && <span class="muted">{i.email}</span>}
                <dl class="facts">
                  <div>
                    <dt>{t.linkedSince}</dt>
                    <dd>{formatTime(i.created_at)}</dd>
                  </div>
                </dl>
              </div>
              <button type="button" class="button" aria-label={t.unlinkLabel(nameOf(i.provider), i.email ?? '')} disabled={form.busy} onClick={() => unlink(i.id)}>
                {t.unlink}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        {providers.map((p) => (
          <button key={p.id} type="button" class="button" data-link-provider={p.id} disabled={form.busy} onClick={() => link(p.id)}>
            {t.link(p.name)}
          </button>
        ))}
      </div>
    </section>
  );
}
