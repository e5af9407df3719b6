import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJws } from '../../src/core/auth/jws.js';
import { FIRST_SECRET, testClientStore } from '../helpers/clients.js';
import { buildTestApp, PASSWORD, signUp, type TestApp, type TestUser } from '../helpers/app.js';
import { freePort } from '../helpers/server.js';

/**
 * Clients and verifiers nobody here wrote, against the real service on a real loopback port:
 * oauth4webapi discovers through RFC 8414 metadata and runs the grants and revocation, jose
 * verifies access tokens from the published JWKS (RFC 9068), and Auth0's express-oauth2-jwt-bearer
 * does the same in strict mode.
 */

let t: TestApp;
let user: TestUser;
let issuer: string;
let as: oauth.AuthorizationServer;
// Plain http on loopback: both libraries refuse it unless told.
const insecure = { [oauth.allowInsecureRequests]: true } as const;

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  t = await buildTestApp({ PUBLIC_URL: issuer }, { clients: testClientStore });
  await t.app.listen({ port, host: '127.0.0.1' });
  user = await signUp(t);
  as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure }));
});
afterAll(() => t.close());

const publicClient: oauth.Client = { client_id: 'gatehouse' };

async function passwordGrant(client: oauth.Client, clientAuth: oauth.ClientAuth, scope?: string): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.genericTokenEndpointRequest(
    as,
    client,
    clientAuth,
    'password',
    { username: user.username, password: PASSWORD, ...(scope ? { scope } : {}) },
    insecure,
  );
  return oauth.processGenericTokenEndpointResponse(as, client, response);
}

describe('oauth4webapi (RFC 8414 discovery, RFC 6749 grants, RFC 7009 revocation)', () => {
  it('RFC 8414: discovers the metadata and finds what it needs, nothing it cannot use', () => {
    expect(as.issuer).toBe(issuer);
    expect(as.token_endpoint).toBe(`${issuer}/oauth/token`);
    expect(as.revocation_endpoint).toBe(`${issuer}/oauth/revoke`);
    expect(as.jwks_uri).toBe(`${issuer}/.well-known/jwks.json`);
    // Issue 15: the provider exists now; the code flow with S256 only, never implicit.
    expect(as.authorization_endpoint).toBe(`${issuer}/oauth/authorize`);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.response_types_supported).toEqual(['code']);
  });

  it('RFC 6749 §4.3 / §6: password grant, then refresh, with the public first-party client (auth method none)', async () => {
    const first = await passwordGrant(publicClient, oauth.None());
    expect(first.token_type).toBe('bearer');
    expect(first.scope).toBe('');
    expect(typeof first.refresh_token).toBe('string');
    const response = await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), first.refresh_token!, insecure);
    const next = await oauth.processRefreshTokenResponse(as, publicClient, response);
    expect(next.refresh_token).not.toBe(first.refresh_token);
    expect(next.expires_in).toBe(900);
  });

  it('RFC 6749 §2.3.1: client_secret_basic and client_secret_post as oauth4webapi encodes them', async () => {
    const console = { client_id: 'console' };
    const viaBasic = await passwordGrant(console, oauth.ClientSecretBasic(FIRST_SECRET), 'items.read');
    expect(viaBasic.scope).toBe('items.read');
    const viaPost = await passwordGrant(console, oauth.ClientSecretPost(FIRST_SECRET));
    expect(viaPost.scope).toBe('items.read items.write');
    await expect(passwordGrant(console, oauth.ClientSecretBasic('wrong'))).rejects.toMatchObject({ status: 401 });
  });

  it('SES-08: a refresh token is refused to another client; RFC 7009 revocation ends it without an access token', async () => {
    const mobile = { client_id: 'mobile' };
    const tokens = await passwordGrant(mobile, oauth.None());
    const stolen = await oauth.refreshTokenGrantRequest(as, publicClient, oauth.None(), tokens.refresh_token!, insecure);
    await expect(oauth.processRefreshTokenResponse(as, publicClient, stolen)).rejects.toMatchObject({ error: 'invalid_grant' });

    // Revoked by another client: 200, but nothing happens.
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, publicClient, oauth.None(), tokens.refresh_token!, insecure));
    const still = await oauth.refreshTokenGrantRequest(as, mobile, oauth.None(), tokens.refresh_token!, insecure);
    const rotated = await oauth.processRefreshTokenResponse(as, mobile, still);

    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, mobile, oauth.None(), rotated.refresh_token!, { ...insecure, additionalParameters: { token_type_hint: 'refresh_token' } }),
    );
    const after = await oauth.refreshTokenGrantRequest(as, mobile, oauth.None(), rotated.refresh_token!, insecure);
    await expect(oauth.processRefreshTokenResponse(as, mobile, after)).rejects.toMatchObject({ error: 'invalid_grant' });
    const me = await fetch(`${issuer}/auth/me`, { headers: { authorization: `Bearer ${rotated.access_token}` } });
    expect(me.status).toBe(401);
  });

  it('RFC 6749 §5.2: an unsupported grant is unsupported_grant_type to oauth4webapi too', async () => {
    const response = await oauth.genericTokenEndpointRequest(as, publicClient, oauth.None(), 'urn:ietf:params:oauth:grant-type:device_code', { device_code: 'x' }, insecure);
    await expect(oauth.processGenericTokenEndpointResponse(as, publicClient, response)).rejects.toMatchObject({ error: 'unsupported_grant_type' });
  });
});

describe('jose createRemoteJWKSet (RFC 9068 access tokens)', () => {
  it('RFC 9068: verifies typ at+jwt, iss, aud from the JWKS, and reads client_id, scope and auth_time', async () => {
    const loginAt = Math.floor(t.clock.now() / 1000);
    const tokens = await passwordGrant({ client_id: 'console' }, oauth.ClientSecretBasic(FIRST_SECRET), 'items.read items.write');
    const jwks = createRemoteJWKSet(new URL(as.jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer,
      audience: t.config.jwt.audience,
      typ: 'at+jwt',
      currentDate: new Date(t.clock.now()),
      requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'client_id', 'scope', 'auth_time'],
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ sub: user.id, client_id: 'console', scope: 'items.read items.write', auth_time: loginAt });
    // The JWS typ check is real: a verifier expecting another type refuses it.
    await expect(jwtVerify(tokens.access_token, jwks, { issuer, audience: t.config.jwt.audience, typ: 'JWT', currentDate: new Date(t.clock.now()) })).rejects.toThrow();
  });
});

/** Runs Auth0's middleware the way Express would, on a request carrying the bearer token. */
function runMiddleware(
  middleware: (req: never, res: never, next: (error?: unknown) => void) => void,
  token: string,
): Promise<{ error?: unknown; payload?: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, host: '127.0.0.1' };
  const req = {
    headers,
    method: 'GET',
    url: '/api',
    originalUrl: '/api',
    protocol: 'http',
    query: {},
    body: undefined,
    is: () => false,
    get: (name: string) => headers[name.toLowerCase()],
    socket: {},
  } as Record<string, unknown>;
  return new Promise((resolve) => {
    middleware(req as never, {} as never, (error?: unknown) => resolve({ error, payload: (req.auth as { payload?: Record<string, unknown> } | undefined)?.payload }));
  });
}

describe("Auth0's express-oauth2-jwt-bearer, strict mode (RFC 9068)", () => {
  it('RFC 9068: accepts Gatehouse access tokens in strict mode (discovery falls back to RFC 8414) and requiredScopes() works', async () => {
    const tokens = await passwordGrant({ client_id: 'console' }, oauth.ClientSecretBasic(FIRST_SECRET), 'items.read');
    // The library checks exp/iat against the wall clock: the test clock starts at Date.now(), so they agree.
    const check = auth({ issuerBaseURL: issuer, audience: t.config.jwt.audience, strict: true });
    const verified = await runMiddleware(check, tokens.access_token);
    expect(verified.error).toBeUndefined();
    expect(verified.payload).toMatchObject({ client_id: 'console', scope: 'items.read', sub: user.id });

    const scopes = (needed: string) => (req: { auth?: unknown }, _res: unknown, next: (e?: unknown) => void) =>
      requiredScopes(needed)({ ...req, auth: { payload: verified.payload } } as never, {} as never, next);
    const has = await new Promise<unknown>((resolve) => scopes('items.read')({}, {}, resolve));
    expect(has).toBeUndefined();
    const lacks = await new Promise<unknown>((resolve) => scopes('items.write')({}, {}, resolve));
    expect(lacks).toMatchObject({ status: 403 });

    // Strict mode is really on: the same claims signed by the server's key as a plain JWT (typ JWT)
    // pass the lax verifier and fail the strict one.
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const plainJwt = await signJws(t.services.tokens.keyRing.signingKey, { typ: 'JWT' }, claims);
    expect((await runMiddleware(auth({ issuerBaseURL: issuer, audience: t.config.jwt.audience }), plainJwt)).error).toBeUndefined();
    expect((await runMiddleware(check, plainJwt)).error).toMatchObject({ status: 401 });
    // And without client_id (as Gatehouse's tokens were before), strict mode refuses.
    const { client_id: _dropped, ...withoutClient } = claims;
    expect((await runMiddleware(check, await signJws(t.services.tokens.keyRing.signingKey, { typ: 'at+jwt' }, withoutClient))).error).toMatchObject({ status: 401 });
  });
});
