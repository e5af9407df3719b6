import type { components, paths } from './generated/api.js';

// Shapes taken from the service's OpenAPI document (src/generated/api.ts), so they cannot drift.
export type User = components['schemas']['User'];
export type TokenResponse = components['schemas']['TokenResponse'];
export type Problem = components['schemas']['Problem'];
export type SignUpInput = paths['/auth/register']['post']['requestBody']['content']['application/json'];
export type LogoutScope = NonNullable<NonNullable<paths['/auth/logout']['post']['requestBody']>['content']['application/json']['scope']>;

export interface SignInInput {
  /** Username or email. */
  readonly login: string;
  readonly password: string;
}

/**
 * What a sign-in leads to. A union, so that the steps after a password (a second factor, a passkey)
 * are new members that callers switch on, not a change of the return type.
 */
export type SignInResult =
  | { readonly status: 'signed-in'; readonly user: User }
  /**
   * The account has a second factor: continue with completeSignIn({ mfaToken, ... }) (single-use,
   * 5 minutes) and one of `methods` (`totp`, `recovery_code`, `webauthn`). With passkeys, `webauthn`
   * holds the options for navigator.credentials.get (e.g. @simplewebauthn/browser's startAuthentication).
   */
  | { readonly status: 'mfa-required'; readonly mfaToken: string; readonly methods: readonly string[]; readonly webauthn: PasskeyOptions | null };

/** WebAuthn options from Gatehouse, with the id of the challenge they carry. */
export interface PasskeyOptions {
  readonly challengeId: string;
  /** PublicKeyCredentialRequestOptionsJSON (or CreationOptionsJSON when registering). */
  readonly options: Record<string, unknown>;
}

/** A passkey's answer: the PublicKeyCredential as JSON (what startAuthentication returns), with its challenge id. */
export interface PasskeyAssertion {
  readonly challengeId: string;
  readonly assertion: Record<string, unknown>;
}

/** One proof of a second factor, or of presence again. */
export type FactorProof = { readonly code: string } | { readonly recoveryCode: string } | PasskeyAssertion;

/** A proof of presence for reauthenticate(): the password, or a factor. */
export type PresenceProof = { readonly password: string } | FactorProof;

/**
 * Where memory mode keeps the refresh token between runs: the Web Storage shape, so `sessionStorage`,
 * a Map-backed object or a file-backed one all fit. Without it the token lives in memory only.
 */
export interface TokenStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

export interface ClientOptions {
  /** Where Gatehouse is, e.g. `https://auth.example.com` (a path prefix is kept). */
  readonly baseUrl: string;
  /**
   * `cookie`: browsers against a service in browser mode (`REFRESH_COOKIE=true`): the refresh token
   * lives only in an HttpOnly cookie that page scripts never see. `memory`: the refresh token is
   * held by the client (in memory, or in `storage`): Node, workers, native shells.
   */
  readonly mode: 'cookie' | 'memory';
  /** Memory mode only: where the refresh token is kept. */
  readonly storage?: TokenStorage;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof globalThis.fetch;
  /**
   * Origins `client.fetch` may send the access token to (default: the origin of `baseUrl`). Add the
   * APIs that verify Gatehouse tokens; any other origin is refused so the token cannot leak there.
   */
  readonly tokenOrigins?: readonly string[];
  /** Refresh this long before expiry (default 30 s, at most a fifth of the token's lifetime). */
  readonly refreshMarginMs?: number;
  /** Coordinate refreshes with other tabs of this origin (Web Locks, BroadcastChannel). Default true. */
  readonly crossTab?: boolean;
  /** The clock (default `Date.now`); tests move it instead of sleeping. */
  readonly now?: () => number;
}

/** `reauthenticated`: a new proof of presence in the same session (its `refreshed` event, not `signed-in`). */
export type SignedInHow = 'sign-in' | 'restored' | 'other-tab' | 'reauthenticated';
export type SignedOutReason = 'sign-out' | 'session-ended' | 'other-tab';

export interface ClientEvents {
  /** A session became known: signIn(), a cookie or stored token that still works, or another tab. */
  'signed-in': { readonly user: User; readonly how: SignedInHow };
  /** The session is gone: signOut(), a refresh the server refused, or another tab signed out. */
  'signed-out': { readonly reason: SignedOutReason };
  /** A new access token, from this tab's refresh or handed over by another tab. */
  refreshed: { readonly expiresAt: number; readonly fromOtherTab: boolean };
}

export interface GatehouseClient {
  /** Password sign-in. Throws GatehouseError (`ERR_AUTH_INVALID_CREDENTIALS`, `ERR_RATE_LIMITED`, ...). */
  signIn(input: SignInInput): Promise<SignInResult>;
  /**
   * The second step after `mfa-required`: the `mfaToken` with a TOTP code, a recovery code or a
   * passkey assertion. Throws `ERR_MFA_INVALID_CODE`, `ERR_MFA_TOKEN_INVALID`, `ERR_RATE_LIMITED`, ...
   */
  completeSignIn(input: { readonly mfaToken: string } & FactorProof): Promise<SignInResult>;
  /**
   * Options for navigator.credentials.get: discoverable passkeys (no username), or with `mfaToken`
   * the user's passkeys for the second step.
   */
  passkeyOptions(mfaToken?: string): Promise<PasskeyOptions>;
  /** Signs in with a passkey alone (no username, no password). Throws `ERR_WEBAUTHN_REFUSED`. */
  signInWithPasskey(input: PasskeyAssertion): Promise<SignInResult>;
  /**
   * Proves presence again for routes that want a recent sign-in (a fetch answered 401 with
   * `WWW-Authenticate: Bearer error="insufficient_user_authentication"`): the new access token
   * carries a fresh `auth_time`; the session and its refresh token stay.
   */
  reauthenticate(proof: PresenceProof): Promise<void>;
  /** Creates an account (it does not sign in). Throws `ERR_USER_CONFLICT`, `ERR_VALIDATION`, ... */
  signUp(input: SignUpInput): Promise<User>;
  /**
   * Ends the session (`local`, the default), every other session of the user (`others`: this one
   * stays), or all of them (`global`). Local state is cleared even if the server cannot be reached.
   */
  signOut(scope?: LogoutScope): Promise<void>;
  /** A valid access token, refreshed first if it is about to expire; null when signed out. */
  getAccessToken(): Promise<string | null>;
  /**
   * fetch with `Authorization: Bearer`, refreshed ahead of expiry and once on a 401. A path (`/items`)
   * is resolved against `baseUrl`. Throws `ERR_CLIENT_SIGNED_OUT` when there is no session.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The signed-in user as of the last token response, or null. */
  readonly user: User | null;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof ClientEvents>(event: E, listener: (detail: ClientEvents[E]) => void): () => void;
  /** Stops listening to other tabs (a Node process can then exit). */
  close(): void;
}
