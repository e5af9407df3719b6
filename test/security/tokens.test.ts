import { createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, b64json, decode, rawSign } from '../helpers/forge.js';
import {
  adminLogin,
  api,
  eventually,
  rawRequest,
  register,
  socketRequest,
  signUp,
  snapshot,
  snapshotDiff,
  useSecurityServer,
  type Account,
  type ApiResponse,
  type SecurityServer,
} from './server.js';

/**
 * The token attacks of SECURITY.md (JWT-01..10, CLM-01..06) against the RUNNING server, over real
 * HTTP. Every token is forged here with node:crypto; the service's code never helps to make the
 * tokens it is asked to refuse. Every refusal must be a 401 with `WWW-Authenticate: Bearer` and a
 * problem+json body, on GET /auth/me and on the other protected routes alike.
 */

// ---------------------------------------------------------------------------------------------
// The forger's toolkit

type Signer = (input: string) => Buffer;
const hs256 =
  (key: Buffer | string): Signer =>
  (input) =>
    rawSign('HS256', key, input);
const eddsa =
  (key: KeyObject): Signer =>
  (input) =>
    rawSign('EdDSA', key, input);
const es256 =
  (key: KeyObject): Signer =>
  (input) =>
    rawSign('ES256', key, input);
const fixed =
  (signature: Buffer): Signer =>
  () =>
    signature;

/** Compact JWS with exactly this header and payload (nothing added). */
function jws(header: Record<string, unknown>, payload: unknown, signer: Signer): string {
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${b64(signer(input))}`;
}

const attackerEd = generateKeyPairSync('ed25519');
const attackerEs = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const attackerJwk = { ...attackerEd.publicKey.export({ format: 'jwk' }), alg: 'EdDSA', use: 'sig', kid: 'attacker-key' };
const attackerSpkiDer = attackerEd.publicKey.export({ type: 'spki', format: 'der' });

// P-256 group order n: r = s = n is the other "psychic signature" (CVE-2022-21449 accepted both).
const P256_ORDER = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');

// ---------------------------------------------------------------------------------------------
// What a refusal must look like

const PROTECTED: ReadonlyArray<readonly [string, string]> = [
  ['GET', '/auth/me'],
  ['GET', '/items'],
  ['GET', '/users'],
  ['GET', '/auth/sessions'],
  ['GET', '/admin/audit'],
  ['PATCH', '/auth/me'],
];

function refusalProblem(res: ApiResponse): string | null {
  if (res.status !== 401) return `status ${res.status}: ${res.text.slice(0, 200)}`;
  const challenge = res.headers.get('www-authenticate');
  if (!challenge?.startsWith('Bearer')) return `www-authenticate ${String(challenge)}`;
  if (!res.headers.get('content-type')?.startsWith('application/problem+json')) return `content-type ${String(res.headers.get('content-type'))}`;
  const body = res.json as { status?: unknown; code?: unknown } | undefined;
  if (body?.status !== 401 || typeof body.code !== 'string') return `body ${res.text.slice(0, 200)}`;
  if (/\bat .*\(.*:\d+:\d+\)|node_modules|\/work\/|SQLITE|SqliteError/.test(res.text)) return `leaks internals: ${res.text.slice(0, 200)}`;
  return null;
}

/**
 * Sends every [label, token] to every protected route (GET /auth/me first, which has the in-memory
 * fast path), as `Authorization: Bearer` and, for /auth/me, as `x-access-token` too. Fails listing
 * every response that was not a proper 401.
 */
async function expectAllRefused(server: SecurityServer, cases: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const failures: string[] = [];
  for (const [label, token] of cases) {
    for (const [method, path] of PROTECTED) {
      const res = await api(server, method, path, { token, ...(method === 'PATCH' ? { body: { name: 'pwned' } } : {}) });
      const problem = refusalProblem(res);
      if (problem) failures.push(`${label} → ${method} ${path}: ${problem}`);
    }
    const alt = await api(server, 'GET', '/auth/me', { headers: { 'x-access-token': token } });
    const problem = refusalProblem(alt);
    if (problem) failures.push(`${label} → x-access-token GET /auth/me: ${problem}`);
  }
  expect(failures).toEqual([]);
}

// ---------------------------------------------------------------------------------------------

describe('token attacks against the running server (EdDSA, the default)', () => {
  const ctx = useSecurityServer();
  const es = useSecurityServer({ JWT_ALGORITHM: 'ES256', ACCESS_TOKEN_TTL: '3s', JWT_CLOCK_LEEWAY: '1s' });
  let alice: Account;
  let bob: Account;
  let admin: Account;
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  let parts: [string, string, string];
  let kid: string;
  let jwks: { keys: JsonWebKey[] };
  /** Alice's real claims with a comfortable expiry: only what a test changes makes it invalid. */
  const claims = (patch: Record<string, unknown> = {}) => ({ ...payload, iat: Math.floor(Date.now() / 1000) - 5, exp: Math.floor(Date.now() / 1000) + 600, ...patch });

  // JWT-05: a listener that would see any key fetch the server made for a jku or x5u.
  let keyHost: Server;
  let keyHostUrl: string;
  const keyHostHits: string[] = [];

  beforeAll(async () => {
    keyHost = createServer((req, res) => {
      keyHostHits.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [attackerJwk] }));
    });
    await new Promise<void>((resolve) => keyHost.listen(0, '127.0.0.1', resolve));
    const address = keyHost.address();
    keyHostUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const server = ctx.server;
    [alice, bob, admin] = await Promise.all([signUp(server, 'alice'), signUp(server, 'bob'), adminLogin(server)]);
    parts = alice.access.split('.') as [string, string, string];
    header = decode(parts[0]);
    payload = decode(parts[1]);
    kid = String(header.kid);
    jwks = (await api(server, 'GET', '/.well-known/jwks.json')).json as { keys: JsonWebKey[] };
  });

  afterAll(async () => {
    if (keyHost) await new Promise<void>((resolve) => keyHost.close(() => resolve()));
  });

  it('positive control: the real token is accepted everywhere a user may go, and the JWKS has the key', async () => {
    const server = ctx.server;
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(jwks.keys.map((k) => k.kid)).toContain(kid);
    for (const [method, path] of PROTECTED.filter(([m, p]) => m === 'GET' && p !== '/admin/audit')) {
      expect((await api(server, method, path, { token: alice.access })).status, `${method} ${path}`).toBe(200);
    }
    // Twice: the second GET /auth/me is answered by the in-memory fast path.
    expect((await api(server, 'GET', '/auth/me', { token: alice.access })).status).toBe(200);
    expect((await api(server, 'GET', '/auth/me', { headers: { 'x-access-token': alice.access } })).status).toBe(200);
  });

  it('JWT-01: an alg other than the pinned EdDSA is refused (HS*, RS*, ES*, PS*, spelling variants)', async () => {
    const cases: [string, string][] = [];
    for (const alg of ['HS256', 'HS384', 'HS512', 'RS256', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'eddsa', 'EDDSA', 'Ed25519', 'EdDSA ', '']) {
      cases.push([`alg ${JSON.stringify(alg)} + original signature`, `${b64json({ ...header, alg })}.${parts[1]}.${parts[2]}`]);
      cases.push([`alg ${JSON.stringify(alg)} + attacker HMAC`, jws({ ...header, alg }, claims(), hs256('attacker secret'))]);
    }
    cases.push(['alg missing', jws({ typ: 'at+jwt', kid }, claims(), eddsa(attackerEd.privateKey))]);
    cases.push(['alg is an array', jws({ ...header, alg: ['EdDSA'] }, claims(), eddsa(attackerEd.privateKey))]);
    cases.push(['alg is null', `${b64json({ ...header, alg: null })}.${parts[1]}.${parts[2]}`]);
    await expectAllRefused(ctx.server, cases);
  });

  it('JWT-02: alg none / None / NONE / nOnE with an empty (or any) signature is refused', async () => {
    const cases: [string, string][] = [];
    for (const alg of ['none', 'None', 'NONE', 'nOnE', 'none ']) {
      for (const h of [{ alg, typ: 'at+jwt', kid }, { alg, typ: 'at+jwt' }, { alg }]) {
        for (const body of [claims(), claims({ role: 'admin' })]) {
          const input = `${b64json(h)}.${b64json(body)}`;
          cases.push([`${JSON.stringify(h)} h.p.`, `${input}.`]);
          cases.push([`${JSON.stringify(h)} h.p`, input]);
        }
        cases.push([`${JSON.stringify(h)} + real signature`, `${b64json(h)}.${parts[1]}.${parts[2]}`]);
      }
    }
    await expectAllRefused(ctx.server, cases);
  });

  it('JWT-03: tampered payload or header, empty, truncated, flipped or borrowed signature are refused', async () => {
    const bobParts = bob.access.split('.');
    const flipped = Buffer.from(parts[2], 'base64url');
    flipped[10] = flipped[10]! ^ 0x01;
    const cases: [string, string][] = [
      ['empty signature h.p.', `${parts[0]}.${parts[1]}.`],
      ['payload role → admin, original signature', `${parts[0]}.${b64json({ ...payload, role: 'admin' })}.${parts[2]}`],
      ['payload sub → bob, original signature', `${parts[0]}.${b64json({ ...payload, sub: bob.id })}.${parts[2]}`],
      ['payload exp +1 year, original signature', `${parts[0]}.${b64json({ ...payload, exp: Number(payload.exp) + 31_536_000 })}.${parts[2]}`],
      ['payload re-encoded with a space, original signature', `${parts[0]}.${b64(JSON.stringify(payload, null, 1))}.${parts[2]}`],
      ['header typ → JWT, original signature', `${b64json({ ...header, typ: 'JWT' })}.${parts[1]}.${parts[2]}`],
      ['header with an extra member, original signature', `${b64json({ ...header, x: 1 })}.${parts[1]}.${parts[2]}`],
      ['signature truncated by 1 char', `${parts[0]}.${parts[1]}.${parts[2].slice(0, -1)}`],
      ['signature truncated to half', `${parts[0]}.${parts[1]}.${parts[2].slice(0, parts[2].length / 2)}`],
      ['signature with one bit flipped', `${parts[0]}.${parts[1]}.${b64(flipped)}`],
      ['signature doubled', `${parts[0]}.${parts[1]}.${parts[2]}${parts[2]}`],
      ['signature of 64 zero bytes', `${parts[0]}.${parts[1]}.${b64(Buffer.alloc(64))}`],
      ["bob's signature on alice's header and payload", `${parts[0]}.${parts[1]}.${bobParts[2]}`],
      ["alice's signature on bob's payload", `${bobParts[0]}.${bobParts[1]}.${parts[2]}`],
      ['payload signed again by an attacker Ed25519 key under the real kid', jws(header, claims({ role: 'admin' }), eddsa(attackerEd.privateKey))],
    ];
    await expectAllRefused(ctx.server, cases);
    // Tampering did not spoil the real token.
    expect((await api(ctx.server, 'GET', '/auth/me', { token: alice.access })).status).toBe(200);
  });

  it('JWT-04: HS256 signed with the published public key (key confusion) is refused, in every encoding of that key', async () => {
    const published = jwks.keys.find((k) => k.kid === kid)!;
    expect(published.kty).toBe('OKP');
    const publicKey = createPublicKey({ key: published, format: 'jwk' });
    const encodings: [string, Buffer | string][] = [
      ['raw x bytes', Buffer.from(String(published.x), 'base64url')],
      ['x as text', String(published.x)],
      ['JWK JSON', JSON.stringify(published)],
      ['SPKI PEM', publicKey.export({ type: 'spki', format: 'pem' }).toString()],
      ['SPKI PEM without trailing newline', publicKey.export({ type: 'spki', format: 'pem' }).toString().trim()],
      ['SPKI DER', publicKey.export({ type: 'spki', format: 'der' })],
      ['JWKS document', JSON.stringify(jwks)],
    ];
    const cases: [string, string][] = [];
    for (const [what, key] of encodings) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        cases.push([`${alg} with ${what}`, jws({ alg, typ: 'at+jwt', kid }, claims(), hs256(key))]);
        cases.push([`${alg} with ${what}, role admin`, jws({ alg, typ: 'at+jwt', kid }, claims({ role: 'admin' }), hs256(key))]);
      }
    }
    await expectAllRefused(ctx.server, cases);
  });

  it('JWT-05: header-supplied keys (jwk, jku, x5u, x5c) are never trusted and never fetched', async () => {
    const sign = eddsa(attackerEd.privateKey);
    const x5c = [attackerSpkiDer.toString('base64')];
    const cases: [string, string][] = [];
    for (const k of [kid, 'attacker-key', undefined]) {
      const base = { alg: 'EdDSA', typ: 'at+jwt', ...(k === undefined ? {} : { kid: k }) };
      cases.push([`jwk (kid ${k})`, jws({ ...base, jwk: attackerJwk }, claims({ role: 'admin' }), sign)]);
      cases.push([`jku (kid ${k})`, jws({ ...base, jku: `${keyHostUrl}/jwks.json` }, claims({ role: 'admin' }), sign)]);
      cases.push([`x5u (kid ${k})`, jws({ ...base, x5u: `${keyHostUrl}/cert.pem` }, claims({ role: 'admin' }), sign)]);
      cases.push([`x5c (kid ${k})`, jws({ ...base, x5c }, claims({ role: 'admin' }), sign)]);
      cases.push([`jwk + jku + x5u + x5c (kid ${k})`, jws({ ...base, jwk: attackerJwk, jku: `${keyHostUrl}/jwks.json`, x5u: `${keyHostUrl}/x5u`, x5c }, claims(), sign)]);
      cases.push([`jku with a kid the key host serves (kid ${k})`, jws({ ...base, jku: `${keyHostUrl}/.well-known/jwks.json?kid=${k}` }, claims(), sign)]);
    }
    // HS256 "jwk" of type oct carrying the attacker's secret.
    cases.push(['oct jwk', jws({ alg: 'HS256', typ: 'at+jwt', kid, jwk: { kty: 'oct', k: b64('attacker secret') } }, claims(), hs256('attacker secret'))]);
    await expectAllRefused(ctx.server, cases);
    expect(keyHostHits, 'the server fetched a header-supplied key URL').toEqual([]);
  });

  it('JWT-06: kid with path traversal, SQL or shell injection → 401, each well under a second', async () => {
    const jwksBefore = (await api(ctx.server, 'GET', '/.well-known/jwks.json')).text;
    const kids = [
      '../../dev/null',
      '../../../../../../../../dev/null',
      '/dev/null',
      '..%2F..%2Fdev%2Fnull',
      '/proc/self/environ',
      "' OR 1=1--",
      `${kid}' OR '1'='1`,
      "x' UNION SELECT private_key_pem FROM signing_keys--",
      "'; DROP TABLE signing_keys;--",
      '|sleep 10',
      '; sleep 10',
      '$(sleep 10)',
      '`sleep 10`',
      '&& sleep 10 &&',
      'kid\u0000',
      'k'.repeat(4000),
      '__proto__',
      'constructor',
    ];
    const failures: string[] = [];
    for (const k of kids) {
      for (const [what, signer] of [
        ['HS256 with an empty key (the /dev/null trick)', hs256('')],
        ['EdDSA with an attacker key', eddsa(attackerEd.privateKey)],
      ] as const) {
        const token = jws({ alg: what.startsWith('HS') ? 'HS256' : 'EdDSA', typ: 'at+jwt', kid: k }, claims({ role: 'admin' }), signer);
        for (const path of ['/auth/me', '/admin/audit']) {
          const started = performance.now();
          const res = await api(ctx.server, 'GET', path, { token });
          const ms = performance.now() - started;
          const problem = refusalProblem(res);
          if (problem) failures.push(`kid ${JSON.stringify(k.slice(0, 40))} ${what} ${path}: ${problem}`);
          if (ms >= 1000) failures.push(`kid ${JSON.stringify(k.slice(0, 40))} ${what} ${path}: took ${Math.round(ms)} ms`);
        }
      }
    }
    expect(failures).toEqual([]);
    // Nothing happened to the keys either.
    expect((await api(ctx.server, 'GET', '/.well-known/jwks.json')).text).toBe(jwksBefore);
    expect((await api(ctx.server, 'GET', '/auth/me', { token: alice.access })).status).toBe(200);
  });

  it('JWT-08: HS256 signed with a blank key (empty string, empty buffer, zero bytes, spaces) is refused', async () => {
    const cases: [string, string][] = [];
    for (const [what, key] of [
      ['""', ''],
      ['empty buffer', Buffer.alloc(0)],
      ['32 zero bytes', Buffer.alloc(32)],
      ['spaces', '    '],
      ['"null"', 'null'],
      ['"undefined"', 'undefined'],
    ] as const) {
      for (const h of [
        { alg: 'HS256', typ: 'at+jwt', kid },
        { alg: 'HS256', typ: 'at+jwt' },
        { alg: 'HS256', typ: 'at+jwt', kid: '' },
      ]) {
        cases.push([`${what} ${JSON.stringify(h)}`, jws(h, claims({ role: 'admin' }), hs256(key))]);
      }
    }
    await expectAllRefused(ctx.server, cases);
  });

  it('JWT-09: malformed tokens (2/4 segments, bad base64url, non-JSON, non-UTF-8, huge) → 401, never 5xx', async () => {
    const sign = eddsa(attackerEd.privateKey);
    const seg = (raw: Buffer | string) => b64(raw);
    const cases: [string, string][] = [
      ['1 segment', parts[0]],
      ['2 segments h.p', `${parts[0]}.${parts[1]}`],
      ['4 segments', `${alice.access}.${parts[2]}`],
      ['5 segments (JWE shape)', `${parts[0]}.${parts[1]}.${parts[2]}.${parts[2]}.${parts[2]}`],
      ['trailing dot', `${alice.access}.`],
      ['leading dot', `.${alice.access}`],
      ['only dots', '..'],
      ['three dots', '...'],
      ['bad base64url chars', '!!!!.@@@@.####'],
      [
        'standard base64 with + and / and padding',
        `${Buffer.from(JSON.stringify(header)).toString('base64')}.${Buffer.from(JSON.stringify(payload)).toString('base64')}.${parts[2]}`,
      ],
      ['header not JSON', `${seg('not json at all')}.${parts[1]}.${parts[2]}`],
      ['payload not JSON', `${parts[0]}.${seg('{"sub":')}.${parts[2]}`],
      ['payload a JSON array', `${parts[0]}.${seg('[1,2,3]')}.${parts[2]}`],
      ['payload null', `${parts[0]}.${seg('null')}.${parts[2]}`],
      ['payload a number', `${parts[0]}.${seg('1e999')}.${parts[2]}`],
      ['payload a string', `${parts[0]}.${seg('"admin"')}.${parts[2]}`],
      ['header an array', `${seg('["EdDSA"]')}.${parts[1]}.${parts[2]}`],
      ['header null', `${seg('null')}.${parts[1]}.${parts[2]}`],
      ['header non-UTF-8 bytes', `${seg(Buffer.from([0xff, 0xfe, 0xfd, 0x7b, 0x7d]))}.${parts[1]}.${parts[2]}`],
      ['payload non-UTF-8 bytes', `${parts[0]}.${seg(Buffer.from([0xc3, 0x28, 0xa0, 0xa1]))}.${parts[2]}`],
      ['payload with a lone surrogate', jws(header, { ...claims(), sub: '\ud800' }, sign)],
      ['payload with duplicate keys', `${parts[0]}.${seg(`{"sub":"${bob.id}",${JSON.stringify(payload).slice(1)}`)}.${parts[2]}`],
      ['payload __proto__ role admin', `${parts[0]}.${seg(`{"__proto__":{"role":"admin"},${JSON.stringify(payload).slice(1)}`)}.${parts[2]}`],
      ['exp as a string', jws(header, claims({ exp: '9999999999' }), sign)],
      ['exp Infinity-ish', jws(header, claims({ exp: 1e308 }), sign)],
      ['10 KB token', `${parts[0]}.${b64('x'.repeat(7500))}.${parts[2]}`],
      ['deeply nested payload', `${parts[0]}.${seg('['.repeat(5000) + ']'.repeat(5000))}.${parts[2]}`],
      ['random garbage', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.AAAA'],
      ['the literal "null"', 'null'],
      ['the literal "undefined"', 'undefined'],
    ];
    await expectAllRefused(ctx.server, cases);
  });

  it('JWT-09: a 100 KB token never gets a 5xx and the server stays up (over 16 KB node answers 431 itself)', async () => {
    const huge = `${parts[0]}.${b64('x'.repeat(75_000))}.${parts[2]}`;
    expect(huge.length).toBeGreaterThan(100_000);
    for (const name of ['authorization', 'x-access-token']) {
      const res = await socketRequest(ctx.server, { method: 'GET', path: '/auth/me', headers: [name, name === 'authorization' ? `Bearer ${huge}` : huge] });
      expect(res.status, res.body.slice(0, 200)).toBeGreaterThanOrEqual(400);
      expect(res.status, res.body.slice(0, 200)).toBeLessThan(500);
      expect([401, 431]).toContain(res.status);
      expect(res.body).not.toMatch(/\bat .*\(.*:\d+:\d+\)|node_modules|\/work\//);
    }
    // Just under node's header limit: the service itself must refuse it with a 401.
    const big = `${parts[0]}.${b64('x'.repeat(11_000))}.${parts[2]}`;
    const res = await rawRequest(ctx.server, { method: 'GET', path: '/auth/me', headers: ['authorization', `Bearer ${big}`] });
    expect(res.status, res.body.slice(0, 200)).toBe(401);
    expect((await api(ctx.server, 'GET', '/health')).status).toBe(200);
  });

  it('JWT-10: the ES256 psychic signature (r = s = 0, and r = s = n) is refused by an ES256 server', async () => {
    const server = es.server;
    const carol = await signUp(server, 'carol');
    // Positive control right away: the access tokens of this server live 3 s (+1 s leeway).
    expect((await api(server, 'GET', '/auth/me', { token: carol.access })).status).toBe(200);
    const [h, p] = carol.access.split('.') as [string, string, string];
    const esHeader = decode(h);
    expect(esHeader.alg).toBe('ES256');
    const esClaims = { ...decode(p), exp: Math.floor(Date.now() / 1000) + 600, role: 'admin' };
    const psychic: [string, Buffer][] = [
      ['r = s = 0 (IEEE P1363, 64 zero bytes)', Buffer.alloc(64)],
      ['r = s = 0 (DER 3006020100020100)', Buffer.from('3006020100020100', 'hex')],
      ['r = s = n (the group order)', Buffer.concat([P256_ORDER, P256_ORDER])],
      ['r = 0, s = 1', Buffer.concat([Buffer.alloc(32), Buffer.alloc(31), Buffer.from([1])])],
      ['r = s = 0 (32 zero bytes)', Buffer.alloc(32)],
      ['r = s = 0 (one zero byte)', Buffer.alloc(1)],
    ];
    const cases: [string, string][] = [];
    for (const [what, signature] of psychic) {
      cases.push([`${what} on forged claims`, jws(esHeader, esClaims, fixed(signature))]);
      cases.push([`${what} on the real header and payload`, `${h}.${p}.${b64(signature)}`]);
    }
    cases.push(['ES256 signed by an attacker P-256 key under the real kid', jws(esHeader, esClaims, es256(attackerEs.privateKey))]);
    await expectAllRefused(server, cases);

    // And against the EdDSA server: a psychic ES256 token, and an all-zero Ed25519 signature.
    await expectAllRefused(ctx.server, [
      ['ES256 r = s = 0 under the EdDSA kid', jws({ alg: 'ES256', typ: 'at+jwt', kid }, claims({ role: 'admin' }), fixed(Buffer.alloc(64)))],
      ['ES256 r = s = 0 with no kid', jws({ alg: 'ES256', typ: 'at+jwt' }, claims({ role: 'admin' }), fixed(Buffer.alloc(64)))],
      ['EdDSA all-zero signature', jws(header, claims({ role: 'admin' }), fixed(Buffer.alloc(64)))],
    ]);
  });

  it("forged claims: role admin or another user's sub, signed with a random key, are refused (401, not 403 or 200)", async () => {
    const randomKey = generateKeyPairSync('ed25519').privateKey;
    const bobClaims = decode(bob.access.split('.')[1]!);
    const cases: [string, string][] = [
      ['role admin', jws(header, claims({ role: 'admin' }), eddsa(randomKey))],
      ['sub and sid of bob', jws(header, claims({ sub: bob.id, sid: bobClaims.sid }), eddsa(randomKey))],
      ['sub of the admin, role admin', jws(header, claims({ sub: admin.id, role: 'admin' }), eddsa(randomKey))],
      ['role superuser', jws(header, claims({ role: 'superuser' }), eddsa(randomKey))],
      ['no kid, role admin', jws({ alg: 'EdDSA', typ: 'at+jwt' }, claims({ role: 'admin' }), eddsa(randomKey))],
    ];
    await expectAllRefused(ctx.server, cases);
    // The admin route still tells a real user apart: 403 for alice, 200 for the admin.
    expect((await api(ctx.server, 'GET', '/admin/audit', { token: alice.access })).status).toBe(403);
    expect((await api(ctx.server, 'GET', '/admin/audit', { token: admin.access })).status).toBe(200);
  });

  it('CLM-01/02/03/04: expired, missing exp, future nbf, wrong or missing iss/aud, non-string iss/sub (random Ed25519 key) → 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = eddsa(generateKeyPairSync('ed25519').privateKey);
    const without = (name: string) => {
      const c: Record<string, unknown> = claims();
      delete c[name];
      return c;
    };
    const variants: [string, Record<string, unknown>][] = [
      ['expired an hour ago', claims({ iat: now - 7200, exp: now - 3600 })],
      ['exp missing', without('exp')],
      ['nbf in an hour', claims({ nbf: now + 3600 })],
      ['iat in an hour', claims({ iat: now + 3600 })],
      ['iss of another issuer', claims({ iss: 'https://evil.example' })],
      ['iss missing', without('iss')],
      ['iss a number', claims({ iss: 123 })],
      ['iss an array', claims({ iss: [payload.iss] })],
      ['aud of another audience', claims({ aud: 'another-api' })],
      ['aud missing', without('aud')],
      ['sub a number', claims({ sub: 1 })],
      ['sub an object', claims({ sub: { id: alice.id } })],
      ['sub missing', without('sub')],
    ];
    await expectAllRefused(
      ctx.server,
      variants.map(([what, c]) => [what, jws(header, c, sign)] as [string, string]),
    );
  });

  it("CLM-01/03: real tokens: one that expired (ACCESS_TOKEN_TTL 3s, leeway 1s), and another deployment's token", async () => {
    const dave = await signUp(es.server, 'dave');
    // Bounded polling: the token stops working once exp passes, and stays refused.
    const expired = await eventually(15_000, async () => (await api(es.server, 'GET', '/auth/me', { token: dave.access })).status === 401);
    expect(expired, 'a real token was still accepted 15 s after a 3 s lifetime').toBe(true);
    const res = await api(es.server, 'GET', '/auth/me', { token: dave.access });
    expect(refusalProblem(res)).toBeNull();
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    await expectAllRefused(es.server, [['expired real token', dave.access]]);
    // Each server's tokens name its own issuer and keys: neither accepts the other's.
    const fresh = await signUp(es.server, 'erin');
    await expectAllRefused(ctx.server, [['ES256 deployment token on the EdDSA deployment', fresh.access]]);
    await expectAllRefused(es.server, [['EdDSA deployment token on the ES256 deployment', alice.access]]);
  });

  it('CLM-05: the token of a deleted user is refused at once, also on the fast path, and a new account of the same name does not revive it', async () => {
    const server = ctx.server;
    const doomed = await signUp(server, 'doomed');
    expect((await api(server, 'GET', '/auth/me', { token: doomed.access })).status).toBe(200);
    expect((await api(server, 'GET', '/auth/me', { token: doomed.access })).status).toBe(200); // cached now
    expect((await api(server, 'DELETE', `/users/${doomed.id}`, { token: doomed.access })).status).toBe(204);
    await expectAllRefused(server, [['deleted user', doomed.access]]);
    const refresh = await api(server, 'POST', '/auth/refresh', { body: { refresh_token: doomed.refresh } });
    expect(refresh.status).toBe(401);
    // Same username and email again: a different account, and the old token stays dead.
    await register(server, { username: doomed.username, email: doomed.email, password: doomed.password });
    await expectAllRefused(server, [['deleted user after re-registration of the name', doomed.access]]);
    expect((await api(server, 'POST', '/auth/refresh', { body: { refresh_token: doomed.refresh } })).status).toBe(401);
  });

  it('CLM-05: the token of a user disabled by an admin is refused at once', async () => {
    const server = ctx.server;
    const frank = await signUp(server, 'frank');
    expect((await api(server, 'GET', '/auth/me', { token: frank.access })).status).toBe(200);
    expect((await api(server, 'GET', '/auth/me', { token: frank.access })).status).toBe(200);
    const disabled = await api(server, 'PATCH', `/users/${frank.id}`, { token: admin.access, body: { disabled: true } });
    expect(disabled.status, disabled.text).toBe(200);
    await expectAllRefused(server, [['disabled user', frank.access]]);
    expect((await api(server, 'POST', '/auth/refresh', { body: { refresh_token: frank.refresh } })).status).toBe(401);
  });

  it('CLM-06: a refresh token is no access token, and an access token is no refresh token', async () => {
    const server = ctx.server;
    const gina = await signUp(server, 'gina');
    await expectAllRefused(server, [
      ['refresh token as bearer', gina.refresh],
      ['refresh token id part as bearer', gina.refresh.split('.')[0]!],
    ]);
    const before = snapshot(server);
    const asRefresh = await api(server, 'POST', '/auth/refresh', { body: { refresh_token: gina.access } });
    expect([400, 401], asRefresh.text).toContain(asRefresh.status);
    const oauth = await api(server, 'POST', '/oauth/token', { body: { grant_type: 'refresh_token', refresh_token: gina.access } });
    expect(oauth.status, oauth.text).toBe(400);
    expect((oauth.json as { error?: string }).error).toMatch(/^invalid_(grant|request)$/);
    expect(snapshotDiff(before, snapshot(server))).toEqual([]);
    // Both of gina's real tokens still do their own job.
    expect((await api(server, 'GET', '/auth/me', { token: gina.access })).status).toBe(200);
    expect((await api(server, 'POST', '/auth/refresh', { body: { refresh_token: gina.refresh } })).status).toBe(200);
  });

  it('JWT-05: the key host received no request at any point, and the server is healthy', async () => {
    expect(keyHostHits).toEqual([]);
    expect((await api(ctx.server, 'GET', '/health')).status).toBe(200);
    const errors = ctx.server.logs
      .join('')
      .split('\n')
      .filter((line) => /"level":(50|60)/.test(line));
    expect(errors, 'the server logged errors').toEqual([]);
  });
});
