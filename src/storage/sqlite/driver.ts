import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnavailableError } from '../../core/errors.js';
import { Circuit, describe } from '../circuit.js';
import { migrationPlan, migrationStatus, MIGRATIONS_TABLE, type AppliedMigration, type MigrationStatus } from '../sql/migration-check.js';
import { DEFAULT_DEADLINES, UniqueViolation, type Deadlines, type Migration, type SqlDriver, type SqlParam, type Statement } from '../sql/driver.js';

type Bindable = string | number | null;

// better-sqlite3 binds no booleans; SQLite stores them as 0/1 anyway.
function bind(params: readonly SqlParam[]): Bindable[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

const codeOf = (error: unknown): string => (error instanceof Error ? ((error as { code?: string }).code ?? '') : '');

function translate(error: unknown): unknown {
  const code = codeOf(error);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return new UniqueViolation((error as Error).message);
  // A full disk (or a file at its size limit) is the operator's to fix, not the client's fault.
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'ENOSPC') {
    return UnavailableError.full(describe(error));
  }
  return error;
}

const ROLLBACK = Symbol('rollback');

type Row = Record<string, unknown>;

/**
 * A statement that reads, with the function that makes its row objects. better-sqlite3 builds a
 * row by setting each column on an empty object, looking each column's name up in V8's string
 * table as it goes: 17 lookups and as many shape changes for a session row, 120 for a page of 20
 * users. The statement returns its values as an array instead (`raw`), and one object literal per
 * statement, made once from the column names, takes them: every row of a statement has one shape.
 */
interface Reader {
  readonly statement: Database.Statement;
  readonly row: (values: unknown[]) => Row;
}

function rowMaker(columns: readonly string[]): (values: unknown[]) => Row {
  // The names come from our own SQL, and JSON.stringify quotes each as a property name.
  const fields = columns.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(', ');
  return new Function('v', `return { ${fields} };`) as (values: unknown[]) => Row;
}

/** tryNow's answer when another process holds the lock: the lock's error. */
class Busy {
  constructor(readonly error: unknown) {}
}

const isBusy = (error: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(codeOf(error));

// How long one attempt may block the event loop waiting for another process's lock: not at all.
// better-sqlite3 is synchronous, so SQLite's own busy wait would freeze every request of this process.
const BLOCKING_WAIT_MS = 0;
// At open, nothing is served yet: waiting there is harmless and makes concurrent first starts safe.
const STARTUP_WAIT_MS = 5000;

/**
 * better-sqlite3 is synchronous: each call finishes before the event loop moves on, so there are
 * no interleaved transactions to guard against, and a prepared statement costs microseconds.
 * When another process (a second instance, the CLI, a backup) holds the write lock, a statement
 * fails at once with SQLITE_BUSY and is retried after an asynchronous pause, until the statement
 * deadline: other requests (reads, /health) are served meanwhile.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly skipLocked = '';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly readers = new Map<string, Reader>();
  /** Writes queued behind one that waits for another process's lock (see write()). */
  private waitingWrites = 0;
  readonly circuit: Circuit;
  lastFullAt = 0;
  // Writes wait for a lock one at a time: only the first polls it, however many are queued.
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    path: string,
    private readonly deadlines: Deadlines = DEFAULT_DEADLINES,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: STARTUP_WAIT_MS });
    // Switching to WAL needs a moment alone with the file: a second instance opening it at the
    // same time waits (busy timeout above) instead of failing with SQLITE_BUSY.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.circuit = new Circuit('storage', deadlines.retryMs, deadlines.onCircuitChange);
    this.transaction = this.db.transaction((statements: readonly Statement[]) => {
      for (const s of statements) {
        const changes = this.prepare(s.sql).run(...bind(s.params)).changes;
        if (s.expectChanges !== undefined && changes !== s.expectChanges) throw ROLLBACK;
      }
    }).immediate;
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private reader(sql: string): Reader {
    let reader = this.readers.get(sql);
    if (!reader) {
      const statement = this.db.prepare(sql).raw(true);
      reader = { statement, row: rowMaker(statement.columns().map((c) => c.name)) };
      this.readers.set(sql, reader);
    }
    return reader;
  }

  private rows<T>(sql: string, params: readonly SqlParam[]): T[] {
    const { statement, row } = this.reader(sql);
    return (statement.all(...bind(params)) as unknown[][]).map(row) as T[];
  }

  /**
   * A write: tried at once, unless writes are already queued behind one that waits for another
   * process's lock; then it queues behind them, so writes keep their order.
   */
  private write<T>(work: () => T): Promise<T> {
    if (this.waitingWrites === 0) {
      const done = this.tryNow(work);
      if (!(done instanceof Busy)) return done;
    }
    const deadline = Date.now() + this.deadlines.statementMs;
    this.waitingWrites++;
    const result = this.writes.then(() => this.attempt(work, deadline)).finally(() => this.waitingWrites--);
    this.writes = result.catch(() => {});
    return result;
  }

  /**
   * One try of `work`, in this tick: its result (or failure) as a settled promise, or Busy when
   * another process holds the lock. Most statements end at their first try, without the async
   * retry loop and the promises it takes.
   */
  private tryNow<T>(work: () => T): Promise<T> | Busy {
    try {
      const result = work();
      this.circuit.succeed();
      return Promise.resolve(result);
    } catch (error) {
      return isBusy(error) ? new Busy(error) : Promise.reject(this.failure(error));
    }
  }

  /** A statement's error as the rest of Gatehouse sees it (a full disk is remembered for /health). */
  private failure(error: unknown): unknown {
    const translated = translate(error);
    if (translated instanceof UnavailableError) this.lastFullAt = Date.now();
    return translated;
  }

  /** A read: tried at once; while another process holds the lock, retried until the deadline. */
  private read<T>(work: () => T): Promise<T> {
    const done = this.tryNow(work);
    return done instanceof Busy ? this.attempt(work) : done;
  }

  /** Runs `work`, retrying asynchronously while another process holds the lock, up to the deadline. */
  private async attempt<T>(work: () => T, deadline = Date.now() + this.deadlines.statementMs): Promise<T> {
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      const done = this.tryNow(work);
      if (!(done instanceof Busy)) return done;
      if (Date.now() + pause > deadline) {
        this.circuit.fail(done.error);
        throw new UnavailableError(
          'ERR_STORAGE_UNAVAILABLE',
          'The database is locked by another process; try again shortly.',
          this.circuit.retryAfterSeconds,
          describe(done.error),
        );
      }
      await sleep(pause);
    }
  }

  all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.read(() => this.rows<T>(sql, params));
  }

  get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return this.read(() => {
      const { statement, row } = this.reader(sql);
      const values = statement.get(...bind(params)) as unknown[] | undefined;
      return values === undefined ? undefined : (row(values) as T);
    });
  }

  run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return this.write(() => this.prepare(sql).run(...bind(params)).changes);
  }

  // RETURNING needs SQLite 3.35; better-sqlite3 bundles a later one. `lock` as in batch().
  returning<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.write(() => this.rows<T>(sql, params));
  }

  // Built once: better-sqlite3 makes a transaction function's wrappers each time it is asked for
  // one, which a refresh (one batch per call) paid on every request.
  private readonly transaction: (statements: readonly Statement[]) => void;

  // `lock` needs nothing here: BEGIN IMMEDIATE already makes writers take turns.
  async batch(statements: readonly Statement[]): Promise<boolean> {
    try {
      await this.write(() => this.transaction(statements));
      return true;
    } catch (error) {
      if (error === ROLLBACK) return false;
      throw error;
    }
  }

  /** The applied migrations; none when the table is not there yet, no checksums when it predates them. */
  private applied(): AppliedMigration[] {
    const columns = (this.db.prepare(`SELECT name FROM pragma_table_info('schema_migrations')`).all() as { name: string }[]).map((c) => c.name);
    if (columns.length === 0) return [];
    return this.db.prepare(`SELECT version, name, ${columns.includes('checksum') ? 'checksum' : 'NULL AS checksum'} FROM schema_migrations`).all() as AppliedMigration[];
  }

  async migrationStatus(migrations: readonly Migration[]): Promise<MigrationStatus[]> {
    return this.attempt(() => migrationStatus(this.applied(), migrations));
  }

  async migrate(migrations: readonly Migration[]): Promise<number[]> {
    const applied: number[] = [];
    await this.attempt(() => {
      applied.length = 0;
      this.db
        .transaction(() => {
          const before = this.applied();
          const plan = migrationPlan(before, migrations);
          this.db.exec(MIGRATIONS_TABLE.replace('{INT64}', 'INTEGER'));
          const hasChecksums = this.db.prepare(`SELECT 1 FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'`).get() !== undefined;
          if (!hasChecksums) this.db.exec('ALTER TABLE schema_migrations ADD COLUMN checksum TEXT');
          for (const m of plan.record) this.db.prepare('UPDATE schema_migrations SET checksum = ? WHERE version = ?').run(m.checksum, m.version);
          for (const m of plan.apply) {
            for (const sql of m.statements) this.db.exec(sql);
            this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES (?, ?, ?, ?)').run(m.version, m.name, Date.now(), m.checksum);
            applied.push(m.version);
          }
        })
        .immediate();
    });
    // From here on requests are served: waits for a lock happen in attempt(), off the event loop.
    this.db.pragma(`busy_timeout = ${BLOCKING_WAIT_MS}`);
    return applied;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
