import type { Authentication } from '../auth/authentication.js';
import type { ClientContext, ClientGrant, TokenGrant } from '../auth/session-service.js';
import type { User } from '../model.js';

/** WebAuthn request options for a ceremony, with the id of the challenge they carry. */
export interface PasskeyOptions {
  readonly challengeId: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** The first factor was right; the second is still to come (`/auth/mfa/verify`). */
export interface MfaRequired {
  readonly mfaRequired: true;
  /** Single-use, 5 minutes, bound to the user and the first step (MFA-04). Not an access token. */
  readonly mfaToken: string;
  readonly expiresIn: number;
  /** What the user can answer with: `totp`, `recovery_code`, `webauthn`. */
  readonly methods: readonly string[];
  /** When the user has passkeys: options for `navigator.credentials.get`, limited to theirs. */
  readonly webauthn: PasskeyOptions | null;
}

export type SignInResult = TokenGrant | MfaRequired;

export function isMfaRequired(result: SignInResult): result is MfaRequired {
  return 'mfaRequired' in result;
}

/**
 * What every sign-in path calls once a first factor is proven (password, a link or code by mail,
 * an upstream provider): it starts the session, or asks for the second factor when the user has
 * one. MFA-08: no path reaches tokens around it.
 */
export interface SignInGate {
  complete(user: User, auth: Authentication, client: ClientContext, grant: ClientGrant): Promise<SignInResult>;
  /** Whether the user has a second factor (then a password alone does not prove presence again). */
  hasSecondFactor(user: User): Promise<boolean>;
}
