import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { AccessTokens, type AccessTokenSettings } from '../../src/core/auth/access-tokens.js';
import { signJws, verifyJws } from '../../src/core/auth/jws.js';
import { KeyRing, generateSigningKey } from '../../src/core/auth/key-ring.js';
import { UnauthenticatedError, type TokenProblem } from '../../src/core/errors.js';
import { TestClock } from '../helpers/clock.js';

/**
 * AccessTokens: the claims checks (CLM-01..04, 06) and the verified-token cache, on a clock the
 * tests move by hand. Forged tokens are signed by the real key, so only the claims are at fault.
 */

const START = Date.UTC(2026, 0, 1);
const SETTINGS: AccessTokenSettings = { issuer: 'https://gatehouse.test', audience: 'gatehouse', ttlMs: 15 * 60_000, leewayMs: 30_000 };
const TTL_S = SETTINGS.ttlMs / 1000;
const LEEWAY_S = SETTINGS.leewayMs / 1000;
const SUBJECT = { userId: 'user-1', sessionId: 'session-1', role: 'user' as const, clientId: 'gatehouse', scope: '', authTime: START - 60_000, notAfter: START + 30 * 86_400_000 };

function setup(settings: AccessTokenSettings = SETTINGS) {
  const clock = new TestClock(START);
  const ring = KeyRing.fromStoredKeys([generateSigningKey('EdDSA', START)], 'EdDSA', START);
  const tokens = new AccessTokens(ring, settings, clock);
  const nowS = () => Math.floor(clock.now() / 1000);
  /** Valid claims at the clock's current time; `undefined` members are left out of the JSON. */
  const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: SETTINGS.issuer,
    aud: SETTINGS.audience,
    sub: SUBJECT.userId,
    iat: nowS(),
    exp: nowS() + TTL_S,
    jti: 'jti-1',
    sid: SUBJECT.sessionId,
    role: 'user',
    ...overrides,
  });
  /** A token signed by the ring's real key with exactly these claims. */
  const forge = (payload: Record<string, unknown>, header: Record<string, unknown> = { typ: 'at+jwt' }) => signJws(ring.signingKey, header, payload);
  /** A second AccessTokens over the same ring and clock, with an empty cache. */
  const fresh = () => new AccessTokens(ring, settings, clock);
  return { clock, ring, tokens, claims, forge, fresh, nowS };
}

function decode(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function expectRefused(verify: () => unknown, problem: TokenProblem, label = ''): UnauthenticatedError {
  let caught: unknown = null;
  let result: unknown = null;
  try {
    result = verify();
  } catch (error) {
    caught = error;
  }
  expect(result, `accepted: ${label}`).toBeNull();
  expect(caught, `wrong error for ${label}: ${String(caught)}`).toBeInstanceOf(UnauthenticatedError);
  expect((caught as UnauthenticatedError).problem, label).toBe(problem);
  return caught as UnauthenticatedError;
}

/** Every payload must be refused as 'invalid'; all that get through are reported together. */
function expectAllInvalid(tokens: AccessTokens, cases: ReadonlyArray<readonly [string, string]>): void {
  const failures: string[] = [];
  for (const [label, token] of cases) {
    try {
      tokens.verify(token);
      failures.push(`${label}: accepted`);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) failures.push(`${label}: threw ${String(error)}`);
      else if (error.problem !== 'invalid') failures.push(`${label}: problem ${error.problem}`);
    }
  }
  expect(failures).toEqual([]);
}

describe('AccessTokens: issue and verify', () => {
  it('round trip: header typ at+jwt and kid, claims iss aud sub iat exp jti sid role client_id scope auth_time (RFC 9068)', async () => {
    const { tokens, ring, clock } = setup();
    const token = await tokens.issue(SUBJECT);
    const [h, p] = token.split('.') as [string, string, string];
    expect(decode(h)).toEqual({ typ: 'at+jwt', alg: 'EdDSA', kid: ring.signingKey.kid });
    const payload = decode(p);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'auth_time', 'client_id', 'exp', 'iat', 'iss', 'jti', 'role', 'scope', 'sid', 'sub']);
    const iat = Math.floor(clock.now() / 1000);
    expect(payload).toMatchObject({ iss: SETTINGS.issuer, aud: SETTINGS.audience, sub: 'user-1', sid: 'session-1', role: 'user', iat, exp: iat + TTL_S });
    expect(payload).toMatchObject({ client_id: 'gatehouse', scope: '', auth_time: Math.floor(SUBJECT.authTime / 1000) });
    expect(typeof payload.jti).toBe('string');
    expect((payload.jti as string).length).toBeGreaterThanOrEqual(16);

    const verified = tokens.verify(token);
    expect(verified).toEqual(payload);
    // The same token verifies with a cold cache, and with the bare JWS layer.
    expect(new AccessTokens(ring, SETTINGS, clock).verify(token)).toEqual(payload);
    expect(verifyJws(token, ring.verificationKeys).payload).toEqual(payload);
    expect(tokens.ttlSeconds).toBe(TTL_S);
  });

  it('every token gets its own jti', async () => {
    const { tokens } = setup();
    const issued = await Promise.all(Array.from({ length: 50 }, () => tokens.issue(SUBJECT)));
    const jtis = new Set(issued.map((token) => decode(token.split('.')[1]!).jti));
    expect(jtis.size).toBe(50);
  });

  it('positive control: a token forged here with the real key and valid claims is accepted', async () => {
    const { fresh, forge, claims } = setup();
    expect(fresh().verify(await forge(claims()))).toMatchObject({ sub: 'user-1', sid: 'session-1', role: 'user' });
    expect(fresh().verify(await forge(claims({ role: 'admin' }))).role).toBe('admin');
  });
});

describe('CLM-01: exp is required and enforced with a bounded leeway', () => {
  it('CLM-01: past exp + leeway the token is refused as expired (cold cache)', async () => {
    const { tokens, clock, fresh } = setup();
    const token = await tokens.issue(SUBJECT);
    clock.advance(SETTINGS.ttlMs + SETTINGS.leewayMs + 1_000);
    expectRefused(() => fresh().verify(token), 'expired');
    expectRefused(() => tokens.verify(token), 'expired');
  });

  it('CLM-01: at exp and just within the leeway the token is still accepted', async () => {
    const { tokens, clock, fresh } = setup();
    const token = await tokens.issue(SUBJECT);
    clock.advance(SETTINGS.ttlMs);
    expect(fresh().verify(token).sub).toBe('user-1');
    clock.advance(SETTINGS.leewayMs - 1_000);
    expect(fresh().verify(token).sub).toBe('user-1');
    expect(tokens.verify(token).sub).toBe('user-1');
    clock.advance(1_000);
    expectRefused(() => fresh().verify(token), 'expired', 'exactly exp + leeway');
  });

  it('CLM-01: a token without exp, or with a non-numeric exp, is refused', async () => {
    const { forge, claims, tokens } = setup();
    expectAllInvalid(tokens, [
      ['exp missing', await forge(claims({ exp: undefined }))],
      ['exp null', await forge(claims({ exp: null }))],
      ['exp as string', await forge(claims({ exp: '4102444800' }))],
      ['exp as boolean', await forge(claims({ exp: true }))],
      ['exp as array', await forge(claims({ exp: [4_102_444_800] }))],
      ['exp as object', await forge(claims({ exp: { $gt: 0 } }))],
    ]);
  });

  it('CLM-01: a token forged with an exp already past is refused as expired', async () => {
    const { forge, claims, fresh, nowS } = setup();
    for (const token of [
      await forge(claims({ iat: nowS() - 3600, exp: nowS() - LEEWAY_S - 1 })),
      await forge(claims({ iat: 0, exp: 1 })),
      await forge(claims({ exp: 0 })),
      await forge(claims({ exp: -1 })),
    ]) {
      expectRefused(() => fresh().verify(token), 'expired');
    }
  });

  it('CLM-01: the configured leeway may not exceed 60 s', () => {
    expect(() => loadConfig({ DATABASE_URL: 'sqlite::memory:', JWT_CLOCK_LEEWAY: '61s' })).toThrow(ConfigError);
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:', JWT_CLOCK_LEEWAY: '60s' }).jwt.clockLeewayMs).toBe(60_000);
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).jwt.clockLeewayMs).toBeLessThanOrEqual(60_000);
  });
});

describe('CLM-02: nbf and iat', () => {
  it('CLM-02: nbf in the future (beyond the leeway) is refused, and accepted once it has passed', async () => {
    const { forge, claims, tokens, clock, nowS } = setup();
    const token = await forge(claims({ nbf: nowS() + 600, exp: nowS() + 1800 }));
    expectRefused(() => tokens.verify(token), 'invalid');
    expectRefused(() => tokens.verify(token), 'invalid', 'second attempt');
    clock.advance(600_000);
    expect(tokens.verify(token).sub).toBe('user-1');
  });

  it('CLM-02: nbf in the past or within the leeway is accepted; a non-numeric nbf is refused', async () => {
    const { forge, claims, fresh, tokens, nowS } = setup();
    expect(fresh().verify(await forge(claims({ nbf: nowS() - 60 }))).sub).toBe('user-1');
    expect(fresh().verify(await forge(claims({ nbf: nowS() }))).sub).toBe('user-1');
    expect(fresh().verify(await forge(claims({ nbf: nowS() + LEEWAY_S - 1 }))).sub).toBe('user-1');
    expectAllInvalid(tokens, [
      ['nbf just past the leeway', await forge(claims({ nbf: nowS() + LEEWAY_S + 1 }))],
      ['nbf as string', await forge(claims({ nbf: String(nowS() - 60) }))],
      ['nbf null', await forge(claims({ nbf: null }))],
      ['nbf as object', await forge(claims({ nbf: {} }))],
    ]);
  });

  it('iat missing, non-numeric, or in the future is refused', async () => {
    const { forge, claims, tokens, nowS } = setup();
    expectAllInvalid(tokens, [
      ['iat missing', await forge(claims({ iat: undefined }))],
      ['iat as string', await forge(claims({ iat: String(nowS()) }))],
      ['iat an hour ahead', await forge(claims({ iat: nowS() + 3600 }))],
    ]);
  });
});

describe('CLM-03: issuer and audience', () => {
  it('CLM-03: a wrong or missing iss is refused', async () => {
    const { forge, claims, tokens } = setup();
    expectAllInvalid(tokens, [
      ['iss missing', await forge(claims({ iss: undefined }))],
      ['iss of another service', await forge(claims({ iss: 'https://evil.test' }))],
      ['iss with a trailing slash', await forge(claims({ iss: `${SETTINGS.issuer}/` }))],
      ['iss in upper case', await forge(claims({ iss: SETTINGS.issuer.toUpperCase() }))],
      ['iss with a prefix', await forge(claims({ iss: `${SETTINGS.issuer}.evil.test` }))],
      ['iss empty', await forge(claims({ iss: '' }))],
    ]);
  });

  it('CLM-03: a wrong or missing aud is refused', async () => {
    const { forge, claims, tokens } = setup();
    expectAllInvalid(tokens, [
      ['aud missing', await forge(claims({ aud: undefined }))],
      ['aud of another API', await forge(claims({ aud: 'other-api' }))],
      ['aud in another case', await forge(claims({ aud: 'Gatehouse' }))],
      ['aud empty', await forge(claims({ aud: '' }))],
      ['aud empty array', await forge(claims({ aud: [] }))],
      ['aud array without ours', await forge(claims({ aud: ['other-api', 'another'] }))],
      ['aud nested array', await forge(claims({ aud: [[SETTINGS.audience]] }))],
      ['aud object', await forge(claims({ aud: { [SETTINGS.audience]: true } }))],
      ['aud null', await forge(claims({ aud: null }))],
    ]);
  });

  it('CLM-03: aud as an array that contains ours is accepted', async () => {
    const { forge, claims, fresh } = setup();
    expect(fresh().verify(await forge(claims({ aud: [SETTINGS.audience] }))).aud).toBe(SETTINGS.audience);
    expect(fresh().verify(await forge(claims({ aud: ['other-api', SETTINGS.audience] }))).aud).toBe(SETTINGS.audience);
  });
});

describe('CLM-04: claim types', () => {
  it('CLM-04: non-string iss is refused', async () => {
    const { forge, claims, tokens } = setup();
    expectAllInvalid(tokens, [
      ['iss number', await forge(claims({ iss: 123 }))],
      ['iss array of ours', await forge(claims({ iss: [SETTINGS.issuer] }))],
      ['iss object', await forge(claims({ iss: { url: SETTINGS.issuer } }))],
      ['iss null', await forge(claims({ iss: null }))],
      ['iss true', await forge(claims({ iss: true }))],
    ]);
  });

  it('CLM-04: non-string or empty sub is refused', async () => {
    const { forge, claims, tokens } = setup();
    expectAllInvalid(tokens, [
      ['sub missing', await forge(claims({ sub: undefined }))],
      ['sub number', await forge(claims({ sub: 123 }))],
      ['sub zero', await forge(claims({ sub: 0 }))],
      ['sub array', await forge(claims({ sub: [SUBJECT.userId] }))],
      ['sub object', await forge(claims({ sub: { id: SUBJECT.userId } }))],
      ['sub null', await forge(claims({ sub: null }))],
      ['sub true', await forge(claims({ sub: true }))],
      ['sub empty', await forge(claims({ sub: '' }))],
    ]);
  });

  it('sid, jti and role must be present and well-typed', async () => {
    const { forge, claims, tokens } = setup();
    expectAllInvalid(tokens, [
      ['sid missing', await forge(claims({ sid: undefined }))],
      ['sid number', await forge(claims({ sid: 1 }))],
      ['jti missing', await forge(claims({ jti: undefined }))],
      ['jti number', await forge(claims({ jti: 7 }))],
      ['role missing', await forge(claims({ role: undefined }))],
      ['role unknown', await forge(claims({ role: 'superuser' }))],
      ['role in another case', await forge(claims({ role: 'Admin' }))],
      ['role array', await forge(claims({ role: ['admin'] }))],
    ]);
  });
});

describe('CLM-06: only access tokens pass', () => {
  it('CLM-06: a JWT signed with the right key but with typ JWT, another typ or no typ is refused', async () => {
    const { forge, claims, tokens } = setup();
    expectAllInvalid(tokens, [
      ['typ JWT', await forge(claims(), { typ: 'JWT' })],
      ['typ jwt', await forge(claims(), { typ: 'jwt' })],
      ['no typ', await forge(claims(), {})],
      ['typ empty', await forge(claims(), { typ: '' })],
      ['typ JOSE', await forge(claims(), { typ: 'JOSE' })],
      ['typ id_token-ish', await forge(claims(), { typ: 'id+jwt' })],
      ['typ refresh', await forge(claims(), { typ: 'rt+jwt' })],
      ['typ logout', await forge(claims(), { typ: 'logout+jwt' })],
      ['typ with padding', await forge(claims(), { typ: ' at+jwt' })],
      ['typ array', await forge(claims(), { typ: ['at+jwt'] })],
      ['typ null', await forge(claims(), { typ: null })],
      ['cty at+jwt but typ JWT', await forge(claims(), { typ: 'JWT', cty: 'at+jwt' })],
    ]);
  });

  it('CLM-06: typ at+jwt and application/at+jwt are accepted (RFC 9068)', async () => {
    const { forge, claims, fresh } = setup();
    expect(fresh().verify(await forge(claims(), { typ: 'at+jwt' })).sub).toBe('user-1');
    expect(fresh().verify(await forge(claims(), { typ: 'application/at+jwt' })).sub).toBe('user-1');
  });

  it('CLM-06: an opaque refresh-token-shaped string is not an access token', () => {
    const { tokens } = setup();
    expectRefused(() => tokens.verify('AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'), 'invalid');
    expectRefused(() => tokens.verify(''), 'invalid');
  });
});

describe('RFC 9068 claims and the session end', () => {
  it('SES-07: exp is capped at the session end (floored to the second); expires_in is exp - iat', async () => {
    const { tokens, clock } = setup();
    const nowS = Math.floor(clock.now() / 1000);
    for (const [label, endInMs, want] of [
      ['far', 30 * 86_400_000, TTL_S],
      ['10 s left', 10_000, 10],
      ['10.9 s left', 10_900, 10],
      ['exactly the TTL left', SETTINGS.ttlMs, TTL_S],
      ['0.5 s left', 500, 0],
    ] as const) {
      const minted = await tokens.mint({ ...SUBJECT, notAfter: clock.now() + endInMs });
      const payload = decode(minted.token.split('.')[1]!);
      expect(payload.exp, label).toBe(nowS + want);
      expect(payload.exp as number, label).toBeLessThanOrEqual(Math.floor((clock.now() + endInMs) / 1000));
      expect(minted.expiresIn, label).toBe(want);
    }
  });

  it('client_id, scope and auth_time are read back; tokens from before they existed verify as the first-party client', async () => {
    const { tokens, forge, claims } = setup();
    const verified = tokens.verify(await tokens.issue({ ...SUBJECT, clientId: 'console', scope: 'items.read' }));
    expect(verified).toMatchObject({ client_id: 'console', scope: 'items.read', auth_time: Math.floor(SUBJECT.authTime / 1000) });
    const legacy = tokens.verify(await forge(claims()));
    expect(legacy).toMatchObject({ client_id: 'gatehouse', scope: '' });
    expect(legacy.auth_time).toBeUndefined();
  });

  it('CLM-04: client_id, scope and auth_time of the wrong type, or auth_time in the future, are refused', async () => {
    const { tokens, forge, claims, nowS } = setup();
    expectAllInvalid(tokens, [
      ['client_id number', await forge(claims({ client_id: 5 }))],
      ['client_id empty', await forge(claims({ client_id: '' }))],
      ['client_id null', await forge(claims({ client_id: null }))],
      ['scope array', await forge(claims({ scope: ['a'] }))],
      ['scope null', await forge(claims({ scope: null }))],
      ['auth_time string', await forge(claims({ auth_time: '1' }))],
      ['auth_time in the future', await forge(claims({ auth_time: nowS() + 3600 }))],
    ]);
  });
});

describe('the verified-token cache', () => {
  it('a cached token still expires when the clock moves past exp (the cache does not extend lifetime)', async () => {
    const { tokens, clock } = setup();
    const token = await tokens.issue(SUBJECT);
    expect(tokens.verify(token).sub).toBe('user-1'); // now cached
    clock.advance(SETTINGS.ttlMs - 1_000);
    expect(tokens.verify(token).sub).toBe('user-1');
    clock.advance(SETTINGS.leewayMs + 2_000);
    expectRefused(() => tokens.verify(token), 'expired', 'first check after expiry');
    expectRefused(() => tokens.verify(token), 'expired', 'second check after expiry');
  });

  it('a cached token is refused exactly where an uncached one would be', async () => {
    const { tokens, clock, fresh } = setup();
    const token = await tokens.issue(SUBJECT);
    tokens.verify(token);
    clock.advance(SETTINGS.ttlMs + SETTINGS.leewayMs - 1);
    expect(tokens.verify(token).sub).toBe('user-1');
    expect(fresh().verify(token).sub).toBe('user-1');
    clock.advance(1);
    expectRefused(() => tokens.verify(token), 'expired', 'cached');
    expectRefused(() => fresh().verify(token), 'expired', 'uncached');
  });

  it('a failed verification is not cached: a bad token is refused every time', async () => {
    const { tokens, forge, claims, clock } = setup();
    const good = await tokens.issue(SUBJECT);
    tokens.verify(good);
    const [h, p, s] = good.split('.') as [string, string, string];
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decode(p), role: 'admin' })).toString('base64url')}.${s}`;
    const wrongIssuer = await forge(claims({ iss: 'https://evil.test' }));
    const notYet = await forge(claims({ nbf: Math.floor(clock.now() / 1000) + 600 }));
    const idToken = await forge(claims(), { typ: 'JWT' });
    for (const bad of [tampered, wrongIssuer, notYet, idToken, `${h}.${p}.`]) {
      expectRefused(() => tokens.verify(bad), 'invalid', 'first');
      expectRefused(() => tokens.verify(bad), 'invalid', 'second');
    }
    // The good token is unaffected.
    expect(tokens.verify(good).role).toBe('user');
  });

  it('a token that expired before its first verification is not cached either', async () => {
    const { tokens, clock } = setup();
    const token = await tokens.issue(SUBJECT);
    clock.advance(SETTINGS.ttlMs + SETTINGS.leewayMs + 1_000);
    expectRefused(() => tokens.verify(token), 'expired');
    clock.set(START);
    // Back in its lifetime (clock skew corrected) it verifies normally, then expires again.
    expect(tokens.verify(token).sub).toBe('user-1');
    clock.advance(SETTINGS.ttlMs + SETTINGS.leewayMs + 1_000);
    expectRefused(() => tokens.verify(token), 'expired');
  });

  it('swapping the key ring forgets cached tokens of keys that are no longer trusted', async () => {
    const { tokens } = setup();
    const token = await tokens.issue(SUBJECT);
    tokens.verify(token);
    const other = KeyRing.fromStoredKeys([generateSigningKey('EdDSA', START)], 'EdDSA', START);
    tokens.setKeyRing(other);
    expectRefused(() => tokens.verify(token), 'invalid');
    expect(tokens.verify(await tokens.issue(SUBJECT)).sub).toBe('user-1');
  });
});
