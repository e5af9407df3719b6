import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64json, forge } from '../helpers/forge.js';
import { buildTestApp, problemOf, type TestApp } from '../helpers/app.js';
import { flowCookieOf } from '../helpers/sso.js';

const CLIENT_ID = 'gatehouse-forged';
const KID = 'forged-key-1';

/**
 * FED-01 against an adversarial peer. oidc-provider never signs a bad token, so this file's
 * "provider" is a tiny local HTTP server that answers discovery and JWKS honestly and then hands
 * Gatehouse's token request whatever ID token the test forged: wrong `iss` or `aud`, expired,
 * `alg: none`, HS256 keyed with the provider's own public key, an old nonce. Each is refused, and
 * refused without leaving a user or a session behind; a correctly made token is the positive
 * control that shows the refusals are for the reason named.
 */
describe('federated sign-in refuses forged ID tokens (FED-01)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
  let server: Server;
  let issuer: string;
  let t: TestApp;
  /** What the token endpoint answers next, given Gatehouse's nonce. */
  let answer: (nonce: string) => Record<string, unknown> = () => ({});
  let nonceOfFlow = '';
  const tokenRequests: URLSearchParams[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/.well-known/openid-configuration') {
        return send(200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (req.url === '/jwks') return send(200, { keys: [publicJwk] });
      if (req.url === '/token' && req.method === 'POST') {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          tokenRequests.push(new URLSearchParams(body));
          send(200, { access_token: 'upstream-access-token', token_type: 'Bearer', expires_in: 300, ...answer(nonceOfFlow) });
        });
        return;
      }
      send(404, {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t = await buildTestApp({ SSO_PROVIDERS: JSON.stringify([{ id: 'forged', issuer, client_id: CLIENT_ID, client_secret: 'forged-secret' }]) });
  });

  afterAll(async () => {
    await t?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (nonce: string, extra: Record<string, unknown> = {}) => ({
    iss: issuer,
    aud: CLIENT_ID,
    sub: 'forged-subject',
    iat: now(),
    exp: now() + 300,
    nonce,
    email: 'forged@example.com',
    email_verified: true,
    ...extra,
  });
  const rs256 = (payload: object) => forge({ alg: 'RS256', kid: KID, typ: 'JWT' }, payload, 'RS256', privateKey);

  /** Start a flow, let the peer answer with `token`, and come back as the browser would. */
  async function attempt(token: (nonce: string) => string | Record<string, unknown>) {
    const start = await t.app.inject({ method: 'GET', url: '/auth/sso/forged/start' });
    const authorize = new URL(String(start.headers.location));
    nonceOfFlow = authorize.searchParams.get('nonce')!;
    answer = (nonce) => {
      const made = token(nonce);
      return typeof made === 'string' ? { id_token: made } : made;
    };
    const res = await t.app.inject({
      method: 'GET',
      url: `/auth/sso/forged/callback?code=upstream-code&state=${authorize.searchParams.get('state')}`,
      headers: { cookie: flowCookieOf(start) },
    });
    return { res, authorize };
  }

  const refusedWithNothingLeft = async (res: Awaited<ReturnType<typeof attempt>>['res']) => {
    expect(res.statusCode, res.body).toBe(403);
    expect(problemOf(res).code).toBe('ERR_SSO_REFUSED');
    expect(res.body).not.toContain('access_token');
    expect(await t.storage.users.findByEmail('forged@example.com')).toBeNull();
    expect(await t.storage.identities.findBySubject('forged', issuer, 'forged-subject')).toBeNull();
  };

  let usedNonce = '';

  it('FED-01: a token endpoint answer that is not right in every way is refused, and nothing is created', async () => {
    const cases: [string, RegExp, (nonce: string) => string | Record<string, unknown>][] = [
      ['wrong iss', /"iss"/, (n) => rs256(claims(n, { iss: 'https://evil.example' }))],
      ['wrong aud', /"aud"/, (n) => rs256(claims(n, { aud: 'another-client' }))],
      ['aud list without us', /"aud"/, (n) => rs256(claims(n, { aud: ['another-client'] }))],
      ['expired', /"exp"/, (n) => rs256(claims(n, { iat: now() - 3600, exp: now() - 1800 }))],
      ['no nonce', /"nonce"/, (n) => rs256(claims(n, { nonce: undefined }))],
      ['another nonce', /"nonce"/, (n) => rs256(claims(`${n}x`))],
      ['alg none', /"alg"/, (n) => `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(claims(n))}.`],
      ['alg none with kid', /"alg"/, (n) => `${b64json({ alg: 'none', kid: KID })}.${b64json(claims(n))}.`],
      ['HS256 keyed with the public key (PEM)', /"alg"/, (n) => forge({ alg: 'HS256', kid: KID }, claims(n), 'HS256', publicPem)],
      ['HS256 keyed with the public key (JWK)', /"alg"/, (n) => forge({ alg: 'HS256', kid: KID }, claims(n), 'HS256', JSON.stringify(publicJwk))],
      [
        'signed by another key under our kid',
        /signature verification failed/,
        (n) => forge({ alg: 'RS256', kid: KID }, claims(n), 'RS256', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
      ],
      ['signature cut off', /signature verification failed/, (n) => rs256(claims(n)).replace(/\.[^.]+$/, '.')],
      ['no ID token at all', /"id_token"/, () => ({})],
      ['an OAuth error', /"access_token"/, () => ({ error: 'invalid_grant', access_token: undefined })],
    ];
    for (const [name, why, token] of cases) {
      const { res } = await attempt(token);
      expect(res.statusCode, name).toBe(403);
      await refusedWithNothingLeft(res);
      // Refused for the reason named (the library's words are kept in the audit trail, not shown).
      const [latest] = (await t.services.audit.list({ limit: 1, type: 'sso.refused' })).items;
      expect(String(latest!.details.detail), name).toMatch(why);
    }
    const refused = (await t.services.audit.list({ limit: 100, type: 'sso.refused' })).items;
    expect(refused.length).toBeGreaterThanOrEqual(cases.length);
    expect(refused.every((e) => e.details.reason === 'token' && e.details.provider === 'forged')).toBe(true);
  });

  it('FED-01: PKCE: the token request carries the verifier of the challenge sent, and a flow without its verifier never reaches the token endpoint', async () => {
    const before = tokenRequests.length;
    const { res, authorize } = await attempt((n) => rs256(claims(n)));
    // Positive control: the same peer, with a token that is right in every way.
    expect(res.statusCode, res.body).toBe(200);
    const request = tokenRequests.at(-1)!;
    expect(tokenRequests.length).toBe(before + 1);
    expect(createHash('sha256').update(request.get('code_verifier')!).digest('base64url')).toBe(authorize.searchParams.get('code_challenge'));
    expect(request.get('redirect_uri')).toBe('http://gatehouse.test/auth/sso/forged/callback');
    usedNonce = authorize.searchParams.get('nonce')!;

    const start = await t.app.inject({ method: 'GET', url: '/auth/sso/forged/start' });
    const state = new URL(String(start.headers.location)).searchParams.get('state');
    const noVerifier = await t.app.inject({ method: 'GET', url: `/auth/sso/forged/callback?code=c&state=${state}` });
    expect(noVerifier.statusCode).toBe(400);
    expect(problemOf(noVerifier).code).toBe('ERR_SSO_FLOW_INVALID');
    expect(tokenRequests.length).toBe(before + 1);
  });

  it('FED-01: a replayed nonce (a token from an earlier flow) is refused', async () => {
    expect(usedNonce).not.toBe('');
    await t.storage.users.delete((await t.storage.users.findByEmail('forged@example.com'))!.id);
    const { res } = await attempt(() => rs256(claims(usedNonce)));
    await refusedWithNothingLeft(res);
  });
});
