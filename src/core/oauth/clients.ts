import { OAuthClientError } from '../errors.js';
import type { GrantType, OAuthClient } from '../model.js';
import type { ClientLookup } from '../ports.js';
import { secretMatches } from '../auth/refresh-tokens.js';
import { grantScope } from './scopes.js';

/** The id of the built-in client that Gatehouse's own logins (/auth/login, /auth/refresh) use. */
export const FIRST_PARTY_CLIENT_ID = 'gatehouse';

/**
 * The built-in first-party client: public (a browser or mobile app cannot keep a secret), allowed
 * the password and refresh_token grants, and no scopes. Its sessions are the users' sign-ins to
 * Gatehouse itself, which the authorization endpoint builds on.
 */
export const FIRST_PARTY_CLIENT: OAuthClient = Object.freeze({
  id: FIRST_PARTY_CLIENT_ID,
  name: 'Gatehouse',
  type: 'public',
  firstParty: true,
  grantTypes: Object.freeze(['password', 'refresh_token'] as const),
  scopes: Object.freeze([]),
  secretHashes: Object.freeze([]),
  redirectUris: Object.freeze([]),
  postLogoutRedirectUris: Object.freeze([]),
  idTokenAlg: 'RS256',
  createdAt: 0,
  updatedAt: 0,
});

/** The client authentication methods of RFC 6749 §2.3 that the endpoints accept. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/**
 * What a request presented to identify its client, as the HTTP layer read it. `none` with no
 * client id means "no client named": the first-party client.
 */
export type ClientCredentials =
  | { readonly method: 'none'; readonly clientId: string | null }
  | { readonly method: 'client_secret_basic' | 'client_secret_post'; readonly clientId: string; readonly secret: string };

const invalidClient = (why: string) => new OAuthClientError('ERR_OAUTH_INVALID_CLIENT', `Client authentication failed: ${why}.`);

/**
 * The clients Gatehouse knows: the built-in one, then those of an optional store. Authenticates a
 * request's client (RFC 6749 §2.3) and says which grants it may use.
 */
export class ClientRegistry {
  constructor(
    private readonly store: ClientLookup | null = null,
    private readonly builtIn: readonly OAuthClient[] = [FIRST_PARTY_CLIENT],
  ) {}

  async find(id: string): Promise<OAuthClient | null> {
    return this.builtIn.find((c) => c.id === id) ?? (await this.store?.findById(id)) ?? null;
  }

  /**
   * The client the credentials prove, or OAuthClientError (invalid_client). A public client
   * identifies itself without a secret; a confidential one must present one of its secrets.
   */
  async authenticate(credentials: ClientCredentials): Promise<OAuthClient> {
    const client = await this.find(credentials.clientId ?? FIRST_PARTY_CLIENT_ID);
    if (!client) throw invalidClient('unknown client');
    if (credentials.method === 'none') {
      // A confidential client must authenticate on every request (OIDC-05): its id alone proves nothing.
      if (client.type !== 'public') throw invalidClient('this client must authenticate');
      return client;
    }
    // A public client has no secret; one sent anyway is a misconfigured or confused client, and
    // accepting it would suggest a protection that does not exist.
    if (client.type === 'public') throw invalidClient('a public client has no secret');
    if (!client.secretHashes.some((hash) => secretMatches(credentials.secret, hash))) throw invalidClient('wrong secret');
    return client;
  }

  /** The scope a new session of this client gets for a requested `scope` (see grantScope). */
  scopeFor(client: OAuthClient, requested: string | undefined): string {
    return grantScope(requested, client.scopes);
  }

  /** Refuses a grant the client is not allowed (unauthorized_client); the password grant is first-party only. */
  assertGrantAllowed(client: OAuthClient, grant: GrantType): void {
    const allowed = client.grantTypes.includes(grant) && (grant !== 'password' || client.firstParty) && (grant !== 'client_credentials' || client.type === 'confidential');
    if (!allowed) throw new OAuthClientError('ERR_OAUTH_UNAUTHORIZED_CLIENT', `This client may not use the ${grant} grant.`);
  }
}
