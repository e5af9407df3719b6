import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

const PYTHON = '/usr/bin/python3';
const hasAuthlib = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import authlib']).status === 0;
if (!hasAuthlib && !process.env.CI) console.warn('authlib metadata validation skipped: apt-get install python3-authlib. In CI it fails instead.');

/** The discovery documents as a third party validates them: authlib's RFC 8414 and OIDC Discovery validators. */
describe.skipIf(!hasAuthlib && !process.env.CI)('metadata validated by authlib', () => {
  let t: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-metadata-'));
  beforeAll(async () => {
    t = await buildTestApp({ PUBLIC_URL: 'https://auth.example.com' });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('RFC 8414 and OpenID Connect Discovery: authlib finds both documents valid', async () => {
    if (!hasAuthlib) throw new Error('CI needs python3-authlib: .ci/run installs it.');
    for (const [file, url] of [
      ['oauth.json', '/.well-known/oauth-authorization-server'],
      ['openid.json', '/.well-known/openid-configuration'],
    ]) {
      writeFileSync(join(dir, file!), (await t.app.inject({ method: 'GET', url })).body);
    }
    const run = spawnSync(PYTHON, [join(import.meta.dirname, '../fixtures/validate-metadata.py'), join(dir, 'oauth.json'), join(dir, 'openid.json')], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('valid');
  });

  it('the validators are not blind: a document claiming the implicit flow without what it needs fails', () => {
    if (!hasAuthlib) throw new Error('CI needs python3-authlib.');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ issuer: 'http://auth.example.com', response_types_supported: ['token'] }));
    const run = spawnSync(PYTHON, [join(import.meta.dirname, '../fixtures/validate-metadata.py'), join(dir, 'bad.json'), join(dir, 'bad.json')], { encoding: 'utf8' });
    expect(run.status).not.toBe(0);
  });
});
