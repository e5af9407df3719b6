import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDriver } from '../../src/storage/sqlite/driver.js';

// The SQLite driver's own rules, beneath the stores: rows as plain objects named by their columns
// (made from the raw values by one function per statement), and writes that keep their order
// while another process holds the write lock.
describe('SQLite driver', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const open = async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-driver-'));
    const path = join(dir, 'driver.db');
    const driver = new SqliteDriver(path);
    await driver.migrate([]); // from here on a held lock fails at once and is retried (no blocking wait)
    await driver.run('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, note TEXT)');
    return { driver, path };
  };

  it('rows carry their column names and aliases, any spelling; a missing row is undefined', async () => {
    const { driver } = await open();
    await driver.run('INSERT INTO t (name, note) VALUES (?, ?), (?, ?)', ['a', null, 'b', 'x']);
    expect(await driver.all('SELECT id, name, note FROM t ORDER BY id')).toEqual([
      { id: 1, name: 'a', note: null },
      { id: 2, name: 'b', note: 'x' },
    ]);
    // Names that are not identifiers (a quote, a space, a backslash) are still plain keys.
    expect(await driver.get(`SELECT name AS "it's a \\name", note AS "1" FROM t WHERE id = ?`, [2])).toEqual({ "it's a \\name": 'b', '1': 'x' });
    // The same name twice: the last column wins, as with better-sqlite3's own rows.
    expect(await driver.get('SELECT name AS v, note AS v FROM t WHERE id = ?', [2])).toEqual({ v: 'x' });
    expect(await driver.get('SELECT name FROM t WHERE id = ?', [99])).toBeUndefined();
    expect(await driver.returning('UPDATE t SET note = ? WHERE id = ? RETURNING id, note', ['y', 1])).toEqual([{ id: 1, note: 'y' }]);
    await driver.close();
  });

  it('a bad statement or parameter is a rejected promise, never a throw in the caller', async () => {
    const { driver } = await open();
    let thrown: unknown;
    const settled = (p: () => Promise<unknown>) => {
      try {
        return p().then(
          () => 'resolved',
          () => 'rejected',
        );
      } catch (error) {
        thrown = error;
        return 'thrown';
      }
    };
    expect(await settled(() => driver.get('SELECT nope FROM t'))).toBe('rejected');
    expect(await settled(() => driver.run('INSERT INTO t (name) VALUES (?)', [null]))).toBe('rejected');
    expect(thrown).toBeUndefined();
    await driver.close();
  });

  it('writes keep their order while another process holds the lock: a later write never overtakes a waiting one', async () => {
    const { driver, path } = await open();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const first = driver.run('INSERT INTO t (name) VALUES (?)', ['first']);
    // The lock is free again before the first write's retry: the second must still wait its turn.
    other.exec('COMMIT');
    const second = driver.run('INSERT INTO t (name) VALUES (?)', ['second']);
    await Promise.all([first, second]);
    expect(await driver.all('SELECT name FROM t ORDER BY id')).toEqual([{ name: 'first' }, { name: 'second' }]);
    other.close();
    await driver.close();
  });
});
