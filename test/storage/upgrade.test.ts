import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { usernameSkeleton } from '../../src/core/normalize.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { migrate, migrationStatus, openDriver, openStorageAtStartup } from '../../src/storage/open.js';
import type { SqlDriver, SqlParam } from '../../src/storage/sql/driver.js';
import { MigrationChangedError } from '../../src/storage/sql/migration-check.js';
import { createSqlStorage } from '../../src/storage/sql/stores.js';
import { PASSWORD, buildTestApp, signUp } from '../helpers/app.js';
import { backends } from '../helpers/storage.js';
import { PREVIOUS_TABLES, previousReleaseRotate, previousReleaseSchema } from '../fixtures/release-581192b.js';
import { loadConfig } from '../../src/config/index.js';

type Row = Record<string, unknown>;

async function snapshot(driver: SqlDriver, columnsOf: (table: string) => string = (t) => PREVIOUS_TABLES[t]!.columns.join(', ')): Promise<Record<string, Row[]>> {
  const out: Record<string, Row[]> = {};
  for (const [table, { key }] of Object.entries(PREVIOUS_TABLES)) {
    out[table] = await driver.all<Row>(`SELECT ${columnsOf(table)} FROM ${table} ORDER BY ${key}`);
  }
  return out;
}

/**
 * Rows as a running service writes them (real password hashes, refresh-token chains, signing keys,
 * the token secrets in settings, audit events): made by today's service on a scratch database, then
 * copied, the previous release's columns only, into a database of the previous release's schema.
 */
async function previousReleaseDatabase(target: SqlDriver) {
  const scratch = openDriver('sqlite::memory:');
  await migrate(scratch);
  const t = await buildTestApp({}, { storage: createSqlStorage(scratch) });
  try {
    const admin = await signUp(t, { admin: true, username: 'old_admin' });
    const alice = await signUp(t, { username: 'Old_Alice' });
    const created = await t.app.inject({ method: 'POST', url: '/items', headers: alice.auth, payload: { name: 'old-item', price: 1234, description: 'from before' } });
    expect(created.statusCode).toBe(201);
    // A chain of two, rotated the way that release did it: the old session's current refresh token
    // has a row of its own and a parent.
    const refreshToken = await previousReleaseRotate(scratch, alice.refreshToken, Date.now());

    await previousReleaseSchema(target);
    const rows = await snapshot(scratch);
    for (const [table, { columns }] of Object.entries(PREVIOUS_TABLES)) {
      for (const row of rows[table]!) {
        const values = columns.map((c) => (c === 'disabled' && target.dialect === 'postgres' ? Boolean(row[c]) : row[c]) as SqlParam);
        await target.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, values);
      }
    }
    return { admin, alice, refreshToken, parentToken: alice.refreshToken };
  } finally {
    await t.close();
  }
}

describe.each(backends())('upgrade from the previous release (581192b, migrations 1-2, no checksums): $name', (backend) => {
  let dispose: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await dispose?.();
    dispose = undefined;
  });

  it('migrates to the current schema with nothing lost, records checksums, and the service works on the old rows', async () => {
    const { driver, dispose: drop } = await backend.openEmpty();
    dispose = drop;
    const { alice, refreshToken, parentToken } = await previousReleaseDatabase(driver);
    const before = await snapshot(driver);
    expect(before.users).toHaveLength(2);
    expect(before.sessions).toHaveLength(2);
    expect(before.refresh_tokens!.length).toBeGreaterThanOrEqual(3);
    expect(before.items).toHaveLength(1);
    expect(before.signing_keys!.length).toBeGreaterThanOrEqual(1);
    expect(before.audit_events!.length).toBeGreaterThanOrEqual(3);
    // Every migration after the previous release's two is new to this database.
    const newer = MIGRATIONS[driver.dialect].filter((m) => m.version > 2).map((m) => m.version);
    expect((await migrationStatus(driver)).map((m) => m.state)).toEqual(['unrecorded', 'unrecorded', ...newer.map(() => 'pending')]);

    expect(await migrate(driver)).toEqual(newer);

    // Every row and column of the old schema is still there, unchanged.
    expect(await snapshot(driver)).toEqual(before);
    const sessions = await driver.all<{ client_id: string; scope: string }>('SELECT client_id, scope FROM sessions');
    expect(sessions).toEqual(before.sessions!.map(() => ({ client_id: 'gatehouse', scope: '' })));
    // Checksums of the two old migrations recorded on this first start after the upgrade.
    const recorded = await driver.all<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations ORDER BY version');
    expect(recorded).toEqual(MIGRATIONS[driver.dialect].map((m) => ({ version: m.version, checksum: m.checksum })));
    expect((await migrationStatus(driver)).every((m) => m.state === 'applied')).toBe(true);
    expect(await migrate(driver)).toEqual([]);

    // Start-up (createServices) fills the skeletons; then an old user logs in and an old refresh token works.
    const t = await buildTestApp({}, { storage: createSqlStorage(driver) });
    try {
      const skeletons = await driver.all<{ username: string; username_skeleton: string | null }>('SELECT username, username_skeleton FROM users ORDER BY id');
      expect(skeletons).toEqual(before.users!.map((u) => ({ username: u.username, username_skeleton: usernameSkeleton(String(u.username)) })));
      const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: alice.username, password: PASSWORD } });
      expect(login.statusCode).toBe(200);
      const refresh = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken } });
      expect(refresh.statusCode).toBe(200);
      const refreshed = refresh.json() as { access_token: string; refresh_token: string };
      const me = await t.app.inject({ method: 'GET', url: '/items/old-item', headers: { authorization: `Bearer ${refreshed.access_token}` } });
      expect(me.statusCode).toBe(200);
      // The chain goes on in today's form from the old token...
      const next = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshed.refresh_token } });
      expect(next.statusCode).toBe(200);
      // ...and the old chain's rotated parent, replayed, is still recognised: SES-02 revokes the session.
      t.clock.advance(60_000);
      const replay = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: parentToken } });
      expect(replay.statusCode).toBe(401);
      const after = await t.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: (next.json() as { refresh_token: string }).refresh_token } });
      expect(after.statusCode).toBe(401);
    } finally {
      await t.app.close();
    }
  });

  it('an applied migration that changed stops the start with one line naming it, and writes nothing', async () => {
    const { driver, dispose: drop } = await backend.openEmpty();
    dispose = drop;
    await migrate(driver);
    const changed = MIGRATIONS[driver.dialect].map((m) =>
      m.version === 2 ? { ...m, statements: [...m.statements, 'CREATE INDEX audit_events_at ON audit_events (at)'], checksum: 'sha256:edited' } : m,
    );
    const later = [...changed, { version: 99, name: 'later', statements: ['CREATE TABLE later (id TEXT)'], checksum: 'sha256:later' }];
    const refused = await driver.migrate(later).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MigrationChangedError);
    expect((refused as Error).message).toMatch(/^applied migration 2 \(audit\) changed since applied/);
    // Nothing of the refused run was applied: not migration 99, not its row.
    expect(await driver.all('SELECT version FROM schema_migrations WHERE version = 99')).toEqual([]);
    // 1 applied, 2 changed, every later shipped one applied, 99 pending.
    expect((await driver.migrationStatus(later)).map((m) => m.state)).toEqual(['applied', 'changed', ...changed.slice(2).map(() => 'applied'), 'pending']);
  });
});

describe('a tampered applied migration at start-up', () => {
  it('openStorageAtStartup ends at once with one AppError line naming the migration', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-tamper-')), 'db.sqlite')}`;
    const driver = openDriver(url);
    await migrate(driver);
    // What a database looks like after migration 1's file was edited and applied elsewhere.
    await driver.run(`UPDATE schema_migrations SET checksum = 'sha256:0000' WHERE version = 1`);
    await driver.close();
    const config = loadConfig({ DATABASE_URL: url, PUBLIC_URL: 'http://gatehouse.test' });
    const logs: string[] = [];
    const started = Date.now();
    const error = await openStorageAtStartup(url, { timeouts: config.timeouts, log: (_l, msg) => logs.push(msg) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('ERR_STARTUP_DATABASE');
    expect((error as AppError).message).toMatch(/ERR_MIGRATION_CHANGED: applied migration 1 \(core\) changed since applied/);
    expect((error as AppError).message).not.toContain('\n');
    expect(logs).toEqual([]); // no retries: waiting cannot fix it
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
