import { createHash } from 'node:crypto';
import { classifyUpstreamError } from './classify.js';
import { FederationError } from './errors.js';
import type { FlowChecks, ProviderConfig, Upstream, UpstreamOptions, UpstreamProfile } from './upstream.js';

interface GitHubUser {
  id?: unknown;
  login?: unknown;
  name?: unknown;
}
interface GitHubEmail {
  email?: unknown;
  primary?: unknown;
  verified?: unknown;
}

/**
 * GitHub, which speaks OAuth 2.0 but not OpenID Connect: there is no ID token, so who signed in is
 * asked of its REST API with the access token (`GET /user`, `GET /user/emails`). The subject is
 * the numeric user id (a login can be renamed and then taken by someone else); the address is
 * the primary one if verified, else another verified one: GitHub's unverified addresses are
 * never used (FED-02). `state` and PKCE guard the redirect as for OpenID providers.
 */
export class GitHubUpstream implements Upstream {
  constructor(
    private readonly provider: ProviderConfig,
    private readonly options: UpstreamOptions,
  ) {}

  async authorizationUrl(redirectUri: string, checks: FlowChecks): Promise<string> {
    const url = new URL(this.provider.authorizationEndpoint!);
    url.search = new URLSearchParams({
      client_id: this.provider.clientId,
      redirect_uri: redirectUri,
      scope: this.provider.scopes.join(' '),
      state: checks.state,
      code_challenge: createHash('sha256').update(checks.codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
      allow_signup: 'true',
    }).toString();
    return url.toString();
  }

  async finish(callbackUrl: URL, redirectUri: string, checks: FlowChecks): Promise<UpstreamProfile> {
    const params = callbackUrl.searchParams;
    if (params.has('error')) throw new FederationError('denied', 'The sign-in was cancelled or refused at the identity provider.', params.get('error'));
    const code = params.get('code');
    if (!code) throw new FederationError('token', undefined, 'no code');
    try {
      const token = await this.request<{ access_token?: unknown; error?: unknown }>(this.provider.tokenEndpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: this.provider.clientId,
          client_secret: this.provider.clientSecret ?? '',
          code,
          redirect_uri: redirectUri,
          code_verifier: checks.codeVerifier,
        }).toString(),
      });
      // GitHub answers a refused code with 200 and an `error` member.
      if (typeof token.access_token !== 'string' || token.error !== undefined)
        throw new FederationError('token', undefined, `token endpoint: ${String(token.error ?? 'no access_token')}`);
      const auth = { authorization: `Bearer ${token.access_token}` };
      const user = await this.request<GitHubUser>(`${this.provider.apiUrl}/user`, { headers: auth });
      const emails = await this.request<GitHubEmail[]>(`${this.provider.apiUrl}/user/emails`, { headers: auth });
      if (typeof user.id !== 'number' && typeof user.id !== 'string') throw new FederationError('token', undefined, 'user without id');
      const verified = (Array.isArray(emails) ? emails : []).filter((e) => e.verified === true && typeof e.email === 'string');
      const chosen = verified.find((e) => e.primary === true) ?? verified[0];
      return {
        subject: String(user.id),
        email: chosen ? (chosen.email as string) : null,
        emailVerified: chosen !== undefined,
        name: typeof user.name === 'string' ? user.name : null,
        usernameHints: typeof user.login === 'string' ? [user.login] : [],
        issuer: this.provider.apiUrl ?? 'https://api.github.com',
        // GitHub never says when the person last proved who they are.
        authTime: null,
      };
    } catch (error) {
      throw classifyUpstreamError(error);
    }
  }

  private async request<T>(url: string, init: RequestInit & { headers: Record<string, string> }): Promise<T> {
    if (!this.options.allowInsecureRequests && !url.startsWith('https:')) throw new FederationError('token', undefined, `refusing plain http to ${new URL(url).origin}`);
    const response = await fetch(url, {
      ...init,
      headers: { accept: 'application/json', 'user-agent': 'gatehouse', 'x-github-api-version': '2022-11-28', ...init.headers },
      redirect: 'error',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (response.status >= 500) throw Object.assign(new Error(`${url} answered ${response.status}`), { status: response.status });
    if (!response.ok) throw new FederationError('token', undefined, `${new URL(url).pathname} answered ${response.status}`);
    return (await response.json()) as T;
  }
}
