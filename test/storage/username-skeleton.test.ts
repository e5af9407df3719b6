import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/core/errors.js';
import { newId } from '../../src/core/ids.js';
import type { User } from '../../src/core/model.js';
import { usernameSkeleton } from '../../src/core/normalize.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { openDriver } from '../../src/storage/open.js';
import type { SqlDriver } from '../../src/storage/sql/driver.js';
import { createSqlStorage } from '../../src/storage/sql/stores.js';
import { backends, freshSchema } from '../helpers/storage.js';
import { CHEAP_ARGON2, PASSWORD, buildTestApp } from '../helpers/app.js';
import { PasswordHasher } from '../../src/core/auth/password-hasher.js';
import { loadConfig } from '../../src/config/index.js';
import { createServices } from '../../src/services.js';

const NOW = Date.UTC(2026, 5, 1);
const CYRILLIC_A = '\u0430';

function user(username: string): User {
  const id = newId(NOW);
  return {
    id,
    username,
    email: `${id.slice(-12)}@example.com`,
    name: null,
    role: 'user',
    disabled: false,
    emailVerified: false,
    passwordHash: 'x',
    createdAt: NOW,
    updatedAt: NOW,
  };
}

/** A fresh, empty database of the backend's kind, not yet migrated. */
async function emptyDatabase(name: string): Promise<{ driver: SqlDriver; dispose(): Promise<void>; drop(): Promise<void> }> {
  if (name === 'sqlite') {
    const driver = openDriver('sqlite::memory:');
    return { driver, dispose: () => driver.close(), drop: async () => {} };
  }
  const url = process.env.TEST_DATABASE_URL!;
  const { schema, drop } = await freshSchema(url);
  const driver = openDriver(url, { schema });
  return {
    driver,
    drop,
    dispose: async () => {
      await driver.close();
      await drop();
    },
  };
}

describe.each(backends())('ID-02/04 username skeletons and legacy rows in storage: $name', (backend) => {
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

  it('ID-02/04: rows from before migration 4 are brought to the new rules at start-up, by every instance at once; look-alikes are reported and kept', async () => {
    const db = await emptyDatabase(backend.name);
    dispose = db.dispose;
    await db.driver.migrate(MIGRATIONS[db.driver.dialect].filter((m) => m.version < 4));
    const passwordHash = await new PasswordHasher(CHEAP_ARGON2).hash(PASSWORD);
    // As the old rules stored them: NFKC + toLowerCase, so a final sigma, ß and a trailing dot stayed.
    const legacy = (username: string, email: string): User => ({ ...user(username), email, passwordHash });
    const alex = legacy('alex', 'alex@example.test');
    const fake = legacy(`${CYRILLIC_A}lex`, 'fake@example.test');
    const odos = legacy('xοδος', 'οδος@example.test.');
    const strasse = legacy('straße', 'strasse@example.test');
    for (const u of [alex, fake, odos, strasse]) {
      await db.driver.run('INSERT INTO users (id, username, email, name, role, disabled, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        u.id,
        u.username,
        u.email,
        u.name,
        u.role,
        u.disabled,
        u.passwordHash,
        u.createdAt,
        u.updatedAt,
      ]);
    }
    // Migration 4 and any later one (5: email) apply over the legacy rows.
    expect(await db.driver.migrate(MIGRATIONS[db.driver.dialect])).toEqual(MIGRATIONS[db.driver.dialect].filter((m) => m.version >= 4).map((m) => m.version));
    const storage = createSqlStorage(db.driver);

    // Two instances start together on the upgraded database: both finish, with the same answer.
    const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', JWT_ISSUER: 'http://gatehouse.test', RATE_LIMIT: 'off' });
    const [one, two] = await Promise.all([createServices(config, storage, { argon2: CHEAP_ARGON2 }), createServices(config, storage, { argon2: CHEAP_ARGON2 })]);
    expect(one.lookAlikeUsers).toEqual([fake.id]);
    expect(two.lookAlikeUsers).toEqual([fake.id]);

    const t = await buildTestApp({}, { storage });
    dispose = async () => {
      await t.close();
      await db.drop();
    };
    expect(t.services.lookAlikeUsers).toEqual([fake.id]);
    expect(await storage.users.findById(odos.id)).toMatchObject({ username: 'xοδοσ', email: 'οδοσ@example.test' });
    expect(await storage.users.findById(strasse.id)).toMatchObject({ username: 'strasse' });
    expect(await storage.users.findById(fake.id)).toMatchObject({ username: `${CYRILLIC_A}lex` });
    const signIn = (login: string) => t.app.inject({ method: 'POST', url: '/auth/login', payload: { login, password: PASSWORD } });
    for (const [login, id] of [
      ['XΟΔΟΣ', odos.id],
      ['ΟΔΟΣ@EXAMPLE.TEST.', odos.id],
      ['STRASSE', strasse.id],
      ['alex', alex.id],
      ['fake@example.test', fake.id],
    ] as const) {
      const res = await signIn(login);
      expect(res.statusCode, login).toBe(200);
      expect(res.json<{ user: { id: string } }>().user.id).toBe(id);
    }
    // The kept look-alike blocks nothing new it did not block before; a new look-alike is refused.
    const again = await t.app.inject({ method: 'POST', url: '/auth/register', payload: { username: `ale${'\u0445'}`, email: 'new@example.test', password: PASSWORD } });
    expect(again.statusCode).toBe(409);
  });

  it('a migration numbered below one already applied still runs (version 3 may land after 4)', async () => {
    const db = await emptyDatabase(backend.name);
    dispose = db.dispose;
    const all = MIGRATIONS[db.driver.dialect];
    // A database that got 4 before 3 existed (the branches were merged in the other order).
    const before = all.filter((m) => m.version !== 3);
    expect(before.map((m) => m.version)).toContain(4);
    expect(await db.driver.migrate(before)).toEqual(before.map((m) => m.version));
    expect(await db.driver.migrate(all)).toEqual([3]);
    expect(await db.driver.migrate(all)).toEqual([]);
  });
});
