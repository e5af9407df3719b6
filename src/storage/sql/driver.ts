import type { Circuit } from '../circuit.js';
import type { MigrationStatus } from './migration-check.js';

export type Dialect = 'sqlite' | 'postgres';
export type SqlParam = string | number | boolean | null;

export interface Statement {
  readonly sql: string;
  readonly params: readonly SqlParam[];
  /** When set, the batch rolls back unless the statement changed exactly this many rows. */
  readonly expectChanges?: number;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
  /** Of the rendered statements (see migrations/render.ts), kept for each applied migration. */
  readonly checksum: string;
}

export interface LockOption {
  readonly lock?: string;
}

/**
 * The little a store needs from a database: parameterised queries (IN-02) written once with `?`
 * placeholders, and atomic batches. Each dialect's driver hides its client library.
 */
export interface SqlDriver {
  readonly dialect: Dialect;
  /**
   * Appended to a `SELECT` that claims rows for this process: Postgres skips rows another
   * transaction holds (`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time and needs nothing.
   */
  readonly skipLocked: string;
  all<T>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
  /** Returns how many rows changed. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>;
  /**
   * A write with `RETURNING`: the rows it wrote, as they are after it (no second read of the same
   * rows, which another writer could change in between). With `lock`, as in batch().
   */
  returning<T>(sql: string, params?: readonly SqlParam[], options?: LockOption): Promise<T[]>;
  /**
   * Runs the statements in one transaction; false (and nothing written) when an expectation failed.
   * With `lock`, transactions naming the same lock run one after the other (across processes); how
   * is the driver's business (Postgres: an advisory lock; SQLite: writers always take turns).
   */
  batch(statements: readonly Statement[], options?: LockOption): Promise<boolean>;
  /**
   * Applies the migrations not yet applied, safely when several instances start at once, and
   * returns their versions. First checks the applied ones against their checksums (throws
   * MigrationChangedError, nothing written, on a mismatch) and records those applied without one.
   */
  migrate(migrations: readonly Migration[]): Promise<number[]>;
  /** Where each migration stands, writing nothing (`gatehouse migrate --dry-run`). */
  migrationStatus(migrations: readonly Migration[]): Promise<MigrationStatus[]>;
  close(): Promise<void>;
  /** The database's circuit breaker: open while it is away (see circuit.ts). */
  readonly circuit: Circuit;
  /** When a write last failed for want of space (0: never); /ready stays 503 for a while after. */
  readonly lastFullAt: number;
}

/** How long a driver may wait on its database (see Timeouts in config). */
export interface Deadlines {
  readonly connectMs: number;
  readonly statementMs: number;
  readonly idleInTransactionMs: number;
  readonly retryMs: number;
  readonly onCircuitChange?: (circuit: Circuit) => void;
}

export const DEFAULT_DEADLINES: Deadlines = { connectMs: 5000, statementMs: 5000, idleInTransactionMs: 10_000, retryMs: 2000 };

/** A unique constraint refused the write; stores turn it into a domain conflict. */
export class UniqueViolation extends Error {
  constructor(readonly detail: string) {
    super(`unique constraint violated: ${detail}`);
    this.name = 'UniqueViolation';
  }
}
