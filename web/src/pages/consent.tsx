import { useEffect, useState } from 'preact/hooks';
import type { Api, AuthorizationStep } from '../api';
import { Notice } from '../components/form';
import { describeError } from '../errors';
import { messages } from '../messages';

const t = messages.consent;

type State = { status: 'loading' } | { status: 'consent'; client: { id: string; name: string }; scopes: string[] } | { status: 'busy' } | { status: 'failed'; message: string };

/**
 * Where /oauth/authorize sends a browser that must sign in or agree (`?request=`). Signed in, the
 * page continues the request: it completes at once (first-party client, consent already given),
 * asks for a fresh sign-in (`prompt=login`, `max_age`), or shows what the application asks for.
 */
export function ConsentPage({ api, onSignInAgain }: { api: Api; onSignInAgain: () => void }) {
  const [request] = useState(() => new URLSearchParams(location.search).get('request') ?? '');
  const [state, setState] = useState<State>({ status: 'loading' });

  const follow = (step: AuthorizationStep) => {
    if (step.action === 'redirect' && step.redirect_to) location.assign(step.redirect_to);
    else if (step.action === 'login') onSignInAgain();
    else if (step.action === 'consent' && step.client) setState({ status: 'consent', client: step.client, scopes: step.scopes ?? [] });
  };
  const fail = (error: unknown) => setState({ status: 'failed', message: describeError(error, {}).message });

  useEffect(() => {
    if (!request) return setState({ status: 'failed', message: t.noRequest });
    api.continueAuthorization(request).then(follow, fail);
  }, [request]);

  const decide = (approve: boolean) => {
    setState({ status: 'busy' });
    api.decideAuthorization(request, approve).then(follow, fail);
  };

  if (state.status === 'failed')
    return (
      <section class="card card--narrow" aria-labelledby="consent-title">
        <h1 id="consent-title">{t.title}</h1>
        <Notice kind="error">{state.message}</Notice>
      </section>
    );
  if (state.status !== 'consent')
    return (
      <p class="loading" role="status">
        {t.continuing}
      </p>
    );
  return (
    <section class="card card--narrow" aria-labelledby="consent-title">
      <h1 id="consent-title">{t.asks(state.client.name)}</h1>
      <ul id="consent-scopes">
        {state.scopes.map((scope) => (
          <li key={scope}>{t.scopes[scope as keyof typeof t.scopes] ?? scope}</li>
        ))}
      </ul>
      <p class="aside">{t.remembered}</p>
      <div class="actions">
        <button type="button" class="button button--primary" id="consent-allow" onClick={() => decide(true)}>
          {t.allow}
        </button>{' '}
        <button type="button" class="button" id="consent-deny" onClick={() => decide(false)}>
          {t.deny}
        </button>
      </div>
    </section>
  );
}
