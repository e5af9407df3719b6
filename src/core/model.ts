export type Role = 'user' | 'admin';
export const ROLES: readonly Role[] = ['user', 'admin'];

/** A user as the core sees it. Times are epoch milliseconds. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly name: string | null;
  readonly role: Role;
  readonly disabled: boolean;
  /** The address was proven to reach the user (a link sent to it was followed). */
  readonly emailVerified: boolean;
  readonly passwordHash: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * An account at another identity provider linked to a user: `subject` is the provider's stable id
 * for it (the ID token's `sub`, GitHub's numeric user id), never the address, which can change hands.
 */
export interface LinkedIdentity {
  readonly id: string;
  readonly userId: string;
  /** The provider's configured id (`google`, `github`, ...). */
  readonly provider: string;
  /** Who vouches for `subject`: the OIDC `iss`, or GitHub's API base. */
  readonly issuer: string;
  readonly subject: string;
  /** The address the provider gave when last used (shown to the user; never used to find the account). */
  readonly email: string | null;
  readonly createdAt: number;
  readonly lastUsedAt: number;
}

export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  /** Absolute end of the session; refresh never extends it (SES-05). */
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  readonly userAgent: string | null;
  readonly ip: string | null;
  /** Id of the refresh token that is current now; every earlier one is a rotated ancestor. */
  readonly refreshId: string;
  /**
   * SHA-256 of the current refresh token's secret (SES-05: never the secret). Null only for sessions
   * started before chains were kept this way: their current token's hash is in its own row.
   */
  readonly refreshHash: string | null;
  /** When the current refresh token replaced its parent (null before the first rotation). */
  readonly rotatedAt: number | null;
  /** The OAuth client the session's refresh tokens were issued to; only it may use them (SES-08). */
  readonly clientId: string;
  /** The scope granted at login, space-separated ('' for none); a refresh never widens it. */
  readonly scope: string;
  /** When the user last proved who they are in this session (login or reauthentication), epoch ms. */
  readonly authTime: number;
  /** How they proved it: RFC 8176 method values (`pwd`, `otp`, `hwk`, `user`, `mfa`, ...). */
  readonly amr: readonly string[];
  /** The assurance level that proof reached (`aal1`: one factor, `aal2`: two). */
  readonly acr: string;
}

/**
 * An OAuth 2.0 client (RFC 6749 §2): the built-in first-party one, or one an admin registered.
 */
export interface OAuthClient {
  readonly id: string;
  readonly name: string;
  /** RFC 6749 §2.1: a public client cannot keep a secret, a confidential one must present it. */
  readonly type: 'public' | 'confidential';
  /** First-party clients are Gatehouse's own apps: only they may use the password grant, and they skip consent. */
  readonly firstParty: boolean;
  readonly grantTypes: readonly GrantType[];
  /** The scopes this client may be granted; any other requested scope is ignored (RFC 6749 §3.3). */
  readonly scopes: readonly string[];
  /** SHA-256 (base64url) of each live secret, newest first, two during a rotation; empty for a public client. */
  readonly secretHashes: readonly string[];
  /** Where authorization responses may go: compared exactly, character for character (OIDC-02). */
  readonly redirectUris: readonly string[];
  /** Where RP-initiated logout may send the browser back to (exact match). */
  readonly postLogoutRedirectUris: readonly string[];
  /** How its ID tokens are signed: RS256 (the default, with the ID-token key) or the access tokens' algorithm. */
  readonly idTokenAlg: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The grants the token endpoint serves. */
export const GRANT_TYPES = ['password', 'refresh_token', 'authorization_code', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/**
 * The first refresh token of a session (its chain's root), by which any later token of the chain is
 * found. The token the client holds is `id.secret`; only a SHA-256 of the secret is stored (SES-05).
 * Earlier releases stored a row for every rotated token too (with its parent); those rows still work.
 */
export interface RefreshTokenRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly secretHash: string;
  readonly parentId: string | null;
  readonly createdAt: number;
}

export interface Item {
  readonly name: string;
  /** Price in cents, so that it is stored and compared exactly. */
  readonly priceCents: number;
  readonly description: string | null;
  readonly ownerId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256' | 'RS256';
  readonly privateKeyPem: string;
  readonly publicJwk: Record<string, string>;
  readonly createdAt: number;
  /** Active keys verify, and the newest one signs; a retired key does neither. */
  readonly status: 'active' | 'retired';
  readonly retiredAt: number | null;
}

/** A page of a keyset-paginated list; `next` is the key to continue after, or null on the last page. */
/** What every signed-in user may see of another (the users directory): no role, no email. */
export interface DirectoryEntry {
  readonly id: string;
  readonly username: string;
  readonly name: string | null;
}

export interface Page<T> {
  readonly items: T[];
  readonly next: string | null;
}

export const AUDIT_TYPES = [
  'login.succeeded',
  'login.failed',
  'login.throttled',
  'refresh.retried',
  'refresh.reused',
  'logout',
  'session.revoked',
  'token.revoked',
  'client.mismatch',
  'password.changed',
  'password.change_failed',
  'user.created',
  'user.updated',
  'user.role_changed',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'key.rotated',
  'key.retired',
  'email.verified',
  'email.change_requested',
  'email.changed',
  'email.token_refused',
  'password.reset',
  'mail.failed',
  'sso.signed_in',
  'sso.linked',
  'sso.unlinked',
  'sso.refused',
  'sso.provider_added',
  'sso.provider_removed',
  'reauth.succeeded',
  'reauth.failed',
  'mfa.enrolment_started',
  'mfa.enrolled',
  'mfa.token_refused',
  'mfa.removed',
  'mfa.reset',
  'mfa.challenged',
  'mfa.succeeded',
  'mfa.failed',
  'mfa.recovery_codes_generated',
  'passkey.login_succeeded',
  'passkey.login_failed',
  'passkey.counter_regressed',
  'client.created',
  'client.updated',
  'client.deleted',
  'client.secret_rotated',
  'oauth.code_replayed',
  'oauth.consent_granted',
  'oauth.consent_revoked',
  'token.issued',
] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

/** A security-relevant event. Never holds a secret: no password, token or hash (LOG-01). */
export interface AuditEvent {
  readonly id: string;
  readonly at: number;
  readonly type: AuditType;
  /** Who did it (null: anonymous, or the operator at the CLI). */
  readonly actorId: string | null;
  /** Whom it concerns. */
  readonly subjectId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
}

/** What a link or code sent by mail is for; a token of one purpose never serves another (EMAIL-01). */
export const EMAIL_PURPOSES = ['verify_email', 'reset_password', 'change_email', 'sign_in'] as const;
export type EmailPurpose = (typeof EMAIL_PURPOSES)[number];

/**
 * A link token (and, for sign-in, a code) sent by mail. The link carries `id.secret`; only keyed
 * hashes of the secret and the code are stored. It is bound to the address and password the user
 * had when it was issued, so it dies when either changes (EMAIL-01).
 */
export interface EmailToken {
  readonly id: string;
  readonly userId: string;
  readonly purpose: EmailPurpose;
  readonly secretHash: string;
  readonly codeHash: string | null;
  /** The user's address when the token was issued. */
  readonly email: string;
  /** For an address change: the address being confirmed. */
  readonly newEmail: string | null;
  /** A hash of the user's password hash when the token was issued. */
  readonly passwordFingerprint: string;
  /** Wrong codes tried so far. */
  readonly attempts: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly createdAt: number;
}

/** A message as it is queued: rendered, addressed, with a fixed Message-ID so a resend is recognisable. */
export interface QueuedMail {
  readonly id: string;
  readonly messageId: string;
  readonly to: string;
  /** Display name for the To header (already stripped of control characters). */
  readonly toName: string | null;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Which template made it (verify_email, reset_password, ...): for the log and the operator. */
  readonly kind: string;
  readonly userId: string | null;
  readonly createdAt: number;
}

export type OutboxState = 'queued' | 'sent' | 'failed';

/** A queued message and where its delivery stands. */
export interface OutboxEntry extends QueuedMail {
  readonly state: OutboxState;
  readonly dueAt: number;
  readonly attempts: number;
  readonly sentAt: number | null;
  readonly failedAt: number | null;
  /** The last SMTP error (or the reason it was given up on). */
  readonly lastError: string | null;
}

export type FactorType = 'totp' | 'webauthn';

/**
 * A second factor or passkey of a user. A TOTP factor is pending until a first code confirms it;
 * its seed is sealed with the SecretBox (MFA-01). A passkey keeps its WebAuthn credential: the
 * public key, the last sign counter and the backup flags (MFA-06).
 */
export interface MfaFactor {
  readonly id: string;
  readonly userId: string;
  readonly type: FactorType;
  readonly name: string;
  readonly confirmed: boolean;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  /** TOTP: the seed, sealed for `totp:<id>`. */
  readonly secretSealed: string | null;
  /** TOTP: the last time step a code was accepted for; codes of it and earlier steps are refused. */
  readonly lastStep: number | null;
  /** WebAuthn: the credential id (base64url), unique across users. */
  readonly credentialId: string | null;
  /** WebAuthn: the COSE public key (base64url). */
  readonly publicKey: string | null;
  readonly signCount: number | null;
  readonly transports: readonly string[];
  readonly backupEligible: boolean | null;
  readonly backupState: boolean | null;
}

/**
 * Short-lived, single-use ceremony state: a pending second step (`mfa`, whose `mfa_token` is
 * `id.secret` with only a hash of the secret kept) or a WebAuthn challenge (a hash of it).
 */
export interface AuthChallenge {
  readonly id: string;
  readonly kind: 'mfa' | 'webauthn';
  readonly userId: string | null;
  readonly secretHash: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly expiresAt: number;
  readonly createdAt: number;
}

/**
 * An authorization request (RFC 6749 §4.1.1) that passed every check and waits for the user to
 * sign in or consent on the hosted pages. Kept server-side, so the browser carries only its id.
 */
export interface AuthorizationRequest {
  readonly id: string;
  readonly clientId: string;
  readonly redirectUri: string;
  /** The scope to grant if the user agrees: the requested scope less what the client may not have. */
  readonly scope: string;
  readonly state: string | null;
  readonly nonce: string | null;
  /** PKCE S256 challenge (OIDC-01). */
  readonly codeChallenge: string;
  /** OIDC `prompt` values asked for (`login`, `consent`); `none` never gets this far. */
  readonly prompt: readonly string[];
  /** OIDC `max_age` in seconds, or null. */
  readonly maxAge: number | null;
  readonly loginHint: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** An authorization code (OIDC-03): single-use, short-lived, bound to client, redirect URI and verifier. */
export interface AuthorizationCode {
  /** SHA-256 of the code the client holds; the code itself is never stored. */
  readonly id: string;
  readonly clientId: string;
  readonly userId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly scope: string;
  readonly nonce: string | null;
  /** When the user signed in (epoch ms), for the ID token's `auth_time`. */
  readonly authTime: number;
  /** RFC 8176 methods of that sign-in, for the ID token's `amr`. */
  readonly amr: readonly string[];
  /** The user's Gatehouse session at the provider (the ID token's `sid`). */
  readonly browserSessionId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  /** The session the code's redemption started: what a replay revokes. */
  readonly sessionId: string | null;
  /** When the code was first presented again after its use (OIDC-03); its redemption, if still running, then ends what it started. */
  readonly replayedAt: number | null;
}

/** A user's consent to a third-party client, for a set of scopes (OIDC-07). */
export interface Consent {
  readonly userId: string;
  readonly clientId: string;
  /** Space-separated; a later request is covered when its scopes are a subset. */
  readonly scope: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}
