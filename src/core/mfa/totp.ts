import { Secret, TOTP } from 'otpauth';

/** RFC 6238 with the parameters every authenticator app supports. */
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** MFA-01: 160 bits, RFC 4226 §4's recommended seed length. */
const SECRET_BYTES = 20;

/** A new TOTP seed, base32 (what apps and the `otpauth://` URI take). */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

function totp(secret: string, label = '', issuer = ''): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: DIGITS, period: PERIOD_SECONDS, secret: Secret.fromBase32(secret) });
}

/** The `otpauth://totp/...` URI an authenticator app scans. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return totp(secret, account, issuer).toString();
}

/**
 * The time step `code` belongs to, if it is the code of the current step or of one step either
 * side (MFA-01: ±1 step for clock drift); null otherwise. The caller records the step so that the
 * code is accepted once.
 */
export function matchTotpStep(secret: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secret).validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD_SECONDS) + delta;
}
