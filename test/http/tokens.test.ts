import { createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwsAlgorithm } from '../../src/core/auth/jws.js';
import { buildTestApp, problemOf, signUp, PASSWORD, type TestApp, type TestUser } from '../helpers/app.js';
import { attackerKey, b64, b64json, decode, forge, forgeSegments, rawSign, type RawKey } from '../helpers/forge.js';

/**
 * The token attacks of SECURITY.md (JWT-01..10, CLM-01..06) through HTTP, against GET /auth/me,
 * in every signing mode. Every forged token must get 401 with `WWW-Authenticate: Bearer …` and a
 * problem+json body: never 200, never 500. Tokens are forged here with node:crypto directly.
 */

const ALGORITHMS: readonly JwsAlgorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];

interface Mode {
  readonly alg: JwsAlgorithm;
  readonly env: Record<string, string>;
}

const MODES: Mode[] = [
  { alg: 'EdDSA', env: {} },
  { alg: 'ES256', env: { JWT_ALGORITHM: 'ES256' } },
  { alg: 'RS256', env: { JWT_ALGORITHM: 'RS256' } },
  { alg: 'HS256', env: { JWT_ALGORITHM: 'HS256', JWT_SECRET: randomBytes(48).toString('base64') } },
];

const attackers = new Map<JwsAlgorithm, ReturnType<typeof attackerKey>>();
function attacker(alg: JwsAlgorithm): ReturnType<typeof attackerKey> {
  let key = attackers.get(alg);
  if (!key) attackers.set(alg, (key = attackerKey(alg)));
  return key;
}

function me(t: TestApp, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url: '/auth/me', headers });
}

/** What is wrong with a refusal, or null when it is a proper RFC 6750 / RFC 9457 401. */
function refusalProblem(res: LightMyRequestResponse): string | null {
  if (res.statusCode !== 401) return `status ${res.statusCode}: ${res.body.slice(0, 200)}`;
  const challenge = res.headers['www-authenticate'];
  if (typeof challenge !== 'string' || !challenge.startsWith('Bearer')) return `www-authenticate ${String(challenge)}`;
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) return `content-type ${String(res.headers['content-type'])}`;
  const body = res.json() as { status?: unknown; code?: unknown; detail?: unknown };
  if (body.status !== 401 || typeof body.code !== 'string' || typeof body.detail !== 'string') return `body ${res.body.slice(0, 200)}`;
  if (/at |\.ts:|\.js:|stack/i.test(res.body)) return `body leaks internals: ${res.body.slice(0, 200)}`;
  return null;
}

/** Sends each [label, token] as a bearer token; fails listing every one that was not a proper 401. */
async function expectAllRefused(t: TestApp, cases: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const failures: string[] = [];
  for (const [label, token] of cases) {
    const res = await me(t, { authorization: `Bearer ${token}` });
    const problem = refusalProblem(res);
    if (problem) failures.push(`${label}: ${problem}`);
  }
  expect(failures).toEqual([]);
}

function expectRefusal(res: LightMyRequestResponse): void {
  expect(refusalProblem(res)).toBeNull();
  expect(problemOf(res).status).toBe(401);
}

describe.each(MODES)('tokens over HTTP, $alg mode', ({ alg, env }) => {
  let t: TestApp;
  let user: TestUser;
  let kid: string;
  let realHeader: Record<string, unknown>;
  let realPayload: Record<string, unknown>;
  let parts: [string, string, string];
  /** The server's own signing key (from the running services), for positive controls and CLM-06. */
  let serverKey: RawKey;

  beforeAll(async () => {
    t = await buildTestApp(env);
    user = await signUp(t);
    parts = user.accessToken.split('.') as [string, string, string];
    realHeader = decode(parts[0]);
    realPayload = decode(parts[1]);
    kid = realHeader.kid as string;
    serverKey = t.services.tokens.keyRing.signingKey.key;
  });
  afterAll(() => t.close());

  it('issues an at+jwt access token with kid, signed with the configured alg', () => {
    expect(realHeader).toMatchObject({ alg, typ: 'at+jwt' });
    expect(typeof kid).toBe('string');
    expect(Object.keys(realPayload).sort()).toEqual(['acr', 'amr', 'aud', 'auth_time', 'client_id', 'exp', 'iat', 'iss', 'jti', 'role', 'scope', 'sid', 'sub']);
    expect(realPayload).toMatchObject({ iss: t.config.jwt.issuer, aud: t.config.jwt.audience, sub: user.id, role: 'user', client_id: 'gatehouse', scope: '' });
  });

  it('positive control: the real token and a copy re-signed here with the server key are accepted', async () => {
    expect((await me(t, user.auth)).statusCode).toBe(200);
    const resigned = forge(realHeader, realPayload, alg, serverKey);
    const res = await me(t, { authorization: `Bearer ${resigned}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: user.id });
  });

  it('JWT-01: a token whose alg is not the pinned one is refused', async () => {
    const cases: Array<[string, string]> = [];
    for (const other of ALGORITHMS.filter((a) => a !== alg)) {
      cases.push([`${other} signed by an attacker key, our kid`, forge({ ...realHeader, alg: other }, realPayload, other, attacker(other).signKey)]);
    }
    for (const spoof of ['HS384', 'HS512', 'RS512', 'PS256', 'ES384', 'ES256K', alg.toLowerCase(), `${alg} `]) {
      const input = `${b64json({ ...realHeader, alg: spoof })}.${parts[1]}`;
      cases.push([`alg ${spoof} with the real key's signature`, `${input}.${rawSign(alg, serverKey, input).toString('base64url')}`]);
    }
    await expectAllRefused(t, cases);
  });

  it('JWT-02: alg none in every spelling is refused, with an empty and with any signature', async () => {
    const cases: Array<[string, string]> = [];
    for (const none of ['none', 'None', 'NONE', 'nOnE']) {
      const headers: Array<Record<string, unknown>> = [
        { ...realHeader, alg: none },
        { alg: none, typ: 'at+jwt' },
      ];
      for (const h of headers) {
        const input = `${b64json(h)}.${parts[1]}`;
        cases.push([`${none} kid=${String(h.kid)} empty signature`, `${input}.`]);
        cases.push([`${none} kid=${String(h.kid)} real signature`, `${input}.${parts[2]}`]);
        cases.push([`${none} kid=${String(h.kid)} signature of the input`, `${input}.${rawSign(alg, serverKey, input).toString('base64url')}`]);
        cases.push([`${none} kid=${String(h.kid)} random signature`, `${input}.${randomBytes(32).toString('base64url')}`]);
      }
    }
    await expectAllRefused(t, cases);
  });

  it('JWT-03: tampered header or payload, truncated or empty signature are refused', async () => {
    const [h, p, s] = parts;
    const sig = Buffer.from(s, 'base64url');
    const flipped = Buffer.from(sig);
    flipped[0] = flipped[0]! ^ 0x01;
    await expectAllRefused(t, [
      ['header: typ changed', `${b64json({ ...realHeader, typ: 'JWT' })}.${p}.${s}`],
      ['header: extra member', `${b64json({ ...realHeader, x: 1 })}.${p}.${s}`],
      ['payload: role admin', `${h}.${b64json({ ...realPayload, role: 'admin' })}.${s}`],
      ['payload: exp + 1 year', `${h}.${b64json({ ...realPayload, exp: (realPayload.exp as number) + 31_536_000 })}.${s}`],
      ['payload: other sub', `${h}.${b64json({ ...realPayload, sub: 'someone-else' })}.${s}`],
      ['signature: one char short', `${h}.${p}.${s.slice(0, -1)}`],
      ['signature: half', `${h}.${p}.${s.slice(0, Math.floor(s.length / 2))}`],
      ['signature: one byte short', `${h}.${p}.${b64(sig.subarray(0, -1))}`],
      ['signature: bit flipped', `${h}.${p}.${b64(flipped)}`],
      ['signature: empty (h.p.)', `${h}.${p}.`],
    ]);
  });

  it.skipIf(alg === 'HS256')('JWT-04: HS256 tokens HMAC-signed with the public key from /.well-known/jwks.json are refused', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    const jwks = (res.json() as { keys: Array<Record<string, string>> }).keys;
    const jwk = jwks.find((k) => k.kid === kid);
    expect(jwk, 'the token kid is published').toBeDefined();
    const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const secrets: Array<[string, RawKey]> = [
      ['SPKI PEM', pem],
      ['SPKI PEM trimmed', pem.trim()],
      ['SPKI DER', publicKey.export({ type: 'spki', format: 'der' })],
      ['JWK JSON as served', JSON.stringify(jwk)],
      ['JWKS document', res.body],
    ];
    if (jwk!.n) {
      secrets.push(['PKCS#1 PEM', publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()]);
      secrets.push(['raw n', Buffer.from(jwk!.n, 'base64url')]);
    }
    if (jwk!.x) {
      secrets.push(['raw x', Buffer.from(jwk!.x, 'base64url')]);
      secrets.push(['x text', jwk!.x]);
    }
    if (jwk!.y) secrets.push(['04||x||y', Buffer.concat([Buffer.from([4]), Buffer.from(jwk!.x!, 'base64url'), Buffer.from(jwk!.y, 'base64url')])]);
    const cases = secrets.map(([label, secret]) => [label, forge({ ...realHeader, alg: 'HS256' }, realPayload, 'HS256', secret)] as const);
    await expectAllRefused(t, cases);
  });

  it('JWT-05: header-supplied keys (jwk, jku, x5u, x5c) are not trusted', async () => {
    const { signKey, jwk } = attacker(alg);
    const headers: Array<[string, Record<string, unknown>]> = [
      ['jwk, our kid', { ...realHeader, jwk }],
      ['jwk, attacker kid', { ...realHeader, kid: 'attacker', jwk }],
      ['jwk, no kid', { alg, typ: 'at+jwt', jwk }],
      ['jku, our kid', { ...realHeader, jku: 'http://127.0.0.1:9/jwks.json' }],
      ['jku, attacker kid', { ...realHeader, kid: 'attacker', jku: 'https://attacker.example/jwks.json' }],
      ['x5u, our kid', { ...realHeader, x5u: 'https://attacker.example/cert.pem' }],
      ['x5c, our kid', { ...realHeader, x5c: [randomBytes(300).toString('base64')] }],
    ];
    await expectAllRefused(
      t,
      headers.map(([label, h]) => [label, forge(h, realPayload, alg, signKey)] as const),
    );
  });

  it('JWT-06: kid with path traversal, SQL or shell is refused, fast', async () => {
    const kids: unknown[] = ['../../../../dev/null', "' OR 1=1--", '|sleep 10', '$(sleep 10)', '__proto__', 'A'.repeat(4_000), 42, null];
    const cases = kids.map((k) => [`kid ${JSON.stringify(k).slice(0, 30)}`, forge({ ...realHeader, kid: k }, realPayload, alg, serverKey)] as const);
    const started = performance.now();
    await expectAllRefused(t, cases);
    // A `sleep 10` that ran would take ten seconds; the whole batch must be request-fast.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('JWT-08: an HS256 token signed with a blank key is refused', async () => {
    const cases: Array<[string, string]> = [];
    for (const [label, key] of [
      ['empty', Buffer.alloc(0)],
      ['space', ' '],
      ['NUL', Buffer.from([0])],
    ] as const) {
      cases.push([`${label} key, our kid`, forge({ ...realHeader, alg: 'HS256' }, realPayload, 'HS256', key)]);
      cases.push([`${label} key, empty kid`, forge({ ...realHeader, alg: 'HS256', kid: '' }, realPayload, 'HS256', key)]);
    }
    await expectAllRefused(t, cases);
  });

  it('JWT-09: malformed tokens get 401, never 500', async () => {
    const [h, p, s] = parts;
    const hdr = b64json(realHeader);
    const signed = (headerB64: string, payloadB64: string) => forgeSegments(headerB64, payloadB64, alg, serverKey);
    const badUtf8 = (prefix: string, bytes: number[], suffix: string) => b64(Buffer.concat([Buffer.from(prefix), Buffer.from(bytes), Buffer.from(suffix)]));
    await expectAllRefused(t, [
      ['2 segments', `${h}.${p}`],
      ['4 segments', `${h}.${p}.${s}.${s}`],
      ['only dots', '..'],
      ['bad base64url +/', `${h}+/.${p}.${s}`],
      ['bad base64url padding', `${h}.${p}.${s}==`],
      ['bad base64url *', `${h}.${p}*.${s}`],
      ['header not JSON', `${b64('hello')}.${p}.${s}`],
      ['header array', `${b64json([realHeader])}.${p}.${s}`],
      ['payload array', signed(hdr, b64json([realPayload]))],
      ['payload number', signed(hdr, b64json(1))],
      ['payload string', signed(hdr, b64json('admin'))],
      ['payload null', signed(hdr, b64json(null))],
      ['header invalid UTF-8', signed(badUtf8(`{"alg":"${alg}","kid":"${kid}","typ":"at+jwt","x":"`, [0xff], '"}'), p)],
      ['payload invalid UTF-8', signed(hdr, badUtf8(JSON.stringify(realPayload).slice(0, -1) + ',"x":"', [0xc3, 0x28], '"}'))],
      ['100 KB token, real signature', signed(hdr, b64json({ ...realPayload, pad: 'x'.repeat(100 * 1024) }))],
      ['100 KB of A', 'A'.repeat(100 * 1024)],
    ]);
  });

  it('JWT-10: an ES256 signature of zeros (r = s = 0) is refused', async () => {
    const input = `${b64json({ ...realHeader, alg: 'ES256' })}.${parts[1]}`;
    const n = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');
    await expectAllRefused(t, [
      ['r = s = 0', `${input}.${b64(Buffer.alloc(64))}`],
      ['r = s = n', `${input}.${b64(Buffer.concat([n, n]))}`],
      ['DER zeros', `${input}.${b64(Buffer.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]))}`],
    ]);
  });

  it('CLM-06: a JWT signed by the server key but with typ JWT or no typ is refused', async () => {
    const { typ: _typ, ...noTyp } = realHeader;
    await expectAllRefused(t, [
      ['typ JWT', forge({ ...realHeader, typ: 'JWT' }, realPayload, alg, serverKey)],
      ['no typ', forge(noTyp, realPayload, alg, serverKey)],
    ]);
  });

  it('CLM-06: a refresh token used as an access token is refused, and an access token is no refresh token', async () => {
    const fresh = await signUp(t);
    expectRefusal(await me(t, { authorization: `Bearer ${fresh.refreshToken}` }));
    expectRefusal(await me(t, { 'x-access-token': fresh.refreshToken }));
    const refresh = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: fresh.accessToken } });
    // 401, or 400 where the access token is longer than a refresh token may be (RS256): never a grant.
    expect([400, 401], refresh.body).toContain(refresh.statusCode);
    expect(problemOf(refresh).code).toMatch(/^ERR_(AUTH_INVALID_REFRESH_TOKEN|VALIDATION)$/);
    // Neither misuse spent or broke the real tokens.
    expect((await me(t, fresh.auth)).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: fresh.refreshToken } })).statusCode).toBe(200);
  });

  it('CLM-05: the access token of a deleted user is refused', async () => {
    const victim = await signUp(t);
    const second = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: victim.username, password: PASSWORD } });
    expect(second.statusCode).toBe(200);
    const secondToken = (second.json() as { access_token: string }).access_token;
    // Both tokens work (and are now in the verified-token cache) before the deletion.
    expect((await me(t, victim.auth)).statusCode).toBe(200);
    expect((await me(t, { authorization: `Bearer ${secondToken}` })).statusCode).toBe(200);
    const del = await t.app.inject({ method: 'DELETE', url: `/users/${victim.id}`, headers: { authorization: `Bearer ${secondToken}` } });
    expect(del.statusCode).toBe(204);
    expectRefusal(await me(t, victim.auth));
    expectRefusal(await me(t, { authorization: `Bearer ${secondToken}` }));
    expectRefusal(await me(t, { 'x-access-token': victim.accessToken }));
  });

  it('CLM-05: the access token of a disabled user is refused', async () => {
    const admin = await signUp(t, { admin: true });
    const victim = await signUp(t);
    expect((await me(t, victim.auth)).statusCode).toBe(200);
    const patch = await t.app.inject({ method: 'PATCH', url: `/users/${victim.id}`, headers: admin.auth, payload: { disabled: true } });
    expect(patch.statusCode).toBe(200);
    expectRefusal(await me(t, victim.auth));
  });

  it('the JWKS publishes kid, alg and use:"sig" and no private members (empty in HS256 mode)', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    const keys = (res.json() as { keys: Array<Record<string, unknown>> }).keys;
    if (alg === 'HS256') {
      expect(keys).toEqual([]);
      expect(res.body).not.toContain(env.JWT_SECRET!);
      expect(res.body).not.toContain(b64(Buffer.from(env.JWT_SECRET!)));
      return;
    }
    expect(keys.length).toBeGreaterThanOrEqual(1);
    expect(keys.map((k) => k.kid)).toContain(kid);
    for (const key of keys) {
      expect(key).toMatchObject({ kid: expect.any(String), alg, use: 'sig', kty: expect.any(String) });
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) expect(key, `private member ${member}`).not.toHaveProperty(member);
      // Each entry must be a usable public key.
      expect(createPublicKey({ key: key as JsonWebKey, format: 'jwk' }).type).toBe('public');
    }
  });

  // Contract change (issue 8): discovery moved to RFC 8414; (issue 15) the OIDC path serves the same document now that the provider exists.
  it('/.well-known/oauth-authorization-server has issuer, jwks_uri and token_endpoint; openid-configuration names the same issuer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as Record<string, unknown>;
    expect(doc.issuer).toBe(t.config.jwt.issuer);
    expect(doc.issuer).toBe(realPayload.iss);
    expect(doc.jwks_uri).toBe(`${t.config.jwt.issuer}/.well-known/jwks.json`);
    expect(typeof doc.token_endpoint).toBe('string');
    expect(String(doc.token_endpoint).startsWith(t.config.jwt.issuer)).toBe(true);
    const oidc = await t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
    expect(oidc.statusCode).toBe(200);
    expect(oidc.json()).toMatchObject({ issuer: doc.issuer, jwks_uri: doc.jwks_uri });
    expect(oidc.json().id_token_signing_alg_values_supported[0]).toBe('RS256');
  });

  it('CLM-03: a token from an app with another JWT_AUDIENCE (same keys, same database) is refused', async () => {
    const other = await buildTestApp({ ...env, JWT_AUDIENCE: 'another-api' }, { storage: t.storage });
    try {
      const stranger = await signUp(other);
      const payload = decode(stranger.accessToken.split('.')[1]!);
      expect(payload.aud).toBe('another-api');
      expect(decode(stranger.accessToken.split('.')[0]!).kid).toBe(kid); // same key: only aud differs
      expect((await me(other, stranger.auth)).statusCode).toBe(200);
      expectRefusal(await me(t, stranger.auth));
      expectRefusal(await me(other, user.auth));
    } finally {
      await other.app.close(); // the storage belongs to `t`
    }
  });

  it('CLM-03: a token from an app with another JWT_ISSUER (same keys, same database) is refused', async () => {
    const other = await buildTestApp({ ...env, JWT_ISSUER: 'http://impostor.test' }, { storage: t.storage });
    try {
      const stranger = await signUp(other);
      expect((await me(other, stranger.auth)).statusCode).toBe(200);
      expectRefusal(await me(t, stranger.auth));
    } finally {
      await other.app.close();
    }
  });

  it('the x-access-token header is accepted', async () => {
    const res = await me(t, { 'x-access-token': user.accessToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: user.id });
  });

  it('AC-01: Basic credentials, an empty Bearer and no token at all get 401 with a Bearer challenge', async () => {
    const basic = Buffer.from(`${user.username}:${PASSWORD}`).toString('base64');
    for (const authorization of [`Basic ${basic}`, 'Bearer ', 'Bearer', 'Bearer  ', `Token ${user.accessToken}`, user.accessToken, `Basic ${user.accessToken}`]) {
      const res = await me(t, { authorization });
      expect(refusalProblem(res), `Authorization: ${authorization.slice(0, 30)}`).toBeNull();
    }
    expectRefusal(await me(t, { 'x-access-token': '' }));
    expectRefusal(await me(t, {}));
  });

  it('the Bearer scheme: any case, spaces around the token; whitespace inside it is a malformed header, even around a valid token', async () => {
    for (const authorization of [`bearer ${user.accessToken}`, `BEARER   ${user.accessToken}`, `Bearer ${user.accessToken}   `]) {
      expect((await me(t, { authorization })).statusCode, authorization.slice(0, 12)).toBe(200);
    }
    const [h, p, sig] = parts;
    for (const token of [`${user.accessToken} ${user.accessToken}`, `${user.accessToken}\t`, `${h}.${p} .${sig}`, `${h}. ${p}.${sig}`, `${user.accessToken}\u00a0`]) {
      const res = await me(t, { authorization: `Bearer ${token}` });
      expectRefusal(res);
      expect(problemOf(res).detail, JSON.stringify(token.slice(-12))).toMatch(/Use the Bearer scheme/);
    }
    // A token that is simply wrong is not called malformed: one character of its signature changed
    // (in the middle, where every character carries six bits of it, so the signature is another).
    const wrong = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    expect(problemOf(await me(t, { authorization: `Bearer ${h}.${p}.${wrong}` })).detail).not.toMatch(/Bearer scheme/);
  });

  it('CLM-01: once the clock passes exp + leeway the token is refused as expired', async () => {
    // Runs last in this mode: it moves the app's clock.
    const fresh = await signUp(t);
    expect((await me(t, fresh.auth)).statusCode).toBe(200);
    t.clock.advance(t.config.jwt.accessTokenTtlMs + t.config.jwt.clockLeewayMs + 1_000);
    const res = await me(t, fresh.auth);
    expectRefusal(res);
    expect(problemOf(res).code).toBe('ERR_AUTH_TOKEN_EXPIRED');
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});

describe('JWT-07: the HMAC secret', () => {
  it('JWT-07/JWT-08: HS256 mode refuses to start with a blank, short or low-entropy secret', async () => {
    for (const secret of ['', ' '.repeat(40), 'secret', 'a'.repeat(64), randomBytes(16).toString('hex')]) {
      await expect(buildTestApp({ JWT_ALGORITHM: 'HS256', JWT_SECRET: secret }), `secret ${JSON.stringify(secret)}`).rejects.toThrow();
    }
  });
});
