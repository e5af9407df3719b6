import Database from 'better-sqlite3';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createVerifier } from '../src/index.js';
import { codeOf, jwksFetchesSeenBy, login, runCli, signUp, useGatehouse } from './helpers.js';

/**
 * Key rotation and an unreachable Gatehouse, against the real service: `gatehouse keys rotate`,
 * then `keys retire` of the old key (the CLI, on the server's database); the verifier picks up the
 * new key with exactly one
 * JWKS fetch, counted by the server itself (/metrics). Then the server stops, and the keys the
 * verifier holds keep working. The verifier's clock is moved by hand, so the cooldown is exact.
 */

const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

describe('key rotation and outage, live Gatehouse (EdDSA, KEY_RELOAD_INTERVAL=1s)', () => {
  const ctx = useGatehouse({ KEY_RELOAD_INTERVAL: '1s' });

  it('JWT-07: a new signing key is picked up with exactly one JWKS fetch, made-up kids cost none within the cooldown, and with Gatehouse stopped cached keys still verify', async () => {
    const server = ctx.server;
    const cli = (...args: string[]) => {
      const run = runCli(args, { DATABASE_URL: `sqlite:${server.dbPath}`, KEY_RELOAD_INTERVAL: '1s', LOG_LEVEL: 'warn' });
      expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      return run.stdout;
    };
    let clock = Date.now();
    const verifier = createVerifier({ issuer: server.url, audience: 'gatehouse', cooldown: 5_000, now: () => clock });

    const user = await signUp(server, 'rita');
    const oldKid = kidOf(user.access);
    expect((await verifier.verify(user.access)).sub).toBe(user.id);
    expect(verifier.keyFetches).toBe(1);

    const published = /published EdDSA key (\S+);/.exec(cli('keys', 'rotate'))?.[1];
    expect(published).toBeDefined();
    // A new key signs once it has been published for 2×KEY_RELOAD_INTERVAL + the JWKS max-age (62 s
    // here). Rather than wait, the test dates its publication back by two minutes in the database.
    const db = new Database(server.dbPath);
    try {
      expect(db.prepare('UPDATE signing_keys SET created_at = created_at - 120000 WHERE kid = ?').run(published).changes).toBe(1);
    } finally {
      db.close();
    }
    // The server reloads its keys every second: log in until a token carries the new kid.
    let rotated = await login(server, user.username, user.password);
    for (const deadline = Date.now() + 20_000; kidOf(rotated.access) === oldKid && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      rotated = await login(server, user.username, user.password);
    }
    const newKid = kidOf(rotated.access);
    expect(newKid).toBe(published);
    // The old key has stopped signing: retire it, so that it leaves the JWKS.
    expect(cli('keys', 'retire', oldKid)).toMatch(/retired/);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      if (!jwks.keys.some((k) => k.kid === oldKid)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // Counted from here: the polling above read the JWKS too.
    const fetchesBefore = await jwksFetchesSeenBy(server);
    // Within the cooldown of the first fetch, an unknown kid fetches nothing and is refused.
    clock += 1_000;
    expect(await codeOf(verifier.verify(rotated.access))).toBe('ERR_TOKEN_INVALID');
    expect(verifier.keyFetches).toBe(1);

    // After it: one fetch, and the new key verifies; concurrent and later tokens fetch nothing more.
    clock += 5_000;
    expect((await verifier.verify(rotated.access)).sub).toBe(user.id);
    const more = await Promise.all([1, 2, 3].map(() => login(server, user.username, user.password)));
    await Promise.all([...more, rotated, rotated].map((t) => verifier.verify(t.access)));
    expect(verifier.keyFetches).toBe(2);
    expect(await jwksFetchesSeenBy(server)).toBe(fetchesBefore + 1);

    // The retired key left the JWKS with that fetch: its tokens are refused now, and asking again
    // within the cooldown (a flood of old or made-up kids) fetches nothing.
    for (let i = 0; i < 20; i++) expect(await codeOf(verifier.verify(user.access))).toBe('ERR_TOKEN_INVALID');
    expect(await jwksFetchesSeenBy(server)).toBe(fetchesBefore + 1);

    // Gatehouse stops: the cached key still verifies.
    await server.stop();
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    for (const token of [rotated, ...more]) expect((await verifier.verify(token.access)).sub).toBe(user.id);
    // A verifier that never reached the keys cannot verify: a discovery failure (503), not a token error.
    expect(await codeOf(createVerifier({ issuer: server.url, audience: 'gatehouse', timeout: 1000 }).verify(rotated.access))).toBe('ERR_DISCOVERY_FAILED');
  }, 90_000);

  it('stale keys are kept when the re-fetch fails (cacheMaxAge passed, Gatehouse down)', async () => {
    // A JWKS host of its own that stops answering, and a clock moved past cacheMaxAge.
    const pair = generateKeyPairSync('ed25519');
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    let up = true;
    let hits = 0;
    const host = createServer((_req, res) => {
      hits++;
      if (!up) return res.socket?.destroy();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(host.address() as { port: number }).port}`;
    let clock = Date.now();
    const verifier = createVerifier({ issuer: 'https://auth.example', audience: 'api', jwksUri: `${url}/jwks`, cacheMaxAge: 60_000, now: () => clock });
    const token = (exp: number) => {
      const input = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'https://auth.example', aud: 'api', sub: 'u', sid: 's', role: 'user', client_id: 'c', jti: 'j', iat: Math.floor(clock / 1000), exp })).toString('base64url')}`;
      return `${input}.${sign(null, Buffer.from(input), pair.privateKey).toString('base64url')}`;
    };
    try {
      expect((await verifier.verify(token(Math.floor(clock / 1000) + 7200))).sub).toBe('u');
      up = false;
      clock += 120_000;
      expect((await verifier.verify(token(Math.floor(clock / 1000) + 600))).sub).toBe('u');
      expect(hits).toBe(2);
    } finally {
      host.closeAllConnections();
      await new Promise<void>((resolve) => host.close(() => resolve()));
    }
  });
});
