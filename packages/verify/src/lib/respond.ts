import { ERROR_CODES, InsufficientScopeError, TokenInvalidError, TokenMissingError, VerifyError } from '../errors.js';
import type { AccessTokenClaims, Requirement } from '../types.js';

/** An RFC 9457 problem body. */
export interface Problem {
  readonly type: 'about:blank';
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
}

/** What an adapter sends for a refused request. */
export interface Refusal {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Problem;
}

export const PROBLEM_TYPE = 'application/problem+json';

/**
 * The answer to a VerifyError: its status, an RFC 6750 §3 `WWW-Authenticate` challenge and a
 * problem+json body; null for any other error, which the adapter passes on to the framework.
 */
export function refusal(error: unknown): Refusal | null {
  if (!(error instanceof VerifyError)) return null;
  const { bearerError, title, status } = ERROR_CODES[error.code];
  const headers: Record<string, string> = { 'content-type': PROBLEM_TYPE, 'cache-control': 'no-store' };
  if (status === 401 || status === 403) {
    const params: string[] = [];
    if (bearerError !== null) {
      params.push(`error="${bearerError}"`, `error_description="${quoted(error.message)}"`);
      if (error instanceof InsufficientScopeError) params.push(`scope="${error.scope.join(' ')}"`);
    }
    headers['www-authenticate'] = params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
  }
  return { status, headers, body: { type: 'about:blank', title, status, code: error.code, detail: error.message } };
}

/** RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
function quoted(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '');
}

/** The token of an `Authorization: Bearer <token>` header; any other scheme counts as none. */
export function bearerToken(authorization: string | readonly string[] | null | undefined): string {
  if (typeof authorization !== 'string') throw new TokenMissingError();
  const match = /^Bearer(?: +(\S*))? *$/i.exec(authorization);
  if (match === null) {
    // Bearer with more than one token after it is malformed; any other scheme is not ours.
    if (/^Bearer /i.test(authorization)) throw new TokenInvalidError('The Authorization header is malformed.');
    throw new TokenMissingError();
  }
  if (!match[1]) throw new TokenMissingError();
  return match[1];
}

/** Runs every requirement against the claims (the first to fail throws). */
export function check(claims: AccessTokenClaims, requirements: readonly Requirement[]): AccessTokenClaims {
  for (const requirement of requirements) requirement(claims);
  return claims;
}
