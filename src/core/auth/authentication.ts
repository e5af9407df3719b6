/**
 * How a user proved who they are, in RFC 8176 "Authentication Method Reference" values, and the
 * assurance level (`acr`) that proof reaches. Sessions keep both, access tokens carry them, and a
 * refresh keeps them: only a new proof (login, reauthentication) changes them.
 */

/** RFC 8176 §2 values Gatehouse uses. */
export const AMR = {
  password: 'pwd',
  /** A one-time password: a TOTP code, a recovery code, or a code sent by mail. */
  otp: 'otp',
  /** A proof of possession of a hardware-backed key (a passkey). */
  hardwareKey: 'hwk',
  /** A test of user presence/verification by the authenticator (WebAuthn UV). */
  user: 'user',
  /** More than one factor was used. */
  multiFactor: 'mfa',
} as const;

/**
 * NIST SP 800-63B assurance levels, as `acr` values, and `enrol`: a session of a user whom
 * MFA_REQUIRED obliges to add a second factor, good for nothing else until they do.
 */
export const ACR = { oneFactor: 'aal1', twoFactors: 'aal2', enrolmentRequired: 'enrol' } as const;

/** What a session records of a proof. */
export interface Authentication {
  readonly amr: readonly string[];
  /** Defaults to what `amr` reaches (see acrOf). */
  readonly acr?: string;
  /** When the proof happened, epoch ms; defaults to now (a proof made elsewhere may be older). */
  readonly authTime?: number;
}

/** The password alone: every login before a second factor was asked for. */
export const PASSWORD_ONLY: Authentication = { amr: [AMR.password] };

/**
 * Two factors (`mfa`), or a passkey checked with user verification (possession plus the PIN or
 * biometric the authenticator checked), reach `aal2`; anything else is `aal1`.
 */
export function acrOf(amr: readonly string[]): string {
  if (amr.includes(AMR.multiFactor)) return ACR.twoFactors;
  if (amr.includes(AMR.hardwareKey) && amr.includes(AMR.user)) return ACR.twoFactors;
  return ACR.oneFactor;
}

/** The first factor's methods joined with the second's, marked `mfa` (RFC 8176 §2). */
export function combineMethods(first: readonly string[], second: readonly string[]): string[] {
  return [...new Set([...first, ...second, AMR.multiFactor])];
}
