import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createServices } from '../../src/services.js';
import { CHEAP_ARGON2, allPages } from '../helpers/app.js';
import { backends } from '../helpers/storage.js';

const ADMIN = { username: 'root', email: 'root@example.com', password: 'bootstrap admin passphrase' };

describe.each(backends())('SES-09: bootstrap of the first admin on $name', (backend) => {
  it('SES-09: five instances bootstrapping at once on an empty database all succeed; exactly one admin is made', async () => {
    const { storage, dispose } = await backend.open();
    try {
      const config = loadConfig({ DATABASE_URL: 'sqlite::memory:' });
      // Each instance has services of its own over the one database, as separate processes do.
      const instances = await Promise.all(Array.from({ length: 5 }, () => createServices(config, storage, { argon2: CHEAP_ARGON2 })));
      const results = await Promise.all(instances.map((s) => s.users.bootstrapAdmin(ADMIN)));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      const users = await allPages((after) => instances[0]!.users.list({ limit: 100, after }));
      expect(users.map((u) => [u.username, u.role])).toEqual([['root', 'admin']]);
      // And once it exists, every later start does nothing.
      expect(await instances[1]!.users.bootstrapAdmin(ADMIN)).toBeNull();
    } finally {
      await dispose();
    }
  });

  it('SES-09: a conflict with an account that is not an admin still stops the start (operator error, not a race)', async () => {
    const { storage, dispose } = await backend.open();
    try {
      const services = await createServices(loadConfig({ DATABASE_URL: 'sqlite::memory:' }), storage, { argon2: CHEAP_ARGON2 });
      await services.users.create({ username: 'root', email: 'someone@example.com', password: 'an ordinary passphrase' });
      await expect(services.users.bootstrapAdmin(ADMIN)).rejects.toMatchObject({ code: 'ERR_USER_CONFLICT' });
    } finally {
      await dispose();
    }
  });
});
