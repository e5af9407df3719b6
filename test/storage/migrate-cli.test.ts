import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { migrate, openDriver } from '../../src/storage/open.js';
import { runCli } from '../helpers/server.js';

const env = (url: string) => ({ DATABASE_URL: url, PUBLIC_URL: 'http://gatehouse.test' });

describe('gatehouse migrate --dry-run and checksums through the real CLI', () => {
  it('lists what would be applied and applies nothing; then the checksum state of each applied migration', { timeout: 90_000 }, async () => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-migrate-')), 'db.sqlite')}`;

    const dry = runCli(['migrate', '--dry-run'], env(url));
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^0001 core: would be applied \(sha256:[0-9a-f]{12}\)$/m);
    expect(dry.stdout).toMatch(/^0004 username skeleton: would be applied/m);
    expect(dry.stdout).toContain(`dry run: would apply migrations ${MIGRATIONS.sqlite.map((m) => m.version).join(', ')}; nothing applied`);
    const driver = openDriver(url);
    try {
      // Nothing applied: no tables at all.
      expect(await driver.all(`SELECT name FROM sqlite_master WHERE type = 'table'`)).toEqual([]);
      // A database migrated before checksums: its rows have none until the next migrate.
      await migrate(driver);
      await driver.run('UPDATE schema_migrations SET checksum = NULL WHERE version <= 2');
      await driver.run(`UPDATE schema_migrations SET checksum = 'sha256:0000' WHERE version = 3`);
    } finally {
      await driver.close();
    }

    const state = runCli(['migrate', '--dry-run'], env(url));
    expect(state.status).toBe(0);
    expect(state.stdout).toMatch(/^0001 core: applied, no checksum yet/m);
    expect(state.stdout).toMatch(/^0003 session_client: applied, CHANGED since/m);
    expect(state.stdout).toMatch(/^0004 username skeleton: applied, checksum matches/m);
    expect(state.stdout).toMatch(/dry run: migrate would stop: applied migration 3 \(session_client\) changed/);

    // The real run refuses, in one line and no stack, and records nothing (1 and 2 still without checksums).
    const refused = runCli(['migrate'], env(url));
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^gatehouse: applied migration 3 \(session_client\) changed since applied .*\(ERR_MIGRATION_CHANGED\)$/),
    ]);
    // So does the server's start: one line naming the migration, exit 1.
    const serve = runCli(['serve'], { ...env(url), PORT: '0' });
    expect(serve.status).toBe(1);
    expect(serve.stderr).toMatch(/^gatehouse: cannot open the database: ERR_MIGRATION_CHANGED: applied migration 3 \(session_client\) changed/m);
    expect(serve.stderr).not.toMatch(/^\s+at /m);
    const after = runCli(['migrate', '--dry-run'], env(url));
    expect(after.stdout).toMatch(/^0002 audit: applied, no checksum yet/m);
  });
});
