import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDriver } from '../../src/storage/open.js';
import { buildTestApp } from '../helpers/app.js';
import { runCli } from '../helpers/server.js';

describe('gatehouse providers add|list|remove through the real CLI', () => {
  it('stores a provider with its client secret sealed, serves it without a restart, and removes it', { timeout: 60_000 }, async () => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-providers-')), 'db.sqlite')}`;
    const env = { DATABASE_URL: url, PUBLIC_URL: 'http://gatehouse.test', SSO_PROVIDERS: JSON.stringify([{ preset: 'google', client_id: 'from-env' }]) };
    const secret = 'gh-client-secret-of-some-length';
    const add = runCli(['providers', 'add', 'gh', '--preset', 'github', '--client-id', 'Iv1.cli', '--api-url', 'http://127.0.0.1:9/api'], env, `${secret}\n`);
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    expect(add.stdout).toContain('callback URL to register at the provider: http://gatehouse.test/auth/sso/gh/callback');

    const list = runCli(['providers', 'list'], env);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^google\toidc\tGoogle\thttps:\/\/accounts\.google\.com\tclient from-env\tno secret\t\(environment\)$/m);
    expect(list.stdout).toMatch(/^gh\tgithub\tGitHub\thttp:\/\/127\.0\.0\.1:9\/api\tclient Iv1\.cli\tsecret set\t\(database\)$/m);
    expect(list.stdout).not.toContain(secret);

    // Only the sealed form is stored.
    const driver = openDriver(url);
    try {
      const rows = await driver.all<{ settings: string; client_secret_sealed: string }>('SELECT settings, client_secret_sealed FROM sso_providers');
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(secret);
      expect(rows[0]!.client_secret_sealed).toMatch(/^v1\./);
    } finally {
      await driver.close();
    }

    // A running service on that database offers it, and can open the secret.
    const t = await buildTestApp({ DATABASE_URL: url });
    try {
      expect((await t.app.inject({ method: 'GET', url: '/auth/providers' })).json()).toEqual({ items: [{ id: 'gh', name: 'GitHub', type: 'github' }] });
      expect((await t.services.providers.get('gh')).clientSecret).toBe(secret);
      const start = await t.app.inject({ method: 'GET', url: '/auth/sso/gh/start' });
      expect(start.statusCode).toBe(303);
      expect(String(start.headers.location)).toMatch(/^https:\/\/github\.com\/login\/oauth\/authorize\?client_id=Iv1\.cli&/);
    } finally {
      await t.close();
    }

    // Ids are unique, and those of SSO_PROVIDERS belong to the environment.
    expect(runCli(['providers', 'add', 'google', '--preset', 'google', '--client-id', 'x'], env, '\n').stderr).toContain('configured in SSO_PROVIDERS');

    const remove = runCli(['providers', 'remove', 'gh'], env);
    expect(remove.status).toBe(0);
    const after = openDriver(url);
    try {
      expect(await after.all('SELECT id FROM sso_providers')).toEqual([]);
      // Both changes are in the audit trail, from the CLI, without the secret.
      const events = await after.all<{ type: string; details: string; user_agent: string | null }>(
        "SELECT type, details, user_agent FROM audit_events WHERE type LIKE 'sso.provider_%' ORDER BY id",
      );
      expect(events.map((e) => e.type)).toEqual(['sso.provider_added', 'sso.provider_removed']);
      expect(JSON.parse(events[0]!.details)).toMatchObject({ provider: 'gh', type: 'github', client_id: 'Iv1.cli', has_secret: true });
      expect(JSON.parse(events[1]!.details)).toMatchObject({ provider: 'gh' });
      expect(events.every((e) => e.user_agent === 'gatehouse-cli')).toBe(true);
      expect(JSON.stringify(events)).not.toContain(secret);
    } finally {
      await after.close();
    }
  });
});
