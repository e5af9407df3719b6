/**
 * Every call the pages make to Gatehouse, in one module over @gatehouse/client: the pages never
 * call fetch themselves, so the client (token in memory, refresh by cookie, one refresh across
 * tabs) is the only thing that touches credentials.
 */
import { createClient, GatehouseError, type GatehouseClient, type SignInResult, type User } from '@gatehouse/client';
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import type { UiSettings } from './settings';

export { GatehouseError };
export type { SignInResult, User };

export interface Session {
  readonly id: string;
  readonly created_at: string;
  readonly last_used_at: string | null;
  readonly user_agent: string | null;
  readonly ip: string | null;
  readonly current: boolean;
}

export interface AuditEvent {
  readonly id: string;
  readonly at: string;
  readonly type: string;
  readonly actor_id: string | null;
  readonly subject_id: string | null;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly details: Record<string, string | number | boolean | null>;
}

export interface PageOf<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

export interface AuditQuery {
  readonly user?: string;
  readonly type?: string;
  readonly since?: string;
  readonly until?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

export interface Factor {
  readonly id: string;
  readonly type: 'totp' | 'webauthn';
  readonly name: string;
  readonly created_at: string;
  readonly last_used_at: string | null;
  readonly backup_eligible?: boolean;
  readonly backup_state?: boolean;
}

export interface TotpEnrolment {
  readonly id: string;
  readonly secret: string;
  readonly otpauth_uri: string;
  readonly qr_svg: string;
}

/** Told when a route wanted a fresh sign-in (RFC 9470): the account page then asks to confirm it is you. */
export const STEP_UP_EVENT = 'gatehouse:step-up';

/** An identity provider one can sign in with (GET /auth/providers). */
export interface Provider {
  readonly id: string;
  readonly name: string;
  readonly type: 'oidc' | 'github';
}

/** An account at another provider linked to the signed-in user. */
export interface LinkedIdentity {
  readonly id: string;
  readonly provider: string;
  readonly email: string | null;
  readonly created_at: string;
  readonly last_used_at: string;
}

/** Where an authorization request stands (POST /oauth/authorize/requests/:id). */
export interface AuthorizationStep {
  readonly action: 'redirect' | 'login' | 'consent';
  readonly redirect_to?: string;
  readonly client?: { id: string; name: string };
  readonly scopes?: string[];
}

export interface ConsentEntry {
  readonly client_id: string;
  readonly client_name: string;
  readonly scope: string;
  readonly updated_at: string;
}

export interface OAuthClientView {
  readonly id: string;
  readonly name: string;
  readonly type: 'public' | 'confidential';
  readonly first_party: boolean;
  readonly grant_types: string[];
  readonly scopes: string[];
  readonly redirect_uris: string[];
  readonly active_secrets: number;
}

export type UserPatch = Partial<Pick<User, 'name' | 'username' | 'email' | 'role' | 'disabled'>>;

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function createApi(settings: UiSettings) {
  // Same origin as the API: the pages are served by Gatehouse itself. Cookie mode when the service
  // sets the refresh cookie; otherwise the refresh token stays in this page's memory only.
  const client: GatehouseClient = createClient({ baseUrl: location.origin, mode: settings.refreshCookie ? 'cookie' : 'memory' });

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, credentials: 'include' };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const res = await client.fetch(path, init);
    if (!res.ok) {
      const error = await toError(res);
      if (error.code === 'ERR_AUTH_STEP_UP_REQUIRED') window.dispatchEvent(new CustomEvent(STEP_UP_EVENT));
      throw error;
    }
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  /** The email flows' public routes: no session needed, so no token is sent (client.fetch wants one). */
  async function publicCall<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(new URL(path, location.origin), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await toError(res);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  /** The browser's passkey ceremony for request options from Gatehouse. */
  const assert = async (options: { challengeId: string; options: Record<string, unknown> }) => ({
    challengeId: options.challengeId,
    assertion: (await startAuthentication({ optionsJSON: options.options as never })) as unknown as Record<string, unknown>,
  });

  return {
    client,
    signIn: (login: string, password: string): Promise<SignInResult> => client.signIn({ login, password }),
    /** The second step: a code from the app (or a recovery code). */
    completeSignIn: (mfaToken: string, code: string, recovery: boolean) =>
      client.completeSignIn(recovery ? { mfaToken, recoveryCode: code } : { mfaToken, code: code.replace(/\s/g, '') }),
    /** The second step with a passkey: the options came with the first step (fresh ones for a retry). */
    completeSignInWithPasskey: async (mfaToken: string) => client.completeSignIn({ mfaToken, ...(await assert(await client.passkeyOptions(mfaToken))) }),
    /** Sign in with a passkey alone: the browser offers the passkeys it holds for this site, no username asked. */
    signInWithPasskey: async () => client.signInWithPasskey(await assert(await client.passkeyOptions())),
    /** The password, or (for an account with a second factor) a code from the app or a recovery code. */
    reauthenticate: (proof: { password: string } | { code: string } | { recoveryCode: string }) => client.reauthenticate(proof),
    reauthenticateWithPasskey: async () => client.reauthenticate(await assert(await client.passkeyOptions())),
    factors: () => call<{ items: Factor[]; recovery_codes_left: number }>('GET', '/auth/mfa'),
    startTotp: (name?: string) => call<TotpEnrolment>('POST', '/auth/mfa/totp', name ? { name } : {}),
    confirmTotp: (id: string, code: string) => call<{ recovery_codes?: string[] }>('POST', `/auth/mfa/totp/${encodeURIComponent(id)}/confirm`, { code: code.replace(/\s/g, '') }),
    removeFactor: (id: string) => call<void>('DELETE', `/auth/mfa/${encodeURIComponent(id)}`),
    newRecoveryCodes: () => call<{ recovery_codes: string[] }>('POST', '/auth/mfa/recovery-codes'),
    /** Creates a passkey on this device: Gatehouse's options, the browser's ceremony, Gatehouse stores it. */
    async addPasskey(name?: string): Promise<Factor> {
      const options = await call<{ challenge_id: string; options: Record<string, unknown> }>('POST', '/auth/webauthn/register/options', name ? { name } : {});
      const attestation = await startRegistration({ optionsJSON: options.options as never });
      return call<Factor>('POST', '/auth/webauthn/register/verify', { challenge_id: options.challenge_id, attestation });
    },
    signUp: (input: { username: string; email: string; password: string; name?: string }) => client.signUp(input),
    signOut: (scope: 'local' | 'others' | 'global' = 'local') => client.signOut(scope),
    /** The signed-in user, or null (after trying the refresh cookie in cookie mode). */
    async currentUser(): Promise<User | null> {
      if ((await client.getAccessToken()) === null) return null;
      return call<User>('GET', '/auth/me');
    },
    /** A new own address answers `{ pending_email }`: it changes once the link sent to it is followed. */
    updateMe: (patch: UserPatch) => call<User | { pending_email: string }>('PATCH', '/auth/me', patch),
    sendVerification: () => call<unknown>('POST', '/auth/email/verify/send'),
    verifyEmail: (token: string) => publicCall<User>('/auth/email/verify', { token }),
    confirmEmailChange: (token: string) => publicCall<User>('/auth/email/change/confirm', { token }),
    forgotPassword: (email: string) => publicCall<unknown>('/auth/password/forgot', { email }),
    resetPassword: (token: string, new_password: string) => publicCall<void>('/auth/password/reset', { token, new_password }),
    changePassword: (current_password: string, new_password: string) => call<void>('POST', '/auth/password', { current_password, new_password }),
    sessions: () => call<{ items: Session[] }>('GET', '/auth/sessions'),
    revokeSession: (id: string) => call<void>('DELETE', `/auth/sessions/${encodeURIComponent(id)}`),
    deleteUser: (id: string) => call<void>('DELETE', `/users/${encodeURIComponent(id)}`),
    listUsers: (q: string, cursor?: string) => call<PageOf<User>>('GET', `/users${query({ q, cursor, limit: 20 })}`),
    updateUser: (id: string, patch: UserPatch) => call<User>('PATCH', `/users/${encodeURIComponent(id)}`, patch),
    revokeUserSessions: (id: string) => call<void>('DELETE', `/users/${encodeURIComponent(id)}/sessions`),
    /** Public: no token needed. */
    async providers(): Promise<Provider[]> {
      const res = await fetch(new URL('/auth/providers', location.origin), { credentials: 'same-origin' });
      if (!res.ok) throw await toError(res);
      return ((await res.json()) as { items: Provider[] }).items;
    },
    identities: () => call<{ items: LinkedIdentity[] }>('GET', '/auth/identities'),
    /** Sets the flow cookie and answers where to send the browser. */
    linkIdentity: (provider: string) => call<{ authorization_url: string }>('POST', `/auth/sso/${encodeURIComponent(provider)}/link`),
    unlinkIdentity: (id: string) => call<void>('DELETE', `/auth/identities/${encodeURIComponent(id)}`),
    continueAuthorization: (id: string) => call<AuthorizationStep>('POST', `/oauth/authorize/requests/${encodeURIComponent(id)}`),
    decideAuthorization: (id: string, approve: boolean) => call<AuthorizationStep>('POST', `/oauth/authorize/requests/${encodeURIComponent(id)}/consent`, { approve }),
    consents: () => call<{ items: ConsentEntry[] }>('GET', '/auth/consents'),
    withdrawConsent: (clientId: string) => call<void>('DELETE', `/auth/consents/${encodeURIComponent(clientId)}`),
    clients: (cursor?: string) => call<PageOf<OAuthClientView>>('GET', `/admin/clients${query({ cursor, limit: 50 })}`),
    createClient: (body: { name: string; type: 'public' | 'confidential'; first_party: boolean; redirect_uris: string[]; scopes: string[]; grant_types?: string[] }) =>
      call<{ client: OAuthClientView; client_secret: string | null }>('POST', '/admin/clients', body),
    rotateClientSecret: (id: string) => call<{ client: OAuthClientView; client_secret: string | null }>('POST', `/admin/clients/${encodeURIComponent(id)}/secret`, {}),
    deleteClient: (id: string) => call<void>('DELETE', `/admin/clients/${encodeURIComponent(id)}`),
    audit: (q: AuditQuery) => call<PageOf<AuditEvent>>('GET', `/admin/audit${query({ limit: 25, ...q })}`),
  };
}

export type Api = ReturnType<typeof createApi>;

/** A non-2xx answer as the client's typed error (problem+json code, Retry-After). */
async function toError(res: Response): Promise<GatehouseError> {
  const retry = Number(res.headers.get('retry-after'));
  const retryAfter = res.headers.has('retry-after') && Number.isFinite(retry) ? retry : null;
  let problem: { code?: unknown; detail?: string; title?: string } | null = null;
  try {
    problem = (await res.json()) as { code?: unknown; detail?: string; title?: string } | null;
  } catch {
    // Not JSON (a proxy's page): reported as an unexpected answer.
  }
  const code = typeof problem?.code === 'string' ? problem.code : 'ERR_CLIENT_RESPONSE';
  return new GatehouseError(code, problem?.detail ?? problem?.title ?? `HTTP ${res.status}`, { status: res.status, problem: problem as never, retryAfter });
}
