import { setTimeout as sleep } from 'node:timers/promises';
import type { Timeouts } from '../config/index.js';
import { AppError, UnavailableError } from '../core/errors.js';
import { MIGRATIONS } from './migrations/index.js';
import { describe, type Circuit } from './circuit.js';
import { PostgresDriver } from './postgres/driver.js';
import { DEFAULT_DEADLINES, type Deadlines, type SqlDriver } from './sql/driver.js';
import { createSqlStorage, type SqlStorage } from './sql/stores.js';
import { SqliteDriver } from './sqlite/driver.js';
import type { MigrationStatus } from './sql/migration-check.js';

export interface OpenOptions {
  readonly schema?: string;
  /** The deadlines of config (DB_*_TIMEOUT); the defaults otherwise. */
  readonly timeouts?: Timeouts;
  readonly onCircuitChange?: (circuit: Circuit) => void;
}

function deadlines(options: OpenOptions): Deadlines {
  const t = options.timeouts;
  return {
    ...(t ? { connectMs: t.dbConnectMs, statementMs: t.dbStatementMs, idleInTransactionMs: t.dbIdleInTransactionMs, retryMs: t.dependencyRetryMs } : DEFAULT_DEADLINES),
    onCircuitChange: options.onCircuitChange,
  };
}

/** Picks the driver from the URL: `sqlite:<path>`, `sqlite::memory:` or `postgres://…`. */
export function openDriver(databaseUrl: string, options: OpenOptions = {}): SqlDriver {
  if (databaseUrl.startsWith('sqlite:')) return new SqliteDriver(databaseUrl.slice('sqlite:'.length), deadlines(options));
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return new PostgresDriver({ connectionString: databaseUrl, ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}) }, deadlines(options));
  }
  throw new TypeError(`unsupported DATABASE_URL scheme: ${databaseUrl.split(':')[0]}`);
}

export async function migrate(driver: SqlDriver): Promise<number[]> {
  return driver.migrate(MIGRATIONS[driver.dialect]);
}

/** Where each of this release's migrations stands on the database; writes nothing. */
export async function migrationStatus(driver: SqlDriver): Promise<MigrationStatus[]> {
  return driver.migrationStatus(MIGRATIONS[driver.dialect]);
}

/** Opens the database, applies pending migrations, and returns the stores. */
export async function openStorage(databaseUrl: string, options: OpenOptions = {}): Promise<SqlStorage> {
  const driver = openDriver(databaseUrl, options);
  try {
    await migrate(driver);
  } catch (error) {
    await driver.close().catch(() => {});
    throw error;
  }
  return createSqlStorage(driver);
}

/** One line of start-up progress, before any logger exists (JSON, like the service's log). */
export type StartupLog = (level: 'info' | 'warn' | 'error', msg: string, extra?: object) => void;

export const startupLog: StartupLog = (level, msg, extra = {}) => process.stdout.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, msg, ...extra })}\n`);

/**
 * Start-up: a database that is not there yet (starting alongside us, restarting) is waited for,
 * with backoff and one line per attempt, for at most `timeouts.startupMs`; then a one-line reason
 * (an AppError, which the CLI prints without a stack). Errors that waiting cannot fix (a wrong
 * password, a bad migration) end it at once, also in one line.
 */
export async function openStorageAtStartup(databaseUrl: string, options: OpenOptions & { timeouts: Timeouts; log?: StartupLog }): Promise<SqlStorage> {
  const log = options.log ?? startupLog;
  const started = Date.now();
  for (let attempt = 1, pause = 250; ; attempt++, pause = Math.min(pause * 2, 5000)) {
    try {
      const storage = await openStorage(databaseUrl, options);
      if (attempt > 1) log('info', `database reachable after ${attempt} attempts`);
      return storage;
    } catch (error) {
      const reason = error instanceof UnavailableError ? (error.reason ?? error.message) : describe(error);
      if (!(error instanceof UnavailableError) || error.code === 'ERR_STORAGE_FULL') {
        throw new AppError('ERR_STARTUP_DATABASE', `cannot open the database: ${reason}`);
      }
      const elapsed = Date.now() - started;
      if (elapsed >= options.timeouts.startupMs) {
        throw new AppError('ERR_STARTUP_DATABASE', `database not reachable after ${attempt} attempts in ${(elapsed / 1000).toFixed(1)} s (STARTUP_TIMEOUT): ${reason}`);
      }
      // The last attempt is made at the deadline, not a backoff step before it.
      const wait = Math.min(pause, options.timeouts.startupMs - elapsed);
      log('warn', `database not reachable (attempt ${attempt}): ${reason}; retrying in ${(wait / 1000).toFixed(2)} s`, { attempt });
      await sleep(wait);
    }
  }
}
