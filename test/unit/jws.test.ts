import { createHash, createPublicKey, randomBytes, sign as cryptoSign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { JwsError, signJws, verifyJws, type JwsAlgorithm, type JwsKey } from '../../src/core/auth/jws.js';
import { KeyRing, generateSigningKey, type AsymmetricAlgorithm } from '../../src/core/auth/key-ring.js';
import type { SigningKey } from '../../src/core/model.js';
import { attackerKey, b64, b64json, forge, forgeSegments, rawSign, type RawKey } from '../helpers/forge.js';

/**
 * signJws/verifyJws and KeyRing, one algorithm at a time, against the attacks of RFC 8725 and the
 * OWASP JWT cheat sheet. Forged tokens are built here, with node:crypto directly, so that the code
 * under test never helps to make the tokens it is asked to refuse.
 */

const NOW = Date.UTC(2026, 0, 1);
const ALGORITHMS: readonly JwsAlgorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
const ASYMMETRIC: readonly AsymmetricAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];

interface Fixture {
  readonly alg: JwsAlgorithm;
  readonly ring: KeyRing;
  /** The key the server signs with: a private KeyObject, or the HS256 secret. */
  readonly serverKey: RawKey;
  readonly kid: string;
  readonly stored?: SigningKey;
}

const fixtures = new Map<JwsAlgorithm, Fixture>();

function fixture(alg: JwsAlgorithm): Fixture {
  let f = fixtures.get(alg);
  if (!f) {
    if (alg === 'HS256') {
      const ring = KeyRing.fromSecret(randomBytes(48).toString('base64'));
      f = { alg, ring, serverKey: ring.signingKey.key as Buffer, kid: ring.signingKey.kid };
    } else {
      const stored = generateSigningKey(alg, NOW);
      const ring = KeyRing.fromStoredKeys([stored], alg, NOW);
      f = { alg, ring, serverKey: ring.signingKey.key as KeyObject, kid: ring.signingKey.kid, stored };
    }
    fixtures.set(alg, f);
  }
  return f;
}

function claims(): Record<string, unknown> {
  const iat = Math.floor(NOW / 1000);
  return { iss: 'https://issuer.test', aud: 'gatehouse', sub: 'user-1', iat, exp: iat + 900, jti: 'jti-1', sid: 'sid-1', role: 'user' };
}

/** verifyJws must throw, and what it throws must be a JwsError (JWT-09: never another error type). */
function expectJwsError(token: string, keys: ReadonlyMap<string, JwsKey>, label = ''): JwsError {
  let caught: unknown = null;
  let result: unknown = null;
  try {
    result = verifyJws(token, keys);
  } catch (error) {
    caught = error;
  }
  const shown = token.length > 120 ? `${token.slice(0, 120)}… (${token.length} chars)` : token;
  expect(result, `accepted: ${label} ${shown}`).toBeNull();
  expect(caught, `wrong error type for: ${label} ${shown}: ${String(caught)}`).toBeInstanceOf(JwsError);
  return caught as JwsError;
}

/** Rejects every [label, token]; reports all that got through (or threw the wrong type) at once. */
function expectAllRejected(cases: ReadonlyArray<readonly [string, string]>, keys: ReadonlyMap<string, JwsKey>): void {
  const failures: string[] = [];
  for (const [label, token] of cases) {
    try {
      verifyJws(token, keys);
      failures.push(`${label}: accepted`);
    } catch (error) {
      if (!(error instanceof JwsError)) failures.push(`${label}: threw ${(error as Error)?.constructor?.name ?? typeof error}: ${String(error)}`);
    }
  }
  expect(failures).toEqual([]);
}

/** Splits a compact token into its three segments (the test's own tokens always have three). */
function segments(token: string): [string, string, string] {
  const parts = token.split('.');
  expect(parts).toHaveLength(3);
  return parts as [string, string, string];
}

describe.each(ALGORITHMS)('JWS %s', (alg) => {
  const header = (): Record<string, unknown> => ({ alg, kid: fixture(alg).kid, typ: 'at+jwt' });

  it('round trip: signJws output verifies, with alg and kid taken from the key', async () => {
    const { ring, kid } = fixture(alg);
    const payload = claims();
    const token = await signJws(ring.signingKey, { typ: 'at+jwt' }, payload);
    expect(token.split('.')).toHaveLength(3);
    const verified = verifyJws(token, ring.verificationKeys);
    expect(verified.header).toEqual({ typ: 'at+jwt', alg, kid });
    expect(verified.payload).toEqual(payload);
  });

  it('round trip: signJws cannot be talked into another alg or kid by the header argument', async () => {
    const { ring, kid } = fixture(alg);
    const token = await signJws(ring.signingKey, { alg: 'none', kid: 'other' }, claims());
    const verified = verifyJws(token, ring.verificationKeys);
    expect(verified.header.alg).toBe(alg);
    expect(verified.header.kid).toBe(kid);
  });

  it('positive control: a token forged by this test with the real key verifies', () => {
    // Proves that the forging helpers are sound, so every rejection below is the attack's doing.
    const { ring, serverKey } = fixture(alg);
    const verified = verifyJws(forge(header(), claims(), alg, serverKey), ring.verificationKeys);
    expect(verified.payload).toEqual(claims());
  });

  it('JWT-11: every other spelling of the last character of each segment (non-zero pad bits) is refused; only the canonical one verifies', async () => {
    const { ring } = fixture(alg);
    const token = await signJws(ring.signingKey, { typ: 'at+jwt' }, claims());
    expect(verifyJws(token, ring.verificationKeys).payload).toEqual(claims());
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const parts = segments(token);
    const cases: [string, string][] = [];
    parts.forEach((segment, index) => {
      const bytes = Buffer.from(segment, 'base64url');
      // The spellings a lenient decoder reads as the same bytes: the last character's family.
      const family = [...alphabet].map((c) => segment.slice(0, -1) + c).filter((s) => Buffer.from(s, 'base64url').equals(bytes));
      const padBits = (segment.length * 6) % 8;
      expect(family, `segment ${index}`).toHaveLength(2 ** padBits);
      for (const spelling of family.filter((s) => s !== segment)) {
        const variant = [...parts];
        variant[index] = spelling;
        cases.push([`segment ${index} ends in ${spelling.at(-1)}`, variant.join('.')]);
      }
    });
    // Signatures of EdDSA, ES256 (64 bytes) and RS256 (256 bytes) end in 4 pad bits: 15 other spellings.
    const signatureSpellings = cases.filter(([label]) => label.startsWith('segment 2')).length;
    expect(signatureSpellings).toBe(alg === 'HS256' ? 3 : 15);
    // Characters outside the base64url alphabet: padding, the base64 alphabet, whitespace.
    const [h, p, sig] = parts;
    cases.push(['padded signature', `${h}.${p}.${sig}==`], ['padded payload', `${h}.${p}=.${sig}`], ['space', `${h}.${p}.${sig} `]);
    const base64Alphabet = (s: string) => s.replaceAll('-', '+').replaceAll('_', '/');
    for (const [i, segment] of parts.entries()) {
      if (base64Alphabet(segment) === segment) continue;
      const variant = [...parts];
      variant[i] = base64Alphabet(segment);
      cases.push([`segment ${i} in the base64 alphabet`, variant.join('.')]);
    }
    expectAllRejected(cases, ring.verificationKeys);
  });

  it("JWT-01: a token whose alg differs from the key's pinned alg is refused", () => {
    const { ring, serverKey, kid } = fixture(alg);
    const cases: Array<[string, string]> = [];
    for (const other of ALGORITHMS.filter((a) => a !== alg)) {
      // Signed correctly for the claimed alg, with a key the attacker owns, under our kid.
      cases.push([`alg ${other} with attacker key`, forge({ alg: other, kid, typ: 'at+jwt' }, claims(), other, attackerKey(other).signKey)]);
    }
    // Same bytes signed by the real key, only the alg label changed (and look-alike spellings).
    const spoofs: unknown[] = [
      'HS384',
      'HS512',
      'RS384',
      'RS512',
      'PS256',
      'ES384',
      'ES512',
      'ES256K',
      'Ed25519',
      'Ed448',
      alg.toLowerCase(),
      alg.toUpperCase(),
      ` ${alg}`,
      `${alg} `,
      '',
      null,
      0,
      [alg],
      { alg },
    ];
    for (const spoof of spoofs) {
      if (spoof === alg) continue;
      const input = `${b64json({ alg: spoof, kid, typ: 'at+jwt' })}.${b64json(claims())}`;
      cases.push([`alg ${JSON.stringify(spoof)} with real signature`, `${input}.${rawSign(alg, serverKey, input).toString('base64url')}`]);
    }
    const noAlg = `${b64json({ kid, typ: 'at+jwt' })}.${b64json(claims())}`;
    cases.push(['alg missing', `${noAlg}.${rawSign(alg, serverKey, noAlg).toString('base64url')}`]);
    expectAllRejected(cases, ring.verificationKeys);
  });

  it('JWT-02: alg none in every spelling is refused, with an empty signature and with any signature', async () => {
    const { ring, serverKey, kid } = fixture(alg);
    const realSignature = segments(await signJws(ring.signingKey, { typ: 'at+jwt' }, claims()))[2];
    const cases: Array<[string, string]> = [];
    for (const none of ['none', 'None', 'NONE', 'nOnE', 'none ', 'nonE']) {
      for (const withKid of [true, false]) {
        const h = withKid ? { alg: none, kid, typ: 'at+jwt' } : { alg: none, typ: 'at+jwt' };
        const input = `${b64json(h)}.${b64json(claims())}`;
        const signatures: Array<[string, string]> = [
          ['empty', ''],
          ['real signature of another token', realSignature],
          ['signature of this input by the real key', rawSign(alg, serverKey, input).toString('base64url')],
          ['random', randomBytes(64).toString('base64url')],
          ['one byte', 'AA'],
        ];
        for (const [what, sig] of signatures) cases.push([`alg ${none}, kid ${withKid}, ${what}`, `${input}.${sig}`]);
      }
    }
    expectAllRejected(cases, ring.verificationKeys);
  });

  it('JWT-03: tampered header, tampered payload, truncated, altered and empty signatures are refused', async () => {
    const { ring } = fixture(alg);
    const token = await signJws(ring.signingKey, { typ: 'at+jwt' }, claims());
    const [h, p, s] = segments(token);
    const sig = Buffer.from(s, 'base64url');
    const decodedHeader = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const flipped = Buffer.from(sig);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0x01;
    const flippedFirst = Buffer.from(sig);
    flippedFirst[0] = flippedFirst[0]! ^ 0x80;
    const other = segments(await signJws(ring.signingKey, { typ: 'at+jwt' }, { ...claims(), sub: 'user-2' }));
    const cases: Array<[string, string]> = [
      ['header: typ changed', `${b64json({ ...decodedHeader, typ: 'JWT' })}.${p}.${s}`],
      ['header: extra member', `${b64json({ ...decodedHeader, x: 1 })}.${p}.${s}`],
      ['header: same JSON, different bytes', `${b64(JSON.stringify(decodedHeader, null, 1))}.${p}.${s}`],
      ['payload: role admin', `${h}.${b64json({ ...claims(), role: 'admin' })}.${s}`],
      ['payload: other sub', `${h}.${b64json({ ...claims(), sub: 'user-2' })}.${s}`],
      ['payload: exp extended', `${h}.${b64json({ ...claims(), exp: 4_102_444_800 })}.${s}`],
      ['payload swapped in from another token', `${h}.${other[1]}.${s}`],
      ['signature swapped in from another token', `${h}.${p}.${other[2]}`],
      ['signature: last char dropped', `${h}.${p}.${s.slice(0, -1)}`],
      ['signature: last 4 chars dropped', `${h}.${p}.${s.slice(0, -4)}`],
      ['signature: half', `${h}.${p}.${s.slice(0, Math.floor(s.length / 2))}`],
      ['signature: first char only', `${h}.${p}.${s.slice(0, 1)}`],
      ['signature: one byte short', `${h}.${p}.${b64(sig.subarray(0, sig.length - 1))}`],
      ['signature: one byte extra', `${h}.${p}.${b64(Buffer.concat([sig, Buffer.from([0])]))}`],
      ['signature: doubled', `${h}.${p}.${b64(Buffer.concat([sig, sig]))}`],
      ['signature: last bit flipped', `${h}.${p}.${b64(flipped)}`],
      ['signature: first bit flipped', `${h}.${p}.${b64(flippedFirst)}`],
      ['signature: all zero bytes', `${h}.${p}.${b64(Buffer.alloc(sig.length))}`],
      ['signature: empty (h.p.)', `${h}.${p}.`],
    ];
    expectAllRejected(cases, ring.verificationKeys);
    // And the untouched token still verifies: the rejections are the tampering's doing.
    expect(verifyJws(token, ring.verificationKeys).payload).toEqual(claims());
  });

  it('JWT-05: header-supplied keys (jwk, jku, x5u, x5c) are never trusted', async () => {
    const { ring, kid } = fixture(alg);
    const attacker = attackerKey(alg);
    const jwk = attacker.jwk;
    const x5c = [attacker.spkiDer ? attacker.spkiDer.toString('base64') : randomBytes(64).toString('base64')];
    const headers: Array<[string, Record<string, unknown>]> = [
      ['jwk with our kid', { alg, kid, typ: 'at+jwt', jwk }],
      ['jwk with the attacker kid', { alg, kid: 'attacker-key', typ: 'at+jwt', jwk }],
      ['jwk without kid', { alg, typ: 'at+jwt', jwk }],
      ['jku with our kid', { alg, kid, typ: 'at+jwt', jku: 'https://attacker.example/.well-known/jwks.json' }],
      ['jku with the attacker kid', { alg, kid: 'attacker-key', typ: 'at+jwt', jku: 'https://attacker.example/.well-known/jwks.json' }],
      ['jku without kid', { alg, typ: 'at+jwt', jku: 'http://127.0.0.1:1/jwks.json' }],
      ['x5u with our kid', { alg, kid, typ: 'at+jwt', x5u: 'https://attacker.example/cert.pem' }],
      ['x5u without kid', { alg, typ: 'at+jwt', x5u: 'https://attacker.example/cert.pem' }],
      ['x5c with our kid', { alg, kid, typ: 'at+jwt', x5c }],
      ['x5c without kid', { alg, typ: 'at+jwt', x5c }],
      ['kid is a URL', { alg, kid: 'https://attacker.example/jwks.json#attacker-key', typ: 'at+jwt', jwk }],
      ['all of them at once', { alg, kid, typ: 'at+jwt', jwk, jku: 'https://attacker.example/jwks.json', x5u: 'https://attacker.example/c.pem', x5c }],
    ];
    // Everything is signed by the attacker's key; verifyJws is synchronous, so it cannot await a fetch.
    const cases = headers.map(([label, h]) => [label, forge(h, claims(), alg, attacker.signKey)] as const);
    expectAllRejected(cases, ring.verificationKeys);
  });

  it('JWT-06: kid with path traversal, SQL, shell or absurd length is refused, fast', async () => {
    const { ring, serverKey } = fixture(alg);
    const kids: unknown[] = [
      '../../../../dev/null',
      '../../../../../../etc/passwd',
      '/dev/null',
      "' OR 1=1--",
      "x' UNION SELECT 'secret' --",
      '|sleep 10',
      '; sleep 10',
      '$(sleep 10)',
      '`sleep 10`',
      '\u0000',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      '',
      'A'.repeat(4_000),
      'A'.repeat(100_000),
      123,
      null,
      ['kid'],
      { $ne: null },
    ];
    // Signed with the server's real key: only the kid is wrong.
    const cases = kids.map((kid) => [`kid ${JSON.stringify(kid).slice(0, 40)}`, forge({ alg, kid, typ: 'at+jwt' }, claims(), alg, serverKey)] as const);
    verifyJws(await signJws(ring.signingKey, {}, claims()), ring.verificationKeys); // warm up
    const started = performance.now();
    expectAllRejected(cases, ring.verificationKeys);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('JWT-08: an HS256 token signed with an empty or blank key is refused', () => {
    const { ring, kid } = fixture(alg);
    const blanks: Array<[string, RawKey]> = [
      ['empty buffer', Buffer.alloc(0)],
      ['empty string', ''],
      ['one space', ' '],
      ['NUL byte', Buffer.from([0])],
      ['32 zero bytes', Buffer.alloc(32)],
      ['newline', '\n'],
    ];
    const cases: Array<[string, string]> = [];
    for (const [label, key] of blanks) {
      cases.push([`${label}, our kid`, forge({ alg: 'HS256', kid, typ: 'at+jwt' }, claims(), 'HS256', key)]);
      cases.push([`${label}, empty kid`, forge({ alg: 'HS256', kid: '', typ: 'at+jwt' }, claims(), 'HS256', key)]);
      cases.push([`${label}, no kid`, forge({ alg: 'HS256', typ: 'at+jwt' }, claims(), 'HS256', key)]);
    }
    expectAllRejected(cases, ring.verificationKeys);
  });

  it('JWT-09: malformed tokens throw JwsError and never another error type', async () => {
    const { ring, serverKey, kid } = fixture(alg);
    const token = await signJws(ring.signingKey, { typ: 'at+jwt' }, claims());
    const [h, p, s] = segments(token);
    const hdr = b64json({ alg, kid, typ: 'at+jwt' });
    /** Signed by the real key, so only the malformation can be the reason for refusal. */
    const signed = (headerB64: string, payloadB64: string) => forgeSegments(headerB64, payloadB64, alg, serverKey);
    const badUtf8 = (prefix: string, bytes: number[], suffix: string) => b64(Buffer.concat([Buffer.from(prefix), Buffer.from(bytes), Buffer.from(suffix)]));
    const big = 100 * 1024;
    const cases: Array<[string, string]> = [
      ['empty string', ''],
      ['one dot', '.'],
      ['two dots', '..'],
      ['three dots', '...'],
      ['one segment', h],
      ['2 segments', `${h}.${p}`],
      ['4 segments', `${token}.${s}`],
      ['4 segments, empty last', `${token}.`],
      ['5 segments (JWE shape)', `${h}.${p}.${s}.${s}.${s}`],
      ['leading dot', `.${token}`],
      ['empty header', `.${p}.${s}`],
      ['empty payload', `${h}..${s}`],
      ['whitespace around', ` ${token} `],
      ['newline inside', `${h}.\n${p}.${s}`],
      ['standard base64 + and /', `${h.replace(/-/g, '+').replace(/_/g, '/')}+/.${p}.${s}`],
      ['base64 padding ==', `${h}.${p}.${s}==`],
      ['bad char *', `${h}.${p}*.${s}`],
      ['bad char %', `${h}.%${p}.${s}`],
      ['bad char space', `${h}.${p}.${s.slice(0, 5)} ${s.slice(5)}`],
      ['non-ASCII char', `${h}.${p}é.${s}`],
      ['emoji', `${h}.${p}.${s}🔑`],
      ['header not JSON', `${b64('not json')}.${p}.${s}`],
      ['header JSON with trailing garbage', `${b64(`${JSON.stringify({ alg, kid })}x`)}.${p}.${s}`],
      ['header is an array', `${b64json([alg, kid])}.${p}.${s}`],
      ['header is a number', `${b64json(42)}.${p}.${s}`],
      ['header is a string', `${b64json('{"alg":"none"}')}.${p}.${s}`],
      ['header is null', `${b64json(null)}.${p}.${s}`],
      ['header is deeply nested arrays', `${b64(`${'['.repeat(2_500)}${']'.repeat(2_500)}`)}.${p}.${s}`],
      ['header with invalid UTF-8 (0xff)', signed(badUtf8(`{"alg":"${alg}","kid":"${kid}","typ":"at+jwt","x":"`, [0xff], '"}'), p)],
      ['header with invalid UTF-8 (lone surrogate)', signed(badUtf8(`{"alg":"${alg}","kid":"${kid}","typ":"at+jwt","x":"`, [0xed, 0xa0, 0x80], '"}'), p)],
      ['header with invalid UTF-8 (overlong /)', signed(badUtf8(`{"alg":"${alg}","kid":"${kid}","typ":"at+jwt","x":"`, [0xc0, 0xaf], '"}'), p)],
      ['header entirely invalid UTF-8', `${b64(Buffer.from([0xff, 0xfe, 0xfd, 0xfc]))}.${p}.${s}`],
      ['payload is an array', signed(hdr, b64json([claims()]))],
      ['payload is an empty array', signed(hdr, b64json([]))],
      ['payload is a number', signed(hdr, b64json(42))],
      ['payload is a string', signed(hdr, b64json('{"sub":"admin"}'))],
      ['payload is null', signed(hdr, b64json(null))],
      ['payload is true', signed(hdr, b64json(true))],
      ['payload not JSON', signed(hdr, b64('sub=admin'))],
      ['payload with invalid UTF-8 (0xff)', signed(hdr, badUtf8('{"sub":"', [0xff], '"}'))],
      ['payload with invalid UTF-8 (truncated sequence)', signed(hdr, badUtf8('{"sub":"', [0xc3], '"}'))],
      ['payload with invalid UTF-8 (lone surrogate)', signed(hdr, badUtf8('{"sub":"', [0xed, 0xb0, 0x80], '"}'))],
      ['100 KB token, real signature', signed(hdr, b64json({ ...claims(), pad: 'x'.repeat(big) }))],
      ['100 KB of A', 'A'.repeat(big)],
      ['100 KB of dots', '.'.repeat(big)],
      ['100 KB signature', `${h}.${p}.${'A'.repeat(big)}`],
    ];
    for (const [label, t] of cases) expectJwsError(t, ring.verificationKeys, label);
  });

  it('verifies against nothing but the keys it is given (empty ring refuses everything)', async () => {
    const { ring } = fixture(alg);
    expectJwsError(await signJws(ring.signingKey, { typ: 'at+jwt' }, claims()), new Map());
  });

  it("a key from another ring of the same alg does not verify this ring's tokens", async () => {
    const { ring } = fixture(alg);
    const other = alg === 'HS256' ? KeyRing.fromSecret(randomBytes(48).toString('base64')) : KeyRing.fromStoredKeys([generateSigningKey(alg, NOW)], alg, NOW);
    expectJwsError(await signJws(other.signingKey, { typ: 'at+jwt' }, claims()), ring.verificationKeys);
    // Even under our kid: the signature decides.
    const forged = forge({ alg, kid: ring.signingKey.kid, typ: 'at+jwt' }, claims(), alg, other.signingKey.key);
    expectJwsError(forged, ring.verificationKeys);
  });

  it('a header with crit is refused', () => {
    const { ring, serverKey, kid } = fixture(alg);
    expectJwsError(forge({ alg, kid, typ: 'at+jwt', crit: ['exp'], exp: 1 }, claims(), alg, serverKey), ring.verificationKeys);
  });
});

describe.each(ASYMMETRIC)('JWT-04: key confusion against %s', (alg) => {
  it("JWT-04: HS256 tokens HMAC-signed with the server's public key (PEM, DER, JWK JSON, raw x) are refused", () => {
    const { ring, kid } = fixture(alg);
    const publicKey = ring.verificationKeys.get(kid)!.key as KeyObject;
    expect(publicKey.type).toBe('public');
    const published = ring.jwks.find((k) => k.kid === kid)!;
    const jwk = publicKey.export({ format: 'jwk' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const secrets: Array<[string, RawKey]> = [
      ['SPKI PEM', pem],
      ['SPKI PEM, trimmed', pem.trim()],
      ['SPKI PEM, CRLF', pem.replace(/\n/g, '\r\n')],
      ['SPKI DER', publicKey.export({ type: 'spki', format: 'der' })],
      ['JWK JSON as published', JSON.stringify(published)],
      ['JWK JSON as exported', JSON.stringify(jwk)],
      ['JWK JSON, pretty', JSON.stringify(published, null, 2)],
      ['SPKI base64 body without PEM armour', pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, '')],
    ];
    if (alg === 'RS256') {
      secrets.push(['PKCS#1 PEM', publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()]);
      secrets.push(['raw n bytes', Buffer.from(jwk.n!, 'base64url')]);
      secrets.push(['n as text', jwk.n!]);
    } else {
      secrets.push(['raw x bytes', Buffer.from(jwk.x!, 'base64url')]);
      secrets.push(['x as text', jwk.x!]);
      if (alg === 'ES256') {
        const x = Buffer.from(jwk.x!, 'base64url');
        const y = Buffer.from(jwk.y!, 'base64url');
        secrets.push(['raw x||y', Buffer.concat([x, y])]);
        secrets.push(['uncompressed point 04||x||y', Buffer.concat([Buffer.from([4]), x, y])]);
      }
    }
    const cases: Array<[string, string]> = [];
    for (const [label, secret] of secrets) {
      cases.push([`${label}, our kid`, forge({ alg: 'HS256', kid, typ: 'at+jwt' }, claims(), 'HS256', secret)]);
      cases.push([`${label}, no kid`, forge({ alg: 'HS256', typ: 'at+jwt' }, claims(), 'HS256', secret)]);
    }
    expectAllRejected(cases, ring.verificationKeys);
  });
});

describe('JWT-01: several keys of different algorithms in one ring', () => {
  it("JWT-01: each kid accepts only its own key's alg, even when the other alg's key is also ours", () => {
    const ed = generateSigningKey('EdDSA', NOW);
    const es = generateSigningKey('ES256', NOW + 1);
    const rs = generateSigningKey('RS256', NOW + 2);
    const ring = KeyRing.fromStoredKeys([ed, es, rs], 'EdDSA', NOW + 10);
    expect(ring.signingKey.kid).toBe(ed.kid);
    const privateOf = (k: SigningKey) => k.privateKeyPem;
    // Positive controls: each key verifies its own tokens under its own kid and alg.
    for (const k of [ed, es, rs]) {
      expect(verifyJws(forge({ alg: k.alg, kid: k.kid }, claims(), k.alg, privateOf(k)), ring.verificationKeys).payload).toEqual(claims());
    }
    const cases: Array<[string, string]> = [];
    for (const claimed of [ed, es, rs]) {
      for (const actual of [ed, es, rs]) {
        if (claimed === actual) continue;
        // Real server key, real alg for that key, but the kid of a key pinned to another alg.
        cases.push([`kid of ${claimed.alg}, ${actual.alg} signature`, forge({ alg: actual.alg, kid: claimed.kid }, claims(), actual.alg, privateOf(actual))]);
      }
    }
    expectAllRejected(cases, ring.verificationKeys);
  });
});

describe('JWT-10: ES256 psychic signatures', () => {
  it('JWT-10: ES256 signature of 64 zero bytes (r = s = 0) and other degenerate r, s are refused', () => {
    const { ring, kid } = fixture('ES256');
    const n = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex');
    const zero = Buffer.alloc(32);
    const one = Buffer.alloc(32);
    one[31] = 1;
    const input = `${b64json({ alg: 'ES256', kid, typ: 'at+jwt' })}.${b64json(claims())}`;
    const cases: Array<[string, string]> = [
      ['r = s = 0 (64 zero bytes)', `${input}.${b64(Buffer.alloc(64))}`],
      ['r = s = n', `${input}.${b64(Buffer.concat([n, n]))}`],
      ['r = 0, s = 1', `${input}.${b64(Buffer.concat([zero, one]))}`],
      ['r = 1, s = 0', `${input}.${b64(Buffer.concat([one, zero]))}`],
      ['r = n, s = 0', `${input}.${b64(Buffer.concat([n, zero]))}`],
      ['DER SEQUENCE { 0, 0 }', `${input}.${b64(Buffer.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]))}`],
      ['32 zero bytes', `${input}.${b64(zero)}`],
      ['65 zero bytes', `${input}.${b64(Buffer.alloc(65))}`],
    ];
    expectAllRejected(cases, ring.verificationKeys);
  });

  it('ES256: a valid signature in DER form (not JOSE r||s) is refused', () => {
    const { ring, kid, serverKey } = fixture('ES256');
    const input = `${b64json({ alg: 'ES256', kid, typ: 'at+jwt' })}.${b64json(claims())}`;
    const der = cryptoSign('sha256', Buffer.from(input), { key: serverKey as KeyObject, dsaEncoding: 'der' });
    expectJwsError(`${input}.${b64(der)}`, ring.verificationKeys);
  });
});

describe('KeyRing', () => {
  const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

  it.each(ASYMMETRIC)('%s: kid is the RFC 7638 thumbprint, JWKS has kid/alg/use and no private members', (alg) => {
    const { ring, stored, kid } = fixture(alg);
    expect(ring.jwks).toHaveLength(1);
    const jwk = ring.jwks[0]!;
    expect(jwk).toMatchObject({ kid, alg, use: 'sig', kty: alg === 'EdDSA' ? 'OKP' : alg === 'ES256' ? 'EC' : 'RSA' });
    for (const member of PRIVATE_MEMBERS) expect(jwk, `private member ${member}`).not.toHaveProperty(member);
    const members = alg === 'EdDSA' ? ['crv', 'kty', 'x'] : alg === 'ES256' ? ['crv', 'kty', 'x', 'y'] : ['e', 'kty', 'n'];
    const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
    expect(kid).toBe(createHash('sha256').update(canonical).digest('base64url'));
    // The published key is the one that verifies, and verification holds only public keys.
    const published = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    const verifying = ring.verificationKeys.get(kid)!;
    expect(verifying.alg).toBe(alg);
    expect((verifying.key as KeyObject).type).toBe('public');
    expect(published.equals(verifying.key as KeyObject)).toBe(true);
    expect((ring.signingKey.key as KeyObject).type).toBe('private');
    expect(stored?.publicJwk).not.toHaveProperty('d');
  });

  it('HS256: nothing is published, the kid is not the secret, and the secret verifies its own tokens', async () => {
    const secret = randomBytes(48).toString('base64');
    const ring = KeyRing.fromSecret(secret);
    expect(ring.jwks).toEqual([]);
    expect(ring.signingKey.alg).toBe('HS256');
    expect(ring.signingKey.kid).not.toContain(secret);
    expect(secret).not.toContain(ring.signingKey.kid.replace(/^hs-/, ''));
    expect([...ring.verificationKeys.keys()]).toEqual([ring.signingKey.kid]);
    const token = await signJws(ring.signingKey, {}, claims());
    expect(verifyJws(token, ring.verificationKeys).payload).toEqual(claims());
    // The same secret yields the same kid (instances agree); another secret, another kid.
    expect(KeyRing.fromSecret(secret).signingKey.kid).toBe(ring.signingKey.kid);
    expect(KeyRing.fromSecret(randomBytes(48).toString('base64')).signingKey.kid).not.toBe(ring.signingKey.kid);
  });

  it('the newest active key of the configured alg signs; older active keys verify; retired keys do not', async () => {
    const older = generateSigningKey('EdDSA', NOW);
    const newer = generateSigningKey('EdDSA', NOW + 1000);
    const retired: SigningKey = { ...generateSigningKey('EdDSA', NOW - 1000), status: 'retired', retiredAt: NOW + 500 };
    const ring = KeyRing.fromStoredKeys([older, newer, retired], 'EdDSA', NOW + 2000);
    expect(ring.signingKey.kid).toBe(newer.kid);
    expect(ring.jwks.map((k) => k.kid).sort()).toEqual([older.kid, newer.kid].sort());
    const byOlder = KeyRing.fromStoredKeys([older], 'EdDSA', NOW + 2000);
    expect(verifyJws(await signJws(byOlder.signingKey, {}, claims()), ring.verificationKeys).payload).toEqual(claims());
    const byRetired = KeyRing.fromStoredKeys([{ ...retired, status: 'active', retiredAt: null }], 'EdDSA', NOW + 2000);
    expectJwsError(await signJws(byRetired.signingKey, {}, claims()), ring.verificationKeys);
  });

  it('refuses to build a ring without an active key of the configured alg', () => {
    expect(() => KeyRing.fromStoredKeys([generateSigningKey('ES256', NOW)], 'EdDSA', NOW)).toThrow();
    expect(() => KeyRing.fromStoredKeys([], 'RS256', NOW)).toThrow();
  });
});
