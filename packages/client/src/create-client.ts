import { CLIENT_ERROR_CODES, GatehouseError, errorFromResponse } from './errors.js';
import { Coordinator, type TabMessage } from './lib/coordinator.js';
import { Emitter } from './lib/emitter.js';
import type {
  ClientEvents,
  ClientOptions,
  FactorProof,
  GatehouseClient,
  LogoutScope,
  PasskeyAssertion,
  PasskeyOptions,
  PresenceProof,
  SignInInput,
  SignInResult,
  SignUpInput,
  SignedInHow,
  SignedOutReason,
  TokenResponse,
  TokenStorage,
  User,
} from './types.js';

/** The access token this client holds; `expiresAt` is on this client's own clock. */
interface Held {
  readonly token: string;
  readonly expiresAt: number;
  readonly lifetimeMs: number;
}

// How long a tab that opens waits for another tab to hand it a token before it refreshes itself.
const ASK_TABS_MS = 100;
// A call to Gatehouse that hangs must not hold the refresh lock, and with it every tab, forever.
const CALL_TIMEOUT_MS = 30_000;

/**
 * A Gatehouse client for browsers and Node. See the README for the two modes; the rules that keep
 * refreshes from racing are in `refresh` and in lib/coordinator.ts.
 */
export function createClient(options: ClientOptions): GatehouseClient {
  if (typeof options?.baseUrl !== 'string') throw new TypeError('createClient: baseUrl is required');
  if (options.mode !== 'cookie' && options.mode !== 'memory') throw new TypeError("createClient: mode must be 'cookie' or 'memory'");
  // In cookie mode the refresh token never reaches script: there is nothing to store, and storing
  // anything else there would invite putting the refresh token in localStorage.
  if (options.mode === 'cookie' && options.storage) throw new TypeError("createClient: storage is for mode 'memory' only");
  const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof fetchImpl !== 'function') throw new TypeError('createClient: no fetch in this runtime; pass options.fetch');

  const baseUrl = new URL(options.baseUrl).href.replace(/\/+$/, '');
  const cookieMode = options.mode === 'cookie';
  // Cookies go only with cookie mode; memory mode must not pick up a browser's session by accident.
  const credentials: RequestCredentials = cookieMode ? 'include' : 'omit';
  const tokenOrigins = new Set((options.tokenOrigins ?? [baseUrl]).map((o) => new URL(o).origin));
  const marginMs = options.refreshMarginMs ?? 30_000;
  // Read at each call: a page may replace Date (tests do).
  const now = options.now ?? (() => Date.now());
  const storage = options.storage ?? memoryStorage();
  const storageKey = `gatehouse:${baseUrl}:refresh_token`;
  const events = new Emitter<ClientEvents>();
  // Tabs share the session only through the cookie; memory-mode clients each hold their own
  // session, so they coordinate only when told that they share a storage.
  const tabs = new Coordinator(`gatehouse:${baseUrl}`, options.crossTab ?? cookieMode, onTabMessage);

  let held: Held | null = null;
  let user: User | null = null;
  // Set once the session is known to be over: no more refresh attempts until a sign-in (here or in
  // another tab), so a signed-out app that keeps calling does not keep knocking on /auth/refresh.
  let ended = false;
  let inflight: Promise<string | null> | null = null;
  let onTabToken: (() => void) | null = null;

  const fresh = (h: Held): boolean => now() < h.expiresAt - Math.min(marginMs, h.lifetimeMs / 5);
  const usable = (h: Held): boolean => now() < h.expiresAt;
  const signedOut = () => new GatehouseError(CLIENT_ERROR_CODES.ERR_CLIENT_SIGNED_OUT, 'Not signed in: sign in again.');

  function call(path: string, init: { method: string; json?: unknown; token?: string }): Promise<Response> {
    const headers: Record<string, string> = {};
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    const body = init.json === undefined ? undefined : JSON.stringify(init.json);
    const signal = typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(CALL_TIMEOUT_MS) : undefined;
    return fetchImpl(`${baseUrl}${path}`, { method: init.method, headers, body, credentials, signal }).catch((cause: unknown) => {
      throw new GatehouseError(CLIENT_ERROR_CODES.ERR_CLIENT_NETWORK, `Gatehouse at ${baseUrl} could not be reached.`, { cause });
    });
  }

  /** This client's new token response: kept, handed to the other tabs, announced. */
  async function accept(body: TokenResponse, how: SignedInHow): Promise<void> {
    // A reauthentication answers no refresh token: the session keeps the one it has.
    if (!cookieMode && how !== 'reauthenticated') {
      // A service in browser mode sends no refresh token: the session then ends with this access token.
      if (body.refresh_token) await storage.setItem(storageKey, body.refresh_token);
      else await storage.removeItem(storageKey);
    }
    const lifetimeMs = body.expires_in * 1000;
    const previous = user;
    held = { token: body.access_token, expiresAt: now() + lifetimeMs, lifetimeMs };
    user = body.user;
    ended = false;
    // Posted before the lock is released, so a tab waiting for it finds this token and does not refresh.
    tabs.post({ type: 'token', accessToken: body.access_token, remainingMs: lifetimeMs, lifetimeMs, user: body.user });
    announce(previous, how, false);
  }

  function announce(previous: User | null, how: SignedInHow, fromOtherTab: boolean): void {
    if (how === 'sign-in' || previous?.id !== user!.id) events.emit('signed-in', { user: user!, how });
    else events.emit('refreshed', { expiresAt: held!.expiresAt, fromOtherTab });
  }

  /** Forgets the session; true if there was one (and 'signed-out' was announced). */
  async function end(reason: SignedOutReason): Promise<boolean> {
    held = null;
    ended = true;
    if (!cookieMode && reason !== 'other-tab') await storage.removeItem(storageKey);
    const was = user !== null;
    user = null;
    if (was) events.emit('signed-out', { reason });
    return was;
  }

  function onTabMessage(message: TabMessage): void {
    if (message.type === 'request') {
      if (held !== null && usable(held) && user) tabs.post({ type: 'token', accessToken: held.token, remainingMs: held.expiresAt - now(), lifetimeMs: held.lifetimeMs, user });
    } else if (message.type === 'signed-out') {
      void end('other-tab');
    } else if (message.type === 'token') {
      // Keep whichever token lives longer (answers to a 'request' may arrive after a newer token).
      if (held && (held.token === message.accessToken || held.expiresAt >= now() + message.remainingMs)) return;
      const previous = user;
      held = { token: message.accessToken, expiresAt: now() + message.remainingMs, lifetimeMs: message.lifetimeMs };
      user = message.user;
      ended = false;
      announce(previous, 'other-tab', true);
      onTabToken?.();
    }
  }

  /** A tab that has no token yet asks the others before it spends a refresh. */
  function askTabs(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        onTabToken = null;
        resolve();
      };
      const timer = setTimeout(done, ASK_TABS_MS);
      onTabToken = done;
      tabs.post({ type: 'request' });
    });
  }

  /**
   * One refresh at a time: callers in this tab share one flight, and the flight waits its turn
   * behind the other tabs'. `stale` is the token the caller found wanting (null: none); if by the
   * time it is our turn another refresh has replaced it, that token is used and no refresh is spent.
   */
  function refresh(stale: string | null): Promise<string | null> {
    if (ended) return Promise.resolve(null);
    inflight ??= tabs
      .exclusive(() => refreshInTurn(stale))
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }

  async function refreshInTurn(stale: string | null): Promise<string | null> {
    // The tab that held the lock before posted its new token just before letting go; the message
    // is delivered as a task of its own, which may come after the lock is granted here. A short
    // wait lets it land, so this tab uses that token instead of spending a refresh of its own.
    await tabs.settle(HANDOFF_WAIT_MS);
    // Another tab may have found the session over while this one waited for its turn.
    if (ended) return null;
    if (held !== null && fresh(held) && held.token !== stale) return held.token;
    if (held === null && tabs.shared) {
      await askTabs();
      // Another tab may have answered (TypeScript cannot see that askTabs changes `held`).
      const handed = held as Held | null;
      if (handed !== null && fresh(handed)) return handed.token;
    }
    let body: { refresh_token: string } | undefined;
    if (!cookieMode) {
      const token = await storage.getItem(storageKey);
      if (!token) {
        await end('session-ended');
        return null;
      }
      body = { refresh_token: token };
    }
    let res: Response;
    try {
      // Cookie mode sends no body: the cookie is the credential (and a bodiless POST needs no preflight).
      res = await call('/auth/refresh', { method: 'POST', json: body });
    } catch (error) {
      // A refresh ahead of expiry that fails is no reason to drop a token that still works.
      if (held !== null && usable(held)) return held.token;
      throw error;
    }
    if (res.status === 401) {
      // The session is over (ended, expired, revoked, or no cookie): every tab is signed out.
      if (await end('session-ended')) tabs.post({ type: 'signed-out' });
      return null;
    }
    if (!res.ok) {
      const error = await errorFromResponse(res);
      if (held !== null && usable(held)) return held.token;
      throw error;
    }
    await accept(await tokenResponseOf(res), 'restored');
    return held!.token;
  }

  async function getAccessToken(): Promise<string | null> {
    const h = held as Held | null;
    return h !== null && fresh(h) ? h.token : refresh(h?.token ?? null);
  }

  function resolve(input: string | URL | Request): string | URL | Request {
    if (typeof input === 'string' && input.startsWith('/')) return `${baseUrl}${input}`;
    return typeof input === 'string' ? new URL(input, `${baseUrl}/`) : input;
  }

  async function send(request: Request, token: string): Promise<Response> {
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetchImpl(new Request(request, { headers }));
  }

  /** A sign-in's answer: tokens (accepted here), or the second step to take. */
  async function signInAnswer(res: Response): Promise<SignInResult> {
    if (!res.ok) throw await errorFromResponse(res);
    const body = await jsonOf(res);
    if (isMfaStep(body)) {
      const webauthn = body.webauthn ? { challengeId: body.webauthn.challenge_id, options: body.webauthn.options } : null;
      return { status: 'mfa-required', mfaToken: body.mfa_token, methods: body.methods, webauthn };
    }
    if (!isTokenResponse(body)) throw unexpected(res.status);
    await accept(body, 'sign-in');
    return { status: 'signed-in', user: body.user };
  }

  return {
    get user() {
      return user;
    },

    async signIn({ login, password }: SignInInput): Promise<SignInResult> {
      if (typeof login !== 'string' || typeof password !== 'string') throw new TypeError('signIn: login and password must be strings');
      // In turn with refreshes, here and in other tabs: a refresh answered after the sign-in would
      // otherwise overwrite its cookie (or, with a 401, sign the new session out).
      await inflight?.catch(() => null);
      return tabs.exclusive(async (): Promise<SignInResult> => {
        const res = await call('/auth/login', { method: 'POST', json: { login, password } });
        if (!res.ok) throw await errorFromResponse(res);
        return signInAnswer(res);
      });
    },

    async completeSignIn(input): Promise<SignInResult> {
      const { mfaToken, ...proof } = input;
      await inflight?.catch(() => null);
      return tabs.exclusive(async () => signInAnswer(await call('/auth/mfa/verify', { method: 'POST', json: { mfa_token: mfaToken, ...proofBody(proof) } })));
    },

    async passkeyOptions(mfaToken?: string): Promise<PasskeyOptions> {
      const res = await call('/auth/webauthn/login/options', { method: 'POST', json: mfaToken === undefined ? {} : { mfa_token: mfaToken } });
      if (!res.ok) throw await errorFromResponse(res);
      const body = (await jsonOf(res)) as { challenge_id: string; options: Record<string, unknown> };
      return { challengeId: body.challenge_id, options: body.options };
    },

    async signInWithPasskey({ challengeId, assertion }: PasskeyAssertion): Promise<SignInResult> {
      await inflight?.catch(() => null);
      return tabs.exclusive(async () => signInAnswer(await call('/auth/webauthn/login/verify', { method: 'POST', json: { challenge_id: challengeId, assertion } })));
    },

    async reauthenticate(proof: PresenceProof): Promise<void> {
      const token = await getAccessToken();
      if (token === null) throw signedOut();
      const res = await call('/auth/reauthenticate', { method: 'POST', json: 'password' in proof ? { password: proof.password } : proofBody(proof), token });
      if (!res.ok) throw await errorFromResponse(res);
      const body = await jsonOf(res);
      if (!isTokenResponse(body)) throw unexpected(res.status);
      await accept(body, 'reauthenticated');
    },

    async signUp(input: SignUpInput): Promise<User> {
      const res = await call('/auth/register', { method: 'POST', json: input });
      if (!res.ok) throw await errorFromResponse(res);
      return (await jsonOf(res)) as User;
    },

    async signOut(scope: LogoutScope = 'local'): Promise<void> {
      const endsHere = scope !== 'others';
      try {
        const token = held !== null && usable(held) ? held.token : await getAccessToken();
        if (token === null) {
          if (!endsHere) throw signedOut();
          return;
        }
        const res = await call('/auth/logout', { method: 'POST', json: { scope }, token });
        // 401: the session had already ended, which is what was asked for.
        if (!res.ok && res.status !== 401) throw await errorFromResponse(res);
      } finally {
        // Cleared even when the server cannot be reached (the error still reaches the caller).
        if (endsHere) {
          await end('sign-out');
          tabs.post({ type: 'signed-out' });
        }
      }
    },

    getAccessToken,

    async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
      const request = new Request(resolve(input), init);
      const origin = new URL(request.url).origin;
      // The token goes to Gatehouse and the APIs named in tokenOrigins, never to a third party.
      if (!tokenOrigins.has(origin)) throw new TypeError(`client.fetch: ${origin} is not in tokenOrigins, so it may not receive the access token`);
      const token = await getAccessToken();
      if (token === null) throw signedOut();
      const spare = request.clone();
      const first = await send(request, token);
      // A step-up demand (RFC 9470) is not cured by a refresh: the caller must re-authenticate.
      if (first.status !== 401 || /insufficient_user_authentication/.test(first.headers.get('www-authenticate') ?? '')) return first;
      // Once: a token the server refused is replaced (by this tab or another), and the call retried.
      const next = await refresh(token);
      if (next === null) throw signedOut();
      if (next === token) return first;
      return send(spare, next);
    },

    on: (event, listener) => events.on(event, listener),

    close: () => tabs.close(),
  };
}

function memoryStorage(): TokenStorage {
  const map = new Map<string, string>();
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

const unexpected = (status: number) => new GatehouseError(CLIENT_ERROR_CODES.ERR_CLIENT_RESPONSE, `Gatehouse answered ${status} with an unexpected body.`, { status });

/** How long a tab that got the refresh lock waits for the previous holder's token to arrive. */
const HANDOFF_WAIT_MS = 50;

async function jsonOf(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch (cause) {
    throw new GatehouseError(CLIENT_ERROR_CODES.ERR_CLIENT_RESPONSE, `Gatehouse answered ${res.status} without JSON.`, { status: res.status, cause });
  }
}

async function tokenResponseOf(res: Response): Promise<TokenResponse> {
  const body = await jsonOf(res);
  if (!isTokenResponse(body)) throw unexpected(res.status);
  return body;
}

function isTokenResponse(body: unknown): body is TokenResponse {
  const b = body as TokenResponse | null;
  return typeof b === 'object' && b !== null && typeof b.access_token === 'string' && typeof b.expires_in === 'number' && typeof b.user === 'object' && b.user !== null;
}

/** The body fields of one factor proof (API.md "Second factors and step-up"). */
function proofBody(proof: FactorProof): Record<string, unknown> {
  if ('code' in proof) return { code: proof.code };
  if ('recoveryCode' in proof) return { recovery_code: proof.recoveryCode };
  return { challenge_id: proof.challengeId, assertion: proof.assertion };
}

// API.md "Second factors": `{ mfa_required: true, mfa_token, methods, webauthn? }` in place of tokens.
function isMfaStep(body: unknown): body is { mfa_required: true; mfa_token: string; methods: string[]; webauthn?: { challenge_id: string; options: Record<string, unknown> } } {
  const b = body as { mfa_required?: unknown; mfa_token?: unknown; methods?: unknown } | null;
  return typeof b === 'object' && b !== null && b.mfa_required === true && typeof b.mfa_token === 'string' && Array.isArray(b.methods);
}
