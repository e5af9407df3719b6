import * as oidc from 'openid-client';
import { classifyUpstreamError } from './classify.js';
import { FederationError } from './errors.js';
import type { FlowChecks, ProviderConfig, Upstream, UpstreamOptions, UpstreamProfile } from './upstream.js';

/** After a failed discovery, the next sign-in tries again only this much later. */
const REDISCOVER_AFTER_MS = 10_000;

/**
 * Any OpenID Connect provider, through openid-client: discovery, authorization code with PKCE
 * (S256), `state` and `nonce`, and the ID token verified by the library (FED-01): `iss`, `aud`,
 * `azp`, `exp`/`iat`, `nonce`, and (enableNonRepudiationChecks) its signature against the keys
 * at the discovered `jwks_uri`. Algorithms are the asymmetric ones only: `none` and HMAC (which
 * an attacker would key with the provider's public key) are refused by the library.
 *
 * The discovered configuration is kept for the life of the process, and with it the provider's
 * JWKS cache: a token signed with a `kid` not in the cache makes the library fetch the JWKS
 * again, at most once a minute (FED-03).
 */
export class OidcUpstream implements Upstream {
  private config: Promise<oidc.Configuration> | null = null;
  private failedAt = 0;

  constructor(
    private readonly provider: ProviderConfig,
    private readonly options: UpstreamOptions,
    private readonly now: () => number,
  ) {}

  private configuration(): Promise<oidc.Configuration> {
    if (this.config && !(this.failedAt && this.now() - this.failedAt >= REDISCOVER_AFTER_MS)) return this.config;
    const { issuer, clientId, clientSecret } = this.provider;
    const auth = clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None();
    const found = oidc
      .discovery(new URL(issuer!), clientId, undefined, auth, {
        timeout: Math.ceil(this.options.timeoutMs / 1000),
        execute: [...(this.options.allowInsecureRequests ? [oidc.allowInsecureRequests] : []), oidc.enableNonRepudiationChecks],
      })
      .then((config) => {
        this.failedAt = 0;
        return config;
      });
    // A provider that was down is asked again later, not on every request in between.
    found.catch(() => (this.failedAt = this.now()));
    this.config = found;
    return found;
  }

  async authorizationUrl(redirectUri: string, checks: FlowChecks): Promise<string> {
    let config: oidc.Configuration;
    try {
      config = await this.configuration();
    } catch (error) {
      throw classifyUpstreamError(error);
    }
    return oidc
      .buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: this.provider.scopes.join(' '),
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
      })
      .toString();
  }

  async finish(callbackUrl: URL, redirectUri: string, checks: FlowChecks): Promise<UpstreamProfile> {
    try {
      const config = await this.configuration();
      // The library compares the callback's URL with redirect_uri; ours is PUBLIC_URL's, whatever
      // host the request reached us by.
      const current = new URL(redirectUri);
      current.search = callbackUrl.search;
      const tokens = await oidc.authorizationCodeGrant(
        config,
        current,
        { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true },
        { redirect_uri: redirectUri },
      );
      const claims = tokens.claims();
      if (!claims) throw new FederationError('token', undefined, 'no ID token');
      let info: Record<string, unknown> = claims;
      // Some providers (oidc-provider by default) keep the address out of the ID token.
      if (claims.email === undefined && config.serverMetadata().userinfo_endpoint) {
        info = { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)), ...claims };
      }
      return {
        ...profileOf(claims.sub, info),
        issuer: claims.iss,
        authTime: typeof claims.auth_time === 'number' && Number.isFinite(claims.auth_time) ? claims.auth_time * 1000 : null,
      };
    } catch (error) {
      throw classifyUpstreamError(error);
    }
  }
}

const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

function profileOf(subject: string, info: Record<string, unknown>): Omit<UpstreamProfile, 'authTime' | 'issuer'> {
  return {
    subject,
    email: str(info.email),
    // FED-02: only a literal true counts; absent, "true" as a string or anything else is unverified.
    emailVerified: info.email_verified === true,
    name: str(info.name),
    usernameHints: [str(info.preferred_username), str(info.nickname), str(info.given_name)].filter((h): h is string => h !== null),
  };
}
