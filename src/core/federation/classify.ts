import * as oidc from 'openid-client';
import { FederationError } from './errors.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** Whether the provider could not be reached or answered with a server error (not: answered wrongly). */
function isUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, code, message, status } = e as { name?: string; code?: string; message?: string; status?: number };
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    if (code && NETWORK_CODES.has(code)) return true;
    if (e instanceof TypeError && message === 'fetch failed') return true;
    if (typeof status === 'number' && status >= 500) return true;
  }
  return false;
}

/** The error and its causes in a line, for the log and the audit trail (never for the browser). */
function describeChain(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (!(e instanceof Error)) break;
    const code = (e as { code?: unknown }).code;
    parts.push(`${e.message}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  return parts.join(': ') || String(error);
}

/**
 * What a failure talking to a provider means for the user: it is away (try later), it said no
 * (the user cancelled), or its answer did not pass the checks (FED-01: refused, whatever the
 * provider meant). The library's words go to `detail` for the log, never to the browser.
 */
export function classifyUpstreamError(error: unknown): FederationError {
  if (error instanceof FederationError) return error;
  const detail = describeChain(error);
  if (error instanceof oidc.AuthorizationResponseError) return new FederationError('denied', 'The sign-in was cancelled or refused at the identity provider.', detail);
  if (isUnreachable(error)) return new FederationError('unavailable', undefined, detail);
  return new FederationError('token', undefined, detail);
}
