import type { AuditLog, RequestContext } from '../audit.js';
import { hashSecret } from '../auth/refresh-tokens.js';
import { NotFoundError, ValidationError, type FieldError } from '../errors.js';
import { randomToken } from '../ids.js';
import type { GrantType, OAuthClient, Page } from '../model.js';
import type { Clock, ClientStore } from '../ports.js';
import { FIRST_PARTY_CLIENT_ID } from './clients.js';
import { isScopeToken } from './scopes.js';

/** What an admin says about a client when registering it. */
export interface ClientDraft {
  readonly name: string;
  readonly type: OAuthClient['type'];
  readonly firstParty?: boolean;
  readonly grantTypes?: readonly GrantType[];
  readonly scopes?: readonly string[];
  readonly redirectUris?: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  /** RS256 unless the client asks for the access tokens' algorithm. */
  readonly idTokenAlg?: string;
}

/** What may change later; the type may not (a public client has no secret to turn confidential with). */
export type ClientChanges = Partial<Omit<ClientDraft, 'type'>>;

/** A client together with a secret that exists only in this answer (OIDC-05: shown once). */
export interface ClientWithSecret {
  readonly client: OAuthClient;
  readonly secret: string | null;
}

// OIDC-05: 32 random bytes, 256 bits; stored only as a SHA-256, which is enough for a secret with
// that much entropy (no dictionary to try), and cheap enough to check on every grant.
const newSecret = () => randomToken(32);
const MAX_URIS = 10;
const MAX_SCOPES = 50;
/** Registered clients may use these; the password grant is first-party only (and the built-in client's by default). */
const REGISTRABLE: readonly GrantType[] = ['authorization_code', 'refresh_token', 'client_credentials', 'password'];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why a redirect URI cannot be registered, or null. RFC 9700 §4.1: absolute, no fragment; https,
 * or http only to this machine (native apps, development); a private-use scheme (`com.example.app:`)
 * for native apps. Compared exactly later, so nothing is normalised here either.
 */
export function redirectUriProblem(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URI';
  }
  if (uri.length > 2000) return 'is too long';
  if (url.hash !== '' || uri.includes('#')) return 'must not have a fragment';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') return LOOPBACK.has(url.hostname) ? null : 'must use https (http only for localhost)';
  // Private-use schemes are reverse domain names (RFC 8252 §7.1); javascript:, data: and the like are not.
  return /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol) ? null : 'must use https, http on localhost, or a reverse-domain scheme';
}

/** Registering, changing and removing OAuth clients; every change audited. */
export class ClientService {
  constructor(
    private readonly store: ClientStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    /** The ID-token algorithms the provider can sign with now (RS256 first). */
    private readonly idTokenAlgorithms: () => readonly string[] = () => ['RS256'],
    /** Told when a client changed or is gone, so what is cached of its sessions (first-party or not) goes. */
    private readonly changed: (clientId: string) => void = () => {},
    /** Ends every live session of a deleted client; how many it ended. */
    private readonly endSessions: (clientId: string) => Promise<number> = async () => 0,
  ) {}

  async create(draft: ClientDraft, actorId: string | null, context: RequestContext = {}): Promise<ClientWithSecret> {
    const now = this.clock.now();
    const secret = draft.type === 'confidential' ? newSecret() : null;
    const client = this.checked({
      id: randomToken(16),
      name: draft.name,
      type: draft.type,
      firstParty: draft.firstParty ?? false,
      grantTypes: draft.grantTypes ?? (draft.type === 'confidential' && !draft.redirectUris?.length ? ['client_credentials'] : ['authorization_code', 'refresh_token']),
      scopes: draft.scopes ?? [],
      secretHashes: secret ? [hashSecret(secret)] : [],
      redirectUris: draft.redirectUris ?? [],
      postLogoutRedirectUris: draft.postLogoutRedirectUris ?? [],
      idTokenAlg: draft.idTokenAlg ?? 'RS256',
      createdAt: now,
      updatedAt: now,
    });
    await this.store.create(client);
    await this.audit.record('client.created', context, { actorId, details: { client_id: client.id, type: client.type } });
    return { client, secret };
  }

  async get(id: string): Promise<OAuthClient> {
    const client = id === FIRST_PARTY_CLIENT_ID ? null : await this.store.findById(id);
    if (!client) throw new NotFoundError('ERR_CLIENT_NOT_FOUND');
    return client;
  }

  list(query: { limit: number; after?: string }): Promise<Page<OAuthClient>> {
    return this.store.list(query);
  }

  async update(id: string, changes: ClientChanges, actorId: string | null, context: RequestContext = {}): Promise<OAuthClient> {
    const current = await this.get(id);
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    const client = this.checked({ ...current, ...defined, updatedAt: this.clock.now() });
    if (!(await this.store.update(client))) throw new NotFoundError('ERR_CLIENT_NOT_FOUND');
    this.changed(id);
    await this.audit.record('client.updated', context, { actorId, details: { client_id: id, fields: Object.keys(defined).join(',') } });
    return client;
  }

  /**
   * A new secret, shown once. The newest previous one stays valid beside it (two active secrets)
   * until the next rotation, so a deployment can switch without downtime; `keepPrevious: false`
   * ends every other secret at once (a leaked one).
   */
  async rotateSecret(id: string, keepPrevious: boolean, actorId: string | null, context: RequestContext = {}): Promise<ClientWithSecret> {
    const current = await this.get(id);
    if (current.type !== 'confidential') throw ValidationError.field('type', 'a public client has no secret');
    const secret = newSecret();
    const secretHashes = [hashSecret(secret), ...(keepPrevious ? current.secretHashes.slice(0, 1) : [])];
    const client = { ...current, secretHashes, updatedAt: this.clock.now() };
    if (!(await this.store.update(client))) throw new NotFoundError('ERR_CLIENT_NOT_FOUND');
    this.changed(id);
    await this.audit.record('client.secret_rotated', context, { actorId, details: { client_id: id, active_secrets: secretHashes.length } });
    return { client, secret };
  }

  async delete(id: string, actorId: string | null, context: RequestContext = {}): Promise<void> {
    if (id === FIRST_PARTY_CLIENT_ID || !(await this.store.delete(id))) throw new NotFoundError('ERR_CLIENT_NOT_FOUND');
    this.changed(id);
    // A deleted client's users' sign-ins end with it: its refresh tokens must not outlive it.
    const sessions = await this.endSessions(id);
    await this.audit.record('client.deleted', context, { actorId, details: { client_id: id, sessions } });
  }

  /** The client if every rule holds, else one ValidationError listing every problem. */
  private checked(client: OAuthClient): OAuthClient {
    const errors: FieldError[] = [];
    const fail = (field: string, message: string) => errors.push({ field, message });
    if (client.name.trim() === '' || client.name.length > 100) fail('name', 'must be 1 to 100 characters');
    for (const grant of client.grantTypes) if (!REGISTRABLE.includes(grant)) fail('grant_types', `${grant} is not a grant a client can be registered for`);
    if (client.grantTypes.length === 0) fail('grant_types', 'name at least one grant');
    if (client.grantTypes.includes('client_credentials') && client.type !== 'confidential') fail('grant_types', 'client_credentials needs a confidential client');
    if (client.grantTypes.includes('password') && !client.firstParty) fail('grant_types', 'the password grant is for first-party clients only');
    if (client.grantTypes.includes('authorization_code') && client.redirectUris.length === 0) fail('redirect_uris', 'the authorization_code grant needs at least one redirect URI');
    if (!this.idTokenAlgorithms().includes(client.idTokenAlg)) fail('id_token_signed_response_alg', `must be one of ${this.idTokenAlgorithms().join(', ')}`);
    if (client.scopes.length > MAX_SCOPES || !client.scopes.every(isScopeToken)) fail('scopes', `at most ${MAX_SCOPES} scope tokens (RFC 6749 §3.3 syntax)`);
    for (const [field, uris] of [
      ['redirect_uris', client.redirectUris],
      ['post_logout_redirect_uris', client.postLogoutRedirectUris],
    ] as const) {
      if (uris.length > MAX_URIS) fail(field, `at most ${MAX_URIS}`);
      for (const uri of uris) {
        const problem = redirectUriProblem(uri);
        if (problem) fail(field, `${uri.slice(0, 100)} ${problem}`);
      }
    }
    if (errors.length > 0) throw new ValidationError(errors);
    // Lists keep their order but lose repeats.
    return { ...client, grantTypes: [...new Set(client.grantTypes)], scopes: [...new Set(client.scopes)], redirectUris: [...new Set(client.redirectUris)] };
  }
}
