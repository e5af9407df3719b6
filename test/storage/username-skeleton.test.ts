import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/core/errors.js';
import { newId } from '../../src/core/ids.js';
import type { User } from '../../src/core/model.js';
import { usernameSkeleton } from '../../src/core/normalize.js';
import { MIGRATIONS } from '../../src/storage/migrations.js';
import { openDriver } from '../../src/storage/open.js';
import type { SqlDriver } from '../../src/storage/sql/driver.js';
import { createSqlStorage } from '../../src/storage/sql/stores.js';
import { backends, freshSchema } from '../helpers/storage.js';

const NOW = Date.UTC(2026, 5, 1);
const CYRILLIC_A = '\u0430';

function user(username: string): User {
  const id = newId(NOW);
  return { id, username, email: `${id.slice(-12)}@example.com`, name: null, role: 'user', disabled: false, passwordHash: 'x', createdAt: NOW, updatedAt: NOW };
}

/** A fresh, empty database of the backend's kind, not yet migrated. */
async function emptyDatabase(name: string): Promise<{ driver: SqlDriver; dispose(): Promise<void> }> {
  if (name === 'sqlite') {
    const driver = openDriver('sqlite::memory:');
    return { driver, dispose: () => driver.close() };
  }
  const url = process.env.TEST_DATABASE_URL!;
  const { schema, drop } = await freshSchema(url);
  const driver = openDriver(url, { schema });
  return {
    driver,
    dispose: async () => {
      await driver.close();
      await drop();
    },
  };
}

describe.each(backends())('ID-04 username skeletons in storage: $name', (backend) => {
  let dispose: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await dispose?.();
    dispose = undefined;
  });

  it('ID-04: the skeleton is stored on create and rename, found by findByUsernameSkeleton, and unique', async () => {
    const opened = await backend.open();
    dispose = opened.dispose;
    const { users } = opened.storage;
    const alex = user('alex');
    await users.create(alex);
    expect(await users.findByUsernameSkeleton(usernameSkeleton(`${CYRILLIC_A}lex`))).toEqual(alex);

    const lookalike = user(`${CYRILLIC_A}lex`);
    const refused = await users.create(lookalike).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as ConflictError).field).toBe('username');
    expect(await users.findById(lookalike.id)).toBeNull();

    const other = user('someone');
    await users.create(other);
    const renamed = await users.update(other.id, { username: `${CYRILLIC_A}lex`, updatedAt: NOW + 1 }).catch((error: unknown) => error);
    expect(renamed).toBeInstanceOf(ConflictError);
    expect((await users.findById(other.id))?.username).toBe('someone');
    // Renaming moves the skeleton with the name: the old one is free again.
    await users.update(other.id, { username: 'someone2', updatedAt: NOW + 2 });
    expect((await users.findByUsernameSkeleton(usernameSkeleton('someone2')))?.id).toBe(other.id);
    expect(await users.findByUsernameSkeleton(usernameSkeleton('someone'))).toBeNull();
  });

  it('ID-04: two look-alikes created at once: exactly one is stored', async () => {
    const opened = await backend.open();
    dispose = opened.dispose;
    const { users } = opened.storage;
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled([users.create(user(`bob${round}`)), users.create(user(`b${'\u043e'}b${round}`))]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(ConflictError);
    }
  });

  it('ID-04: rows from before migration 4 get their skeleton at start-up; look-alikes among them are reported, twice-run is a no-op', async () => {
    const db = await emptyDatabase(backend.name);
    dispose = db.dispose;
    const before4 = MIGRATIONS[db.driver.dialect].filter((m) => m.version < 4);
    await db.driver.migrate(before4);
    const insert = (u: User) =>
      db.driver.run('INSERT INTO users (id, username, email, name, role, disabled, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        u.id, u.username, u.email, u.name, u.role, u.disabled, u.passwordHash, u.createdAt, u.updatedAt,
      ]);
    const alex = user('alex');
    const fake = user(`${CYRILLIC_A}lex`);
    const carol = user('carol');
    for (const u of [alex, fake, carol]) await insert(u);

    expect(await db.driver.migrate(MIGRATIONS[db.driver.dialect])).toEqual([4]);
    const storage = createSqlStorage(db.driver);
    // Two instances starting together fill the same rows: both finish, with the same answer.
    const [first, second] = await Promise.all([storage.users.fillUsernameSkeletons(), storage.users.fillUsernameSkeletons()]);
    expect(first).toEqual([fake.id]);
    expect(second).toEqual([fake.id]);
    expect((await storage.users.findByUsernameSkeleton(usernameSkeleton('alex')))?.id).toBe(alex.id);
    expect((await storage.users.findByUsernameSkeleton(usernameSkeleton('carol')))?.id).toBe(carol.id);
    expect(await storage.users.fillUsernameSkeletons()).toEqual([fake.id]);
    // The look-alike is kept (it can still sign in), and a new look-alike is refused.
    expect(await storage.users.findById(fake.id)).not.toBeNull();
    await expect(storage.users.create(user(`ale${'\u0445'}`))).rejects.toBeInstanceOf(ConflictError);
  });

  it('a migration numbered below one already applied still runs (version 3 may land after 4)', async () => {
    const db = await emptyDatabase(backend.name);
    dispose = db.dispose;
    const all = MIGRATIONS[db.driver.dialect];
    expect(await db.driver.migrate(all)).toEqual(all.map((m) => m.version));
    const late = { version: 3, name: 'late', statements: ['CREATE TABLE late_arrival (id TEXT PRIMARY KEY)'] };
    const merged = [...all.filter((m) => m.version < 3), late, ...all.filter((m) => m.version > 3)];
    expect(await db.driver.migrate(merged)).toEqual([3]);
    expect(await db.driver.migrate(merged)).toEqual([]);
  });
});
