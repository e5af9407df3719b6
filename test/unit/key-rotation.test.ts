import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { UnauthenticatedError } from '../../src/core/errors.js';
import type { Storage } from '../../src/core/ports.js';
import { createServices, type Services } from '../../src/services.js';
import { CHEAP_ARGON2 } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { backends } from '../helpers/storage.js';

const ENV = { DATABASE_URL: 'sqlite::memory:', KEY_RELOAD_INTERVAL: '5s', ACCESS_TOKEN_TTL: '15m', JWT_CLOCK_LEEWAY: '30s' };
const config = loadConfig(ENV);
// Two reload intervals plus the JWKS cache lifetime: 2 × 5 s + 60 s.
const PROPAGATION = 70_000;

const RETENTION = 15 * 60_000 + 30_000;

describe.each(backends())('signing key rotation ($name)', (backend) => {
  let storage: Storage;
  let dispose: () => Promise<void>;
  let clock: TestClock;
  // Two services over one database stand for two running instances.
  let a: Services;
  let b: Services;

  beforeEach(async () => {
    ({ storage, dispose } = await backend.open());
    clock = new TestClock();
    a = await createServices(config, storage, { clock, argon2: CHEAP_ARGON2 });
    b = await createServices(config, storage, { clock, argon2: CHEAP_ARGON2 });
  });
  afterEach(() => dispose());

  const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;
  const token = (s: Services) =>
    s.tokens.issue({ userId: 'u1', sessionId: 's1', role: 'user', clientId: 'gatehouse', scope: '', authTime: s.clock.now(), notAfter: s.clock.now() + 86_400_000 });

  it('every instance on the database shares the first key', async () => {
    expect(a.tokens.keyRing.signingKey.kid).toBe(b.tokens.keyRing.signingKey.kid);
    expect(b.tokens.verify(await token(a)).sub).toBe('u1');
  });

  it('publishes a rotated key at once, signs with it after the propagation delay, verifies both', async () => {
    const oldKid = a.tokens.keyRing.signingKey.kid;
    const oldToken = await token(a);
    clock.advance(1_000);
    const rotated = await a.keys.rotate();
    await a.reloadKeys();
    await b.reloadKeys();
    // Published, not yet signing.
    expect(b.tokens.keyRing.jwks.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort());
    expect(kidOf(await token(a))).toBe(oldKid);
    expect((await a.keys.list()).find((k) => k.kid === rotated.kid)?.state).toBe('next');

    clock.advance(PROPAGATION);
    await a.reloadKeys();
    const newToken = await token(a);
    expect(kidOf(newToken)).toBe(rotated.kid);
    // B has not reloaded since, and still verifies the new key's tokens: it was published first.
    expect(b.tokens.verify(newToken).sub).toBe('u1');
    expect(a.tokens.verify(oldToken).sub).toBe('u1');
    expect((await a.keys.list()).find((k) => k.kid === oldKid)?.state).toBe('verifying');
  });

  it('drops a superseded key once every token it signed has expired', async () => {
    const oldKid = a.tokens.keyRing.signingKey.kid;
    clock.advance(1_000);
    await a.keys.rotate();
    clock.advance(PROPAGATION + RETENTION + 1);
    await a.reloadKeys();
    expect(a.tokens.keyRing.jwks.map((k) => k.kid)).not.toContain(oldKid);
    expect((await a.keys.list()).find((k) => k.kid === oldKid)?.state).toBe('expired');
  });

  it('retiring a key refuses its tokens at once; the signing key cannot be retired', async () => {
    const oldKid = a.tokens.keyRing.signingKey.kid;
    const oldToken = await token(a);
    await expect(a.keys.retire(oldKid)).rejects.toMatchObject({ code: 'ERR_KEYS_SIGNING' });
    clock.advance(1_000);
    await a.keys.rotate();
    clock.advance(PROPAGATION);
    await a.keys.retire(oldKid);
    await b.reloadKeys();
    expect(() => b.tokens.verify(oldToken)).toThrow(UnauthenticatedError);
    expect(b.tokens.keyRing.jwks.map((k) => k.kid)).not.toContain(oldKid);
    await expect(a.keys.retire('no-such-kid')).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
  });

  it('a change of algorithm is a rotation: every instance, whatever its JWT_ALGORITHM, signs EdDSA until the ES256 key has propagated, then ES256', async () => {
    const oldKid = a.tokens.keyRing.signingKey.kid;
    const oldToken = await token(a);
    clock.advance(1_000);
    const es = await a.keys.rotate({}, 'ES256');
    // An instance started with JWT_ALGORITHM=ES256 before the key propagated: it follows the keys.
    const c = await createServices(loadConfig({ ...ENV, JWT_ALGORITHM: 'ES256' }), storage, { clock, argon2: CHEAP_ARGON2 });
    await a.reloadKeys();
    for (const s of [a, c]) expect(s.tokens.keyRing.signingKey.kid, 'still the EdDSA key').toBe(oldKid);
    expect(await a.keys.storedAlgorithm()).toBe('ES256');
    clock.advance(PROPAGATION);
    await a.reloadKeys();
    await b.reloadKeys();
    await c.reloadKeys();
    for (const s of [a, b, c]) expect(s.tokens.keyRing.signingKey).toMatchObject({ kid: es.kid, alg: 'ES256' });
    // EdDSA tokens still verify everywhere until they expire.
    expect(c.tokens.verify(oldToken).sub).toBe('u1');
    expect(b.tokens.verify(await token(c)).sub).toBe('u1');
    // A plain rotation now stays in ES256 even for an instance whose default is EdDSA.
    expect((await b.keys.rotate()).alg).toBe('ES256');
    await expect(b.keys.assertConfiguredAlgorithm()).resolves.toBeUndefined();
    const explicit = await createServices(loadConfig({ ...ENV, JWT_ALGORITHM: 'EdDSA' }), storage, { clock, argon2: CHEAP_ARGON2 });
    await expect(explicit.keys.assertConfiguredAlgorithm()).rejects.toMatchObject({ code: 'ERR_KEYS_ALGORITHM' });
    await expect(explicit.keys.rotate()).rejects.toMatchObject({ code: 'ERR_KEYS_ALGORITHM' });
  });

  it('JWT-05/06: a token naming an unknown kid is refused without any lookup', async () => {
    const [, payload, signature] = (await token(a)).split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'https://attacker.example/key.json' })).toString('base64url');
    expect(() => a.tokens.verify(`${header}.${payload}.${signature}`)).toThrow(UnauthenticatedError);
  });
});
