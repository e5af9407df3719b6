import type { RequestContext } from '../audit.js';
import { hashSecret } from '../auth/refresh-tokens.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { randomToken } from '../ids.js';
import type { AuthorizationRequest, OAuthClient } from '../model.js';
import type { AuthorizationStore, Clock } from '../ports.js';
import type { BrowserSession } from './browser-session.js';
import { FIRST_PARTY_CLIENT_ID, type ClientRegistry } from './clients.js';
import type { ConsentService } from './consent-service.js';
import { isS256Challenge } from './pkce.js';
import { OIDC_SCOPES, grantScope, scopeList } from './scopes.js';

/** The query of an authorization request as the HTTP layer parsed it (a repeated parameter is an array). */
export type AuthorizationParams = Readonly<Record<string, string | string[] | undefined>>;

/**
 * What to do with an authorization request:
 * - `error_page`: the client or its redirect URI is not what was registered, so nothing may be sent
 *   there (OIDC-02); the provider shows the problem itself.
 * - `redirect`: back to the client, with a code or an RFC 6749 §4.1.2.1 error.
 * - `interact`: the user must sign in or consent on the hosted pages, which continue the request by id.
 */
export type AuthorizationOutcome =
  | { readonly kind: 'error_page'; readonly message: string }
  | { readonly kind: 'redirect'; readonly url: string }
  | { readonly kind: 'interact'; readonly requestId: string; readonly loginHint: string | null };

/** Where a request stands once the hosted pages have a signed-in user. */
export type ContinueOutcome =
  | { readonly action: 'redirect'; readonly url: string; readonly browserSession: BrowserSession }
  | { readonly action: 'login' }
  | { readonly action: 'consent'; readonly client: { readonly id: string; readonly name: string }; readonly scopes: readonly string[] };

/** The signed-in user of the hosted pages, as their access token tells it. */
export interface SignedInUser {
  readonly userId: string;
  readonly sessionId: string;
  /** The client the token was issued to: only the hosted pages' own (first-party built-in) counts. */
  readonly clientId: string;
  /** Epoch ms. */
  readonly authTime: number;
  readonly amr: readonly string[];
}

export interface AuthorizationSettings {
  readonly issuer: string;
  readonly codeTtlMs: number;
  readonly requestTtlMs: number;
}

const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);
const USED = [
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'login_hint',
];

class RedirectError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/**
 * The authorization endpoint's logic (RFC 6749 §4.1, OAuth 2.1, OIDC Core §3.1.2): checks the
 * request in the RFC's order, answers at once when the browser's sign-in and the user's consent
 * suffice, and otherwise parks the request for the hosted pages. Codes come from here only.
 */
export class AuthorizationService {
  constructor(
    private readonly store: AuthorizationStore,
    private readonly clients: ClientRegistry,
    private readonly consents: ConsentService,
    private readonly clock: Clock,
    private readonly settings: AuthorizationSettings,
    /** Whether the browser's provider session is still live (not revoked, not expired, user enabled). */
    private readonly sessionLive: (session: BrowserSession) => Promise<boolean>,
  ) {}

  async begin(params: AuthorizationParams, browser: BrowserSession | null): Promise<AuthorizationOutcome> {
    const one = (name: string): string | undefined => {
      const value = params[name];
      return Array.isArray(value) ? undefined : value;
    };
    // OIDC-02: until the client and its redirect URI are known to be registered, nothing is sent anywhere.
    if (Array.isArray(params.client_id) || Array.isArray(params.redirect_uri)) return { kind: 'error_page', message: 'client_id and redirect_uri may be sent only once.' };
    const clientId = one('client_id');
    const client = clientId && clientId !== FIRST_PARTY_CLIENT_ID ? await this.clients.find(clientId) : null;
    if (!client) return { kind: 'error_page', message: 'The application (client_id) is not registered here.' };
    const redirectUri = one('redirect_uri');
    // Exact string comparison: no prefix, no normalisation, no wildcard (RFC 9700 §4.1.3).
    if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
      return { kind: 'error_page', message: 'The redirect_uri is not one registered for this application.' };
    }
    const state = one('state') ?? null;
    try {
      const request = this.check(params, client, redirectUri, state, one);
      return await this.answer(request, client, browser);
    } catch (error) {
      if (error instanceof RedirectError) return { kind: 'redirect', url: this.errorUrl(redirectUri, state, error.error, error.description) };
      throw error;
    }
  }

  /** The request's parameters, checked in the order of RFC 6749 §4.1.2.1; a RedirectError for the first problem. */
  private check(params: AuthorizationParams, client: OAuthClient, redirectUri: string, state: string | null, one: (name: string) => string | undefined): AuthorizationRequest {
    const repeated = USED.find((name) => Array.isArray(params[name]));
    if (repeated) throw new RedirectError('invalid_request', `${repeated} was sent more than once.`);
    if (params.request !== undefined) throw new RedirectError('request_not_supported', 'Request objects are not supported.');
    if (params.request_uri !== undefined) throw new RedirectError('request_uri_not_supported', 'request_uri is not supported.');
    const responseType = one('response_type');
    if (responseType === undefined) throw new RedirectError('invalid_request', 'response_type is required.');
    // OAuth 2.1: the code flow only; no implicit (token) or hybrid (code id_token) responses.
    if (responseType !== 'code') throw new RedirectError('unsupported_response_type', 'Only response_type=code is supported.');
    const responseMode = one('response_mode');
    if (responseMode !== undefined && responseMode !== 'query') throw new RedirectError('invalid_request', 'Only response_mode=query is supported.');
    if (!client.grantTypes.includes('authorization_code')) throw new RedirectError('unauthorized_client', 'This client may not use the authorization code grant.');
    // OIDC-01: PKCE with S256 for every client, confidential ones too (RFC 9700 §2.1.1); plain would
    // give the challenge away in the front channel.
    const challenge = one('code_challenge');
    if (challenge === undefined) throw new RedirectError('invalid_request', 'PKCE is required: send code_challenge and code_challenge_method=S256.');
    if (one('code_challenge_method') !== 'S256') throw new RedirectError('invalid_request', 'Only code_challenge_method=S256 is supported.');
    if (!isS256Challenge(challenge)) throw new RedirectError('invalid_request', 'code_challenge is not an S256 challenge.');
    let scope: string;
    try {
      // offline_access (a refresh token, access while the user is away) only for a third party registered for it.
      const standard = OIDC_SCOPES.filter((s) => s !== 'offline_access' || client.firstParty);
      scope = grantScope(one('scope') ?? '', [...standard, ...client.scopes]);
    } catch {
      throw new RedirectError('invalid_scope', 'The scope parameter is malformed.');
    }
    const prompt = scopeList(one('prompt') ?? '');
    if (!prompt.every((p) => PROMPTS.has(p))) throw new RedirectError('invalid_request', 'prompt may be none, login, consent or select_account.');
    if (prompt.includes('none') && prompt.length > 1) throw new RedirectError('invalid_request', 'prompt=none cannot be combined with other values.');
    const maxAgeText = one('max_age');
    if (maxAgeText !== undefined && !/^\d{1,9}$/.test(maxAgeText)) throw new RedirectError('invalid_request', 'max_age must be a number of seconds.');
    const nonce = one('nonce') ?? null;
    const loginHint = one('login_hint') ?? null;
    if ((state?.length ?? 0) > 2048 || (nonce?.length ?? 0) > 512 || (loginHint?.length ?? 0) > 254)
      throw new RedirectError('invalid_request', 'state, nonce or login_hint is too long.');
    const now = this.clock.now();
    return {
      id: randomToken(24),
      clientId: client.id,
      redirectUri,
      scope,
      state,
      nonce,
      codeChallenge: challenge,
      prompt: prompt.filter((p) => p === 'login' || p === 'consent' || p === 'none'),
      maxAge: maxAgeText === undefined ? null : Number(maxAgeText),
      loginHint,
      createdAt: now,
      expiresAt: now + this.settings.requestTtlMs,
    };
  }

  /** Answers from the browser's sign-in when it suffices; parks the request for the hosted pages otherwise. */
  private async answer(request: AuthorizationRequest, client: OAuthClient, browser: BrowserSession | null): Promise<AuthorizationOutcome> {
    const signedIn = browser !== null && (await this.sessionLive(browser)) && this.freshEnough(request, browser.authTime, false);
    const consented = signedIn && !request.prompt.includes('consent') && (await this.consents.covers(browser.userId, client, request.scope));
    if (request.prompt.includes('none')) {
      // OIDC-07: prompt=none never shows a page: what cannot be done silently is an error.
      if (!signedIn) throw new RedirectError('login_required', 'The user is not signed in.');
      if (!consented) throw new RedirectError('consent_required', 'The user has not agreed to this yet.');
    }
    if (signedIn && consented) return { kind: 'redirect', url: await this.issueCode(request, browser, false) };
    await this.store.saveRequest(request);
    return { kind: 'interact', requestId: request.id, loginHint: request.loginHint };
  }

  /** `prompt=login` wants a sign-in after the request; `max_age` one younger than that many seconds. */
  private freshEnough(request: AuthorizationRequest, authTime: number, afterRequest: boolean): boolean {
    // A sign-in made for this very request (auth_time has whole seconds, hence the second's slack)
    // satisfies both; max_age=0 could never be met otherwise, and the user would sign in forever.
    if (afterRequest && authTime >= request.createdAt - 1000) return true;
    if (request.prompt.includes('login')) return false;
    return request.maxAge === null || this.clock.now() - authTime <= request.maxAge * 1000;
  }

  private async pending(id: string, user: SignedInUser): Promise<{ request: AuthorizationRequest; client: OAuthClient }> {
    // Only the hosted pages' own sign-in may answer for the user; a token some other client holds must not.
    if (user.clientId !== FIRST_PARTY_CLIENT_ID) throw new ForbiddenError('Only a sign-in to Gatehouse itself can continue an authorization request.');
    const request = await this.store.findRequest(id);
    const client = request && request.expiresAt > this.clock.now() ? await this.clients.find(request.clientId) : null;
    if (!request || !client) throw new NotFoundError('ERR_OAUTH_REQUEST_NOT_FOUND');
    return { request, client };
  }

  /** The hosted pages, signed in, continue a parked request: it completes, or needs a fresh sign-in or consent. */
  async continue(id: string, user: SignedInUser): Promise<ContinueOutcome> {
    const { request, client } = await this.pending(id, user);
    if (!this.freshEnough(request, user.authTime, true)) return { action: 'login' };
    const browser = this.browserOf(user);
    if (!request.prompt.includes('consent') && (await this.consents.covers(user.userId, client, request.scope))) {
      return { action: 'redirect', url: await this.issueCode(request, browser, true), browserSession: browser };
    }
    return { action: 'consent', client: { id: client.id, name: client.name }, scopes: scopeList(request.scope) };
  }

  /** The user's answer on the consent page: a code (and the consent remembered), or access_denied. */
  async decide(id: string, user: SignedInUser, approve: boolean, context: RequestContext = {}): Promise<ContinueOutcome> {
    const { request } = await this.pending(id, user);
    if (!this.freshEnough(request, user.authTime, true)) return { action: 'login' };
    const browser = this.browserOf(user);
    if (!approve) {
      if (!(await this.store.takeRequest(request.id))) throw new NotFoundError('ERR_OAUTH_REQUEST_NOT_FOUND');
      return { action: 'redirect', url: this.errorUrl(request.redirectUri, request.state, 'access_denied', 'The user declined.'), browserSession: browser };
    }
    await this.consents.grant(user.userId, request.clientId, request.scope, context);
    return { action: 'redirect', url: await this.issueCode(request, browser, true), browserSession: browser };
  }

  private browserOf(user: SignedInUser): BrowserSession {
    return { sessionId: user.sessionId, userId: user.userId, authTime: user.authTime, amr: user.amr };
  }

  /** OIDC-03: a code of 256 random bits, stored as its hash, single-use, bound to client, redirect URI and challenge. */
  private async issueCode(request: AuthorizationRequest, browser: BrowserSession, parked: boolean): Promise<string> {
    // A parked request completes once: a second tab or a replayed POST gets no second code, even
    // when the first took the request between this call's read of it and now.
    if (parked && !(await this.store.takeRequest(request.id))) throw new NotFoundError('ERR_OAUTH_REQUEST_NOT_FOUND');
    const code = randomToken(32);
    const now = this.clock.now();
    await this.store.saveCode({
      id: hashSecret(code),
      clientId: request.clientId,
      userId: browser.userId,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      scope: request.scope,
      nonce: request.nonce,
      authTime: browser.authTime,
      amr: browser.amr,
      browserSessionId: browser.sessionId,
      createdAt: now,
      expiresAt: now + this.settings.codeTtlMs,
      usedAt: null,
      sessionId: null,
      replayedAt: null,
    });
    return this.responseUrl(request.redirectUri, { code, ...(request.state !== null ? { state: request.state } : {}) });
  }

  private errorUrl(redirectUri: string, state: string | null, error: string, description: string): string {
    return this.responseUrl(redirectUri, { error, error_description: description, ...(state !== null ? { state } : {}) });
  }

  /** The redirect URI with the response added to its query; RFC 9207 `iss` names who answered (mix-up defence). */
  private responseUrl(redirectUri: string, params: Record<string, string>): string {
    const url = new URL(redirectUri);
    for (const [name, value] of Object.entries({ ...params, iss: this.settings.issuer })) url.searchParams.append(name, value);
    return url.href;
  }

  /** Deletes parked requests and codes that expired over a day ago (kept that long so a late replay is still recognised). */
  prune(): Promise<number> {
    return this.store.deleteExpired(this.clock.now() - 86_400_000);
  }
}
