import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startServerProcess } from '../helpers/server.js';

/**
 * The signing algorithm belongs to the deployment's stored keys, not to the environment of whichever
 * process runs next: `keys rotate` follows it, refuses a JWT_ALGORITHM that contradicts it, changes
 * it only when asked with --algorithm, and the server refuses to start with a contradicting one.
 */
// Each CLI run starts a process (about 1 s, several under load).
describe('keys CLI and JWT_ALGORITHM against the stored keys (real CLI, one SQLite file)', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
  // JWT_ALGORITHM '' is "not set", whatever the test runner's own environment holds.
  const base = { DATABASE_URL: `sqlite:${join(dir, 'g.db')}`, JWT_ALGORITHM: '', KEY_RELOAD_INTERVAL: '5m' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const keys = () => {
    const listed = runCli(['keys', 'list'], base);
    expect(listed.status, listed.stderr).toBe(0);
    return listed.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'))
      .map(([kid, alg, state]) => ({ kid: kid!, alg: alg!, state: state! }));
  };

  it('the first key takes JWT_ALGORITHM (ES256 here)', () => {
    const first = runCli(['keys', 'list'], { ...base, JWT_ALGORITHM: 'ES256' });
    expect(first.status, first.stderr).toBe(0);
    expect(keys()).toEqual([expect.objectContaining({ alg: 'ES256', state: 'signing' })]);
  });

  it('keys rotate without JWT_ALGORITHM follows the stored ES256 keys (not the EdDSA default) and says so', () => {
    const rotated = runCli(['keys', 'rotate'], base);
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/^published ES256 key \S+; it signs from /);
    expect(rotated.stdout).toMatch(/ES256: the algorithm of this deployment's stored keys/);
    expect(keys().map((k) => k.alg)).toEqual(['ES256', 'ES256']);
  });

  it('keys rotate refuses a JWT_ALGORITHM that differs from the stored keys, and adds nothing', () => {
    const refused = runCli(['keys', 'rotate'], { ...base, JWT_ALGORITHM: 'EdDSA' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/JWT_ALGORITHM=EdDSA but this deployment's signing keys are ES256/);
    expect(refused.stderr).toMatch(/keys rotate --algorithm EdDSA/);
    expect(runCli(['keys', 'rotate', '--algorithm', 'HS256'], base).status).toBe(2);
    expect(keys()).toHaveLength(2);
  });

  it('a server without JWT_ALGORITHM serves the stored ES256 keys and adds no key of its default', async () => {
    const server = await startServerProcess(base);
    try {
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { alg: string }[] };
      expect(jwks.keys.map((k) => k.alg)).toEqual(['ES256', 'ES256']);
      expect(server.logs.join('')).toMatch(/"algorithm":"ES256".*"gatehouse ready"/);
    } finally {
      await server.stop();
    }
    expect(keys().map((k) => k.alg)).toEqual(['ES256', 'ES256']);
  });

  it('a server whose JWT_ALGORITHM differs from the stored keys refuses to start, with what to do', () => {
    const refused = runCli(['serve'], { ...base, JWT_ALGORITHM: 'RS256', PORT: '0' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/JWT_ALGORITHM=RS256 but this deployment's signing keys are ES256/);
    expect(refused.stderr).toMatch(/gatehouse keys rotate --algorithm RS256/);
    expect(keys()).toHaveLength(2);
  });

  it('with WORKERS=2 the primary refuses the same start once, before forking any worker', async () => {
    const refused = runCli(['serve'], { ...base, JWT_ALGORITHM: 'RS256', WORKERS: '2', PORT: String(await freePort()), LOG_LEVEL: 'info' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/JWT_ALGORITHM=RS256 but this deployment's signing keys are ES256/);
    expect(refused.stdout).not.toMatch(/started 2 workers/);
    expect(keys()).toHaveLength(2);
  });

  it('keys rotate --algorithm changes the algorithm as a rotation: the new key is next, ES256 still signs', () => {
    const changed = runCli(['keys', 'rotate', '--algorithm', 'EdDSA'], { ...base, JWT_ALGORITHM: 'ES256' });
    expect(changed.status, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/^published EdDSA key \S+;/);
    expect(changed.stdout).toMatch(/changed the algorithm from ES256 to EdDSA/);
    const now = keys();
    expect(now.find((k) => k.alg === 'EdDSA')?.state).toBe('next');
    expect(now.filter((k) => k.state === 'signing').map((k) => k.alg)).toEqual(['ES256']);
    // From now on the deployment is EdDSA: a plain rotate follows it, the old setting is refused.
    expect(runCli(['keys', 'rotate'], { ...base, JWT_ALGORITHM: 'ES256' }).status).toBe(1);
    expect(runCli(['keys', 'rotate'], base).stdout).toMatch(/^published EdDSA key/);
  });
});
