import { afterEach, describe, expect, it } from 'vitest';
import { createSqlStorage } from '../../src/storage/sql/stores.js';
import { migrate, openDriver } from '../../src/storage/open.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

let ctx: TestApp | null = null;
afterEach(async () => {
  await ctx?.close();
  ctx = null;
});

describe('a database out of space', () => {
  it('writes answer 503 problem+json ERR_STORAGE_FULL with Retry-After, never 500; /ready says so (IN-07)', async () => {
    // Real SQLite, capped at its current size (PRAGMA max_page_count): the next page it needs fails
    // with SQLITE_FULL, exactly as on a full disk.
    const driver = openDriver('sqlite::memory:');
    await migrate(driver);
    const storage = createSqlStorage(driver);
    ctx = await buildTestApp({}, { storage });
    const pages = (await driver.get<{ page_count: number }>('PRAGMA page_count'))!.page_count;
    await driver.all(`PRAGMA max_page_count = ${pages}`);

    const statuses: number[] = [];
    let full: Awaited<ReturnType<typeof ctx.app.inject>> | null = null;
    for (let i = 0; i < 100 && !full; i++) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { username: `filler${i}`, email: `filler${i}@example.com`, password: 'a fine filler passphrase' },
      });
      statuses.push(res.statusCode);
      if (res.statusCode !== 201) full = res;
    }
    expect(full, `statuses: ${statuses.join(',')}`).not.toBeNull();
    expect(full!.statusCode).toBe(503);
    expect(full!.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(full!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(full!.json()).toMatchObject({ status: 503, code: 'ERR_STORAGE_FULL' });
    expect(full!.body).not.toMatch(/SQLITE|sqlite/);

    const ready = await ctx.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.storage).toMatch(/^down/);
    expect((await ctx.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
