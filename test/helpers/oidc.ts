import { createHash, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestApp, TestUser } from './app.js';
import { basic } from './clients.js';

/** A PKCE pair (RFC 7636, S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface RegisteredClient {
  readonly id: string;
  readonly secret: string | null;
  readonly redirectUri: string;
}

/** Registers a client through the admin API. */
export async function registerClient(t: TestApp, admin: TestUser, body: Record<string, unknown>): Promise<RegisteredClient> {
  const res = await t.app.inject({ method: 'POST', url: '/admin/clients', headers: admin.auth, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  const json = res.json() as { client: { id: string; redirect_uris: string[] }; client_secret: string | null };
  return { id: json.client.id, secret: json.client_secret, redirectUri: json.client.redirect_uris[0] ?? '' };
}

/** The cookie a response set, as `name=value` for the next request's Cookie header. */
export function cookieFrom(res: LightMyRequestResponse, name: string): string | undefined {
  const headers = ([] as string[]).concat((res.headers['set-cookie'] as string | string[] | undefined) ?? []);
  const found = headers.find((h) => h.startsWith(`${name}=`));
  return found?.split(';')[0];
}

/**
 * The authorization code flow through inject(), as the hosted pages would drive it: GET
 * /oauth/authorize, then (signed in as `user`) continue and, when asked, consent. Returns the final
 * redirect URL, the provider-session cookie, and the PKCE verifier.
 */
export async function authorize(
  t: TestApp,
  client: RegisteredClient,
  user: TestUser,
  options: { scope?: string; nonce?: string; state?: string; approve?: boolean; cookie?: string; extra?: Record<string, string> } = {},
): Promise<{ url: URL; cookie: string | undefined; verifier: string; first: LightMyRequestResponse }> {
  const { verifier, challenge } = pkce();
  const query = new URLSearchParams({
    client_id: client.id,
    redirect_uri: client.redirectUri,
    response_type: 'code',
    scope: options.scope ?? 'openid profile email',
    state: options.state ?? 'st-1',
    nonce: options.nonce ?? 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...options.extra,
  });
  const first = await t.app.inject({ method: 'GET', url: `/oauth/authorize?${query}`, headers: options.cookie ? { cookie: options.cookie } : {} });
  expect(first.statusCode, first.body).toBe(303);
  const location = new URL(String(first.headers.location));
  if (!location.pathname.startsWith('/ui/consent')) return { url: location, cookie: options.cookie, verifier, first };
  const request = location.searchParams.get('request')!;
  let step = await t.app.inject({ method: 'POST', url: `/oauth/authorize/requests/${request}`, headers: user.auth });
  expect(step.statusCode, step.body).toBe(200);
  if (step.json().action === 'consent') {
    step = await t.app.inject({ method: 'POST', url: `/oauth/authorize/requests/${request}/consent`, headers: user.auth, payload: { approve: options.approve ?? true } });
    expect(step.statusCode, step.body).toBe(200);
  }
  expect(step.json().action).toBe('redirect');
  return { url: new URL(step.json().redirect_to), cookie: cookieFrom(step, 'gatehouse_op'), verifier, first };
}

/** POSTs the authorization code grant for `client`. */
export function redeem(t: TestApp, client: RegisteredClient, code: string, verifier: string, overrides: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier, ...overrides });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.secret) headers.authorization = basic(client.id, client.secret);
  else body.set('client_id', client.id);
  return t.app.inject({ method: 'POST', url: '/oauth/token', headers, payload: body.toString() });
}

/** The payload of a compact JWS, unverified (the tests verify signatures separately). */
export function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
