import { useEffect, useState } from 'preact/hooks';
import type { Api, ConsentEntry } from '../api';
import { FormNotices, useForm } from '../components/form';
import { formatTime } from '../format';
import { messages } from '../messages';

const t = messages.consent;

/** The applications the user agreed to share data with (OIDC-07); withdrawing ends their sessions. */
export function ConnectedApps({ api }: { api: Api }) {
  const [items, setItems] = useState<ConsentEntry[] | null>(null);
  const form = useForm();
  const load = () =>
    form.run(async () => {
      setItems((await api.consents()).items);
      return null;
    });
  useEffect(() => void load(), []);

  return (
    <section class="card" aria-labelledby="apps-title" id="connected-apps">
      <h2 id="apps-title">{t.connectedApps}</h2>
      <FormNotices form={form} />
      {items && items.length === 0 && <p class="muted">{t.noApps}</p>}
      {items && items.length > 0 && (
        <ul class="sessions">
          {items.map((c) => (
            <li key={c.client_id} class="session">
              <div>
                <strong>{c.client_name}</strong>
                <dl class="facts">
                  <div>
                    <dt>{t.scopeLabel}</dt>
                    <dd>{c.scope}</dd>
                  </div>
                  <div>
                    <dt>{messages.account.started}</dt>
                    <dd>{formatTime(c.updated_at)}</dd>
                  </div>
                </dl>
              </div>
              <button
                type="button"
                class="button"
                aria-label={`${t.withdraw}: ${c.client_name}`}
                disabled={form.busy}
                onClick={() =>
                  void form.run(async () => {
                    await api.withdrawConsent(c.client_id);
                    setItems((await api.consents()).items);
                    return null;
                  })
                }
              >
                {t.withdraw}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
