/**
 * An upstream identity provider as the federation service sees it, whatever its protocol. The
 * settings are resolved from a preset (see src/config/sso.ts) before they get here.
 */
export interface ProviderSettings {
  readonly id: string;
  readonly name: string;
  readonly type: 'oidc' | 'github';
  readonly issuer: string | null;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly authorizationEndpoint: string | null;
  readonly tokenEndpoint: string | null;
  readonly apiUrl: string | null;
}

export interface ProviderConfig extends ProviderSettings {
  readonly clientSecret: string | null;
}

/** The one-time values a flow is bound to (FED-01), kept in the sealed flow cookie meanwhile. */
export interface FlowChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** Who the provider says signed in. `subject` is stable; the address may change or be reused. */
export interface UpstreamProfile {
  /** Who vouches for the subject: the ID token's `iss`, or GitHub's API base (a subject is unique only there). */
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  /** Only the provider's own word that it checked the address (`email_verified: true`); else false. */
  readonly emailVerified: boolean;
  readonly name: string | null;
  /** Hints for a username: `preferred_username`, GitHub's login, ... */
  readonly usernameHints: readonly string[];
  /** When the person last authenticated at the provider (OIDC `auth_time`, epoch ms); null when it does not say. */
  readonly authTime: number | null;
}

/** One protocol toward a provider: where to send the browser, and what to make of its answer. */
export interface Upstream {
  authorizationUrl(redirectUri: string, checks: FlowChecks): Promise<string>;
  /** Exchanges the code and verifies what comes back; throws FederationError when it does not hold. */
  finish(callbackUrl: URL, redirectUri: string, checks: FlowChecks): Promise<UpstreamProfile>;
}

/** How Gatehouse talks to providers: the deadline, and plain http (tests and local issuers only). */
export interface UpstreamOptions {
  readonly timeoutMs: number;
  readonly allowInsecureRequests: boolean;
}
