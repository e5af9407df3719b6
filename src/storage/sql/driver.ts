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
  /** Runs the statements in one transaction; false (and nothing written) when an expectation failed. */
  batch(statements: readonly Statement[]): Promise<boolean>;
  /** Applies the migrations not yet applied, safely when several instances start at once. */
  migrate(migrations: readonly Migration[]): Promise<number[]>;
  close(): Promise<void>;
}

/** A unique constraint refused the write; stores turn it into a domain conflict. */
export class UniqueViolation extends Error {
  constructor(readonly detail: string) {
    super(`unique constraint violated: ${detail}`);
    this.name = 'UniqueViolation';
  }
}
