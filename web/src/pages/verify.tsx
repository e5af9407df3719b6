import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api';
import { Notice } from '../components/form';
import { describeError } from '../errors';
import { messages } from '../messages';
import { onLinkClick } from '../router';
import { linkToken } from './reset';

const t = messages.verify;

/**
 * Where the verification and change-of-address links land: `#token=` or `#change=`. The token is
 * posted once, on a button press, so a mail scanner that fetches the link spends nothing.
 */
export function VerifyPage({ api, accountHref }: { api: Api; accountHref: string }) {
  const [link] = useState(() => {
    for (const kind of ['token', 'change'] as const) {
      const token = linkToken(kind);
      if (token) return { kind, token };
    }
    return null;
  });
  const [state, setState] = useState<{ status: 'ready' | 'busy' | 'done' | 'failed'; message?: string }>({ status: 'ready' });
  useEffect(() => {
    // The secret leaves the address bar (and the history entry) once it has been read.
    if (link) history.replaceState(null, '', location.pathname + location.search);
  }, []);

  const confirm = async () => {
    if (!link) return;
    setState({ status: 'busy' });
    try {
      if (link.kind === 'change') {
        await api.confirmEmailChange(link.token);
      } else {
        await api.verifyEmail(link.token);
      }
      setState({ status: 'done' });
    } catch (error) {
      setState({ status: 'failed', message: describeError(error, {}).message });
    }
  };

  const title = link?.kind === 'change' ? t.changeTitle : t.title;
  return (
    <section class="card card--narrow" aria-labelledby="verify-title">
      <h1 id="verify-title">{title}</h1>
      {!link && <Notice kind="error">{t.noToken}</Notice>}
      {link && state.status === 'done' && <Notice kind="success">{link.kind === 'change' ? t.changed : t.verified}</Notice>}
      {link && state.status === 'failed' && <Notice kind="error">{state.message}</Notice>}
      {link && (state.status === 'ready' || state.status === 'busy') && (
        <button type="button" class="button button--primary" id="verify-confirm" disabled={state.status === 'busy'} onClick={() => void confirm()}>
          {state.status === 'busy' ? t.confirming : t.confirm}
        </button>
      )}
      <p class="aside">
        <a href={accountHref} onClick={onLinkClick}>
          {t.toAccount}
        </a>
      </p>
    </section>
  );
}
