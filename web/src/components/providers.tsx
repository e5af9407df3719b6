import { useEffect, useState } from 'preact/hooks';
import type { Api, Provider } from '../api';
import { messages } from '../messages';
import { Notice } from './form';

const t = messages.sso;

/** The configured providers, loaded once per page; an empty list when there are none or on failure. */
export function useProviders(api: Api): Provider[] {
  const [providers, setProviders] = useState<Provider[]>([]);
  useEffect(() => {
    let live = true;
    api.providers().then(
      (list) => live && setProviders(list),
      () => live && setProviders([]),
    );
    return () => {
      live = false;
    };
  }, [api]);
  return providers;
}

/**
 * "Continue with …" links. Plain links, not scripts: the browser goes to /auth/sso/<id>/start, which
 * sends it on to the provider; `redirect_to` rides along and is checked when it comes back (WEB-03).
 */
export function ProviderButtons({ api, redirectTo }: { api: Api; redirectTo: string | null }) {
  const providers = useProviders(api);
  if (providers.length === 0) return null;
  const query = redirectTo ? `?${new URLSearchParams({ redirect_to: redirectTo })}` : '';
  return (
    <nav class="providers" aria-label={t.providersLabel}>
      <p class="divider">
        <span>{t.or}</span>
      </p>
      {providers.map((p) => (
        <a key={p.id} class="button button--provider" href={`/auth/sso/${encodeURIComponent(p.id)}/start${query}`} data-provider={p.id}>
          {t.continueWith(p.name)}
        </a>
      ))}
    </nav>
  );
}

/** Why a federated sign-in or link came back refused (`sso_error` in the address), in words. */
export function SsoError() {
  const code = new URLSearchParams(location.search).get('sso_error');
  if (!code) return null;
  return (
    <Notice kind="error">
      <span id="sso-error">{t.errors[code] ?? messages.errors.unexpected}</span>
    </Notice>
  );
}
