import { TokenInvalidError } from '../errors.js';
import type { AccessTokenClaims } from '../types.js';

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The payload as typed claims, or a TokenInvalidError. jose has already checked the signature,
 * `iss`, `aud`, `exp`, `nbf` and `typ`; this checks that what the types promise is really there, so
 * an application never reads `role` as `undefined` or an object.
 */
export function toClaims(payload: Record<string, unknown>, nowSeconds: number, leewaySeconds: number): AccessTokenClaims {
  const invalid = (what: string) => new TokenInvalidError(`The access token's ${what}.`);
  for (const name of ['sub', 'sid', 'role', 'client_id', 'jti'] as const) {
    if (!isString(payload[name])) throw invalid(`${name} claim is missing or not a string`);
  }
  if (!isTime(payload.iat) || payload.iat - leewaySeconds > nowSeconds) throw invalid('iat claim is missing or in the future');
  if (!isTime(payload.exp)) throw invalid('exp claim is not a time');
  if (payload.scope !== undefined && typeof payload.scope !== 'string') throw invalid('scope claim is not a string');
  if (payload.auth_time !== undefined && (!isTime(payload.auth_time) || payload.auth_time - leewaySeconds > nowSeconds)) throw invalid('auth_time claim is not a past time');
  if (payload.amr !== undefined && !(Array.isArray(payload.amr) && payload.amr.every(isString))) throw invalid('amr claim is not a list of strings');
  return { ...payload, scope: payload.scope ?? '' } as AccessTokenClaims;
}
