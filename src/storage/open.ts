import type { Storage } from '../core/ports.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresDriver } from './postgres/driver.js';
import type { SqlDriver } from './sql/driver.js';
import { createSqlStorage } from './sql/stores.js';
import { SqliteDriver } from './sqlite/driver.js';

/** Picks the driver from the URL: `sqlite:<path>`, `sqlite::memory:` or `postgres://…`. */
export function openDriver(databaseUrl: string, options: { schema?: string } = {}): SqlDriver {
  if (databaseUrl.startsWith('sqlite:')) return new SqliteDriver(databaseUrl.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return new PostgresDriver({ connectionString: databaseUrl, ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}) });
  }
  throw new TypeError(`unsupported DATABASE_URL scheme: ${databaseUrl.split(':')[0]}`);
}

export async function migrate(driver: SqlDriver): Promise<number[]> {
  return driver.migrate(MIGRATIONS[driver.dialect]);
}

/** Opens the database, applies pending migrations, and returns the stores. */
export async function openStorage(databaseUrl: string, options: { schema?: string } = {}): Promise<Storage> {
  const driver = openDriver(databaseUrl, options);
  try {
    await migrate(driver);
  } catch (error) {
    await driver.close().catch(() => {});
    throw error;
  }
  return createSqlStorage(driver);
}
