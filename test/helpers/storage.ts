import pg from 'pg';
import { randomBytes } from 'node:crypto';
import type { Storage } from '../../src/core/ports.js';
import { openDriver, openStorage } from '../../src/storage/open.js';
import type { SqlDriver } from '../../src/storage/sql/driver.js';

export interface Backend {
  readonly name: string;
  /** A fresh, migrated, empty storage, and how to throw it away. */
  open(): Promise<{ storage: Storage; databaseUrl: string; schema?: string; dispose(): Promise<void> }>;
  /** A fresh database with no tables at all (for migration tests). */
  openEmpty(): Promise<{ driver: SqlDriver; dispose(): Promise<void> }>;
}

/**
 * SQLite always; Postgres when TEST_DATABASE_URL is set (CI sets it). Each Postgres storage gets
 * a schema of its own, dropped afterwards, so runs never see each other's rows.
 */
export function backends(): Backend[] {
  const list: Backend[] = [
    {
      name: 'sqlite',
      open: async () => {
        const storage = await openStorage('sqlite::memory:');
        return { storage, databaseUrl: 'sqlite::memory:', dispose: () => storage.close() };
      },
      openEmpty: async () => {
        const driver = openDriver('sqlite::memory:');
        return { driver, dispose: () => driver.close() };
      },
    },
  ];
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    list.push({
      name: 'postgres',
      open: async () => {
        const { schema, drop } = await freshSchema(url);
        const storage = await openStorage(url, { schema });
        return {
          storage,
          databaseUrl: url,
          schema,
          dispose: async () => {
            await storage.close();
            await drop();
          },
        };
      },
      openEmpty: async () => {
        const { schema, drop } = await freshSchema(url);
        const driver = openDriver(url, { schema });
        return {
          driver,
          dispose: async () => {
            await driver.close();
            await drop();
          },
        };
      },
    });
  }
  return list;
}

async function query(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new, empty Postgres schema of its own, and how to drop it. */
export async function freshSchema(url: string): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `gh_test_${randomBytes(6).toString('hex')}`;
  await query(url, `CREATE SCHEMA ${schema}`);
  return { schema, drop: () => query(url, `DROP SCHEMA ${schema} CASCADE`) };
}
