import { createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, b64json, decode, rawSign } from '../../../test/helpers/forge.js';
import { createVerifier, type Verifier } from '../src/index.js';
import { api, codeOf, jwksFetchesSeenBy, signUp, useGatehouse, type Account, type LiveServer } from './helpers.js';

/**
 * The forged-token matrix of the server's own security suite (test/security/tokens.test.ts),
 * turned on @gatehouse/verify: every token is made with node:crypto (test/helpers/forge.ts), never
 * by the code under test, and each must be refused with ERR_TOKEN_INVALID (or ERR_TOKEN_EXPIRED for
 * a correctly signed expired one): never accepted, never another kind of error (which an adapter
 * would turn into a 500).
 */

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
function jws(header: Record<string, unknown>, payload: unknown, signer: Signer): string {
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${b64(signer(input))}`;
}

const attackerEd = generateKeyPairSync('ed25519');
const attackerEs = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const attackerJwk = { ...attackerEd.publicKey.export({ format: 'jwk' }), alg: 'EdDSA', use: 'sig', kid: 'attacker-key' };
const P256_ORDER = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');

/** Every case refused with ERR_TOKEN_INVALID; lists the ones that were not. */
async function expectAllRefused(verifier: Verifier, cases: ReadonlyArray<readonly [string, string]>, code = 'ERR_TOKEN_INVALID'): Promise<void> {
  const failures: string[] = [];
  for (const [label, token] of cases) {
    const got = await codeOf(verifier.verify(token));
    if (got !== code) failures.push(`${label}: ${got || 'ACCEPTED'}`);
  }
  expect(failures).toEqual([]);
}

describe('forged tokens against @gatehouse/verify, keys from a live Gatehouse (EdDSA)', () => {
  const ctx = useGatehouse();
  let alice: Account;
  let bob: Account;
  let verifier: Verifier;
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  let parts: [string, string, string];
  let kid: string;
  let jwks: { keys: JsonWebKey[] };
  const claims = (patch: Record<string, unknown> = {}) => ({ ...payload, iat: Math.floor(Date.now() / 1000) - 5, exp: Math.floor(Date.now() / 1000) + 600, ...patch });

  // JWT-05: would see any fetch of a header-supplied key URL.
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
    keyHostUrl = `http://127.0.0.1:${(keyHost.address() as { port: number }).port}`;
    [alice, bob] = await Promise.all([signUp(ctx.server, 'alice'), signUp(ctx.server, 'bob')]);
    parts = alice.access.split('.') as [string, string, string];
    header = decode(parts[0]);
    payload = decode(parts[1]);
    kid = String(header.kid);
    jwks = (await api(ctx.server, 'GET', '/.well-known/jwks.json')).json as { keys: JsonWebKey[] };
    // A long cooldown: the made-up kids below may cost one key fetch, not one each.
    verifier = createVerifier({ issuer: ctx.server.url, audience: 'gatehouse', cooldown: 60_000 });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => keyHost.close(() => resolve()));
  });

  it('positive control: the real token verifies', async () => {
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect((await verifier.verify(alice.access)).sub).toBe(alice.id);
  });

  it("JWT-01: an alg other than the key's EdDSA is refused (HS*, RS*, ES*, PS*, spelling variants, missing, array, null)", async () => {
    const cases: [string, string][] = [];
    for (const alg of ['HS256', 'HS384', 'HS512', 'RS256', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'eddsa', 'EDDSA', 'Ed25519', 'EdDSA ', '']) {
      cases.push([`alg ${JSON.stringify(alg)} + original signature`, `${b64json({ ...header, alg })}.${parts[1]}.${parts[2]}`]);
      cases.push([`alg ${JSON.stringify(alg)} + attacker HMAC`, jws({ ...header, alg }, claims(), hs256('attacker secret'))]);
    }
    cases.push(['alg missing', jws({ typ: 'at+jwt', kid }, claims(), eddsa(attackerEd.privateKey))]);
    cases.push(['alg is an array', jws({ ...header, alg: ['EdDSA'] }, claims(), eddsa(attackerEd.privateKey))]);
    cases.push(['alg is null', `${b64json({ ...header, alg: null })}.${parts[1]}.${parts[2]}`]);
    await expectAllRefused(verifier, cases);
  });

  it('JWT-02: alg none in every spelling, with an empty, missing or real signature, is refused', async () => {
    const cases: [string, string][] = [];
    for (const alg of ['none', 'None', 'NONE', 'nOnE', 'none ']) {
      for (const h of [{ alg, typ: 'at+jwt', kid }, { alg, typ: 'at+jwt' }, { alg }]) {
        const input = `${b64json(h)}.${b64json(claims({ role: 'admin' }))}`;
        cases.push(
          [`${JSON.stringify(h)} h.p.`, `${input}.`],
          [`${JSON.stringify(h)} h.p`, input],
          [`${JSON.stringify(h)} + real signature`, `${b64json(h)}.${parts[1]}.${parts[2]}`],
        );
      }
    }
    await expectAllRefused(verifier, cases);
  });

  it('JWT-03: tampered payload or header, truncated, flipped or borrowed signatures are refused', async () => {
    const bobParts = bob.access.split('.');
    const flipped = Buffer.from(parts[2], 'base64url');
    flipped[10] = flipped[10]! ^ 0x01;
    await expectAllRefused(verifier, [
      ['empty signature', `${parts[0]}.${parts[1]}.`],
      ['payload role → admin', `${parts[0]}.${b64json({ ...payload, role: 'admin' })}.${parts[2]}`],
      ['payload sub → bob', `${parts[0]}.${b64json({ ...payload, sub: bob.id })}.${parts[2]}`],
      ['payload exp +1 year', `${parts[0]}.${b64json({ ...payload, exp: Number(payload.exp) + 31_536_000 })}.${parts[2]}`],
      ['payload re-encoded with a space', `${parts[0]}.${b64(JSON.stringify(payload, null, 1))}.${parts[2]}`],
      ['header typ → JWT', `${b64json({ ...header, typ: 'JWT' })}.${parts[1]}.${parts[2]}`],
      ['header with an extra member', `${b64json({ ...header, x: 1 })}.${parts[1]}.${parts[2]}`],
      ['signature truncated by 1 char', `${parts[0]}.${parts[1]}.${parts[2].slice(0, -1)}`],
      ['signature with one bit flipped', `${parts[0]}.${parts[1]}.${b64(flipped)}`],
      ['signature doubled', `${parts[0]}.${parts[1]}.${parts[2]}${parts[2]}`],
      ['signature of 64 zero bytes', `${parts[0]}.${parts[1]}.${b64(Buffer.alloc(64))}`],
      ["bob's signature on alice's token", `${parts[0]}.${parts[1]}.${bobParts[2]}`],
      ['attacker Ed25519 key under the real kid', jws(header, claims({ role: 'admin' }), eddsa(attackerEd.privateKey))],
      ['forged claims, no kid', jws({ alg: 'EdDSA', typ: 'at+jwt' }, claims({ role: 'admin' }), eddsa(attackerEd.privateKey))],
    ]);
    expect((await verifier.verify(alice.access)).sub).toBe(alice.id);
  });

  it('JWT-04: HS256 signed with the published public key (key confusion), in every encoding of that key, is refused', async () => {
    const published = jwks.keys.find((k) => k.kid === kid)!;
    const publicKey = createPublicKey({ key: published, format: 'jwk' });
    const encodings: [string, Buffer | string][] = [
      ['raw x bytes', Buffer.from(String(published.x), 'base64url')],
      ['x as text', String(published.x)],
      ['JWK JSON', JSON.stringify(published)],
      ['SPKI PEM', publicKey.export({ type: 'spki', format: 'pem' }).toString()],
      ['SPKI DER', publicKey.export({ type: 'spki', format: 'der' })],
      ['JWKS document', JSON.stringify(jwks)],
    ];
    const cases: [string, string][] = [];
    for (const [what, key] of encodings) {
      for (const alg of ['HS256', 'HS384', 'HS512']) cases.push([`${alg} with ${what}`, jws({ alg, typ: 'at+jwt', kid }, claims({ role: 'admin' }), hs256(key))]);
    }
    await expectAllRefused(verifier, cases);
  });

  it('JWT-05: header-supplied keys (jwk, jku, x5u, x5c) are never trusted and never fetched', async () => {
    const sign = eddsa(attackerEd.privateKey);
    const x5c = [attackerEd.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')];
    const cases: [string, string][] = [];
    for (const k of [kid, 'attacker-key', undefined]) {
      const base = { alg: 'EdDSA', typ: 'at+jwt', ...(k === undefined ? {} : { kid: k }) };
      cases.push([`jwk (kid ${k})`, jws({ ...base, jwk: attackerJwk }, claims({ role: 'admin' }), sign)]);
      cases.push([`jku (kid ${k})`, jws({ ...base, jku: `${keyHostUrl}/jwks.json` }, claims({ role: 'admin' }), sign)]);
      cases.push([`x5u (kid ${k})`, jws({ ...base, x5u: `${keyHostUrl}/cert.pem` }, claims({ role: 'admin' }), sign)]);
      cases.push([`x5c (kid ${k})`, jws({ ...base, x5c }, claims({ role: 'admin' }), sign)]);
    }
    cases.push(['oct jwk with the attacker secret', jws({ alg: 'HS256', typ: 'at+jwt', kid, jwk: { kty: 'oct', k: b64('attacker secret') } }, claims(), hs256('attacker secret'))]);
    await expectAllRefused(verifier, cases);
    expect(keyHostHits).toEqual([]);
  });

  it('JWT-06: kids with path traversal or injection are refused quickly, and all the made-up kids cost at most one key fetch', async () => {
    const before = await jwksFetchesSeenBy(ctx.server);
    const kids = [
      '../../dev/null',
      '/dev/null',
      '..%2F..%2Fdev%2Fnull',
      '/proc/self/environ',
      "' OR 1=1--",
      '$(sleep 10)',
      '`sleep 10`',
      'kid\u0000',
      'k'.repeat(4000),
      '__proto__',
      'constructor',
      'hasOwnProperty',
    ];
    const cases: [string, string][] = [];
    for (const k of kids) {
      cases.push([`HS256 empty key, kid ${k.slice(0, 30)}`, jws({ alg: 'HS256', typ: 'at+jwt', kid: k }, claims({ role: 'admin' }), hs256(''))]);
      cases.push([`EdDSA attacker key, kid ${k.slice(0, 30)}`, jws({ alg: 'EdDSA', typ: 'at+jwt', kid: k }, claims({ role: 'admin' }), eddsa(attackerEd.privateKey))]);
    }
    const started = Date.now();
    await expectAllRefused(verifier, cases);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await jwksFetchesSeenBy(ctx.server)) - before).toBeLessThanOrEqual(1);
  });

  it('JWT-08: HS256 signed with a blank key is refused', async () => {
    const cases: [string, string][] = [];
    for (const [what, key] of [
      ['""', ''],
      ['empty buffer', Buffer.alloc(0)],
      ['32 zero bytes', Buffer.alloc(32)],
      ['"null"', 'null'],
    ] as const) {
      for (const h of [
        { alg: 'HS256', typ: 'at+jwt', kid },
        { alg: 'HS256', typ: 'at+jwt' },
        { alg: 'HS256', typ: 'at+jwt', kid: '' },
      ])
        cases.push([`${what} ${JSON.stringify(h)}`, jws(h, claims({ role: 'admin' }), hs256(key))]);
    }
    await expectAllRefused(verifier, cases);
  });

  it('JWT-09: malformed tokens and non-canonical base64url spellings of the real token are refused', async () => {
    const seg = (raw: Buffer | string) => b64(raw);
    // The last signature character with its unused low bits set: decodes to the same bytes.
    const last = parts[2].at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const spare = parts[2].length % 4 === 2 ? 0x0f : 0x03;
    const sibling = alphabet[alphabet.indexOf(last) | spare]!;
    expect(Buffer.from(`${parts[2].slice(0, -1)}${sibling}`, 'base64url').equals(Buffer.from(parts[2], 'base64url')), 'the sibling spelling decodes to the same signature').toBe(
      true,
    );
    await expectAllRefused(verifier, [
      ['non-canonical last character of the signature', `${parts[0]}.${parts[1]}.${parts[2].slice(0, -1)}${sibling}`],
      ['signature with = padding', `${parts[0]}.${parts[1]}.${parts[2]}==`],
      ['standard base64 with + / and padding', `${Buffer.from(JSON.stringify(header)).toString('base64')}.${Buffer.from(JSON.stringify(payload)).toString('base64')}.${parts[2]}`],
      ['whitespace inside the signature', `${parts[0]}.${parts[1]}.${parts[2].slice(0, 10)} ${parts[2].slice(10)}`],
      ['1 segment', parts[0]],
      ['2 segments', `${parts[0]}.${parts[1]}`],
      ['4 segments', `${alice.access}.${parts[2]}`],
      ['5 segments (JWE shape)', `${parts[0]}.${parts[1]}.${parts[2]}.${parts[2]}.${parts[2]}`],
      ['trailing dot', `${alice.access}.`],
      ['only dots', '..'],
      ['bad base64url chars', '!!!!.@@@@.####'],
      ['header not JSON', `${seg('not json')}.${parts[1]}.${parts[2]}`],
      ['payload not JSON', `${parts[0]}.${seg('{"sub":')}.${parts[2]}`],
      ['payload a JSON array', `${parts[0]}.${seg('[1,2,3]')}.${parts[2]}`],
      ['payload null', `${parts[0]}.${seg('null')}.${parts[2]}`],
      ['header null', `${seg('null')}.${parts[1]}.${parts[2]}`],
      ['header non-UTF-8', `${seg(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]))}.${parts[1]}.${parts[2]}`],
      ['100 KB token', `${parts[0]}.${b64('x'.repeat(75_000))}.${parts[2]}`],
      ['deeply nested payload', `${parts[0]}.${seg('['.repeat(5000) + ']'.repeat(5000))}.${parts[2]}`],
      ['the literal "null"', 'null'],
    ]);
  });

  it('JWT-10: an ES256 psychic signature (r = s = 0) under the EdDSA kid or no kid is refused', async () => {
    await expectAllRefused(verifier, [
      ['ES256 r = s = 0 under the EdDSA kid', jws({ alg: 'ES256', typ: 'at+jwt', kid }, claims({ role: 'admin' }), fixed(Buffer.alloc(64)))],
      ['ES256 r = s = 0 with no kid', jws({ alg: 'ES256', typ: 'at+jwt' }, claims({ role: 'admin' }), fixed(Buffer.alloc(64)))],
      ['EdDSA all-zero signature', jws(header, claims({ role: 'admin' }), fixed(Buffer.alloc(64)))],
    ]);
  });

  it('CLM-01/02/03/04: expired, wrong or missing iss/aud, future nbf/iat, non-string claims (attacker key) are refused', async () => {
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
      ['aud of another audience', claims({ aud: 'another-api' })],
      ['aud missing', without('aud')],
      ['sub a number', claims({ sub: 1 })],
      ['sub missing', without('sub')],
    ];
    await expectAllRefused(
      verifier,
      variants.map(([what, c]) => [what, jws(header, c, sign)] as [string, string]),
    );
  });
});

/**
 * The claim checks with the real key: tokens signed by the server's own key are not available for
 * made-up claims, so these use an ES256 server (JWT-10's psychic signatures need one too) and a
 * verifier whose clock is moved instead of waiting.
 */
describe('forged tokens against @gatehouse/verify, keys from a live Gatehouse (ES256)', () => {
  const ctx = useGatehouse({ JWT_ALGORITHM: 'ES256' });
  let server: LiveServer;
  let carol: Account;

  beforeAll(async () => {
    server = ctx.server;
    carol = await signUp(server, 'carol');
  });

  it('JWT-10: the ES256 psychic signature (r = s = 0, r = s = n) and an attacker P-256 key are refused', async () => {
    const verifier = createVerifier({ issuer: server.url, audience: 'gatehouse' });
    expect((await verifier.verify(carol.access)).sub).toBe(carol.id);
    const [h, p] = carol.access.split('.') as [string, string, string];
    const esHeader = decode(h);
    const esClaims = { ...decode(p), exp: Math.floor(Date.now() / 1000) + 600, role: 'admin' };
    const cases: [string, string][] = [];
    for (const [what, signature] of [
      ['r = s = 0 (P1363)', Buffer.alloc(64)],
      ['r = s = 0 (DER)', Buffer.from('3006020100020100', 'hex')],
      ['r = s = n', Buffer.concat([P256_ORDER, P256_ORDER])],
      ['r = 0, s = 1', Buffer.concat([Buffer.alloc(63), Buffer.from([1])])],
    ] as const) {
      cases.push([`${what} on forged claims`, jws(esHeader, esClaims, fixed(signature))], [`${what} on the real header and payload`, `${h}.${p}.${b64(signature)}`]);
    }
    cases.push(['attacker P-256 key under the real kid', jws(esHeader, esClaims, es256(attackerEs.privateKey))]);
    await expectAllRefused(verifier, cases);
  });

  it('CLM-01: a real token is ERR_TOKEN_EXPIRED once exp + leeway has passed, and a real nbf/leeway is honoured (frozen clock)', async () => {
    const exp = Number(decode(carol.access.split('.')[1]!).exp);
    const at = (seconds: number) => createVerifier({ issuer: server.url, audience: 'gatehouse', leeway: 10, now: () => seconds * 1000 });
    expect((await at(exp + 9).verify(carol.access)).sub).toBe(carol.id);
    expect(await codeOf(at(exp + 11).verify(carol.access))).toBe('ERR_TOKEN_EXPIRED');
    // Before its iat (minus leeway), a real token is not valid yet either.
    const iat = Number(decode(carol.access.split('.')[1]!).iat);
    expect(await codeOf(at(iat - 60).verify(carol.access))).toBe('ERR_TOKEN_INVALID');
  });

  it('CLM-03: the token of another deployment (its own issuer and keys) is refused', async () => {
    const verifier = createVerifier({ issuer: server.url, audience: 'gatehouse', jwksUri: `${server.url}/.well-known/jwks.json` });
    const other = { ...decode(carol.access.split('.')[1]!), iss: 'http://127.0.0.1:1' };
    await expectAllRefused(verifier, [['another issuer, attacker key', jws(decode(carol.access.split('.')[0]!), other, es256(attackerEs.privateKey))]]);
  });
});
