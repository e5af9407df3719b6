import pg from 'pg';
import { UnavailableError } from '../../core/errors.js';
import { Circuit, describe } from '../circuit.js';
import { migrationPlan, migrationStatus, MIGRATIONS_TABLE, type AppliedMigration, type MigrationStatus } from '../sql/migration-check.js';
import { DEFAULT_DEADLINES, UniqueViolation, type Deadlines, type LockOption, type Migration, type SqlDriver, type SqlParam, type Statement } from '../sql/driver.js';

// Times are epoch milliseconds in BIGINT columns: well inside a double's exact range.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** `?` placeholders become `$1…$n`; our SQL has no `?` inside string literals. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function translate(error: unknown): unknown {
  if (error instanceof Error && (error as { code?: string }).code === '23505') {
    return new UniqueViolation((error as { constraint?: string }).constraint ?? error.message);
  }
  return error;
}

// Socket errors, and SQLSTATEs that mean "the server is away or gave up", not "the query is wrong":
// class 08 (connection), 57014 (statement_timeout), 57P01-03 (shutting down, cannot connect now),
// 53300 (too many connections), 25P03 (idle-in-transaction timeout), 53200 (out of memory).
const AWAY_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '25P03',
  '53200',
]);
// pg and pg-pool report their own deadlines and dropped sockets by message only.
const AWAY_MESSAGES = /timeout|timed out|Connection terminated|connection error|not queryable|Connection ended|ECONNREFUSED/i;

function isAway(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code ?? '';
  if (AWAY_CODES.has(code) || code.startsWith('08')) return true;
  if (error instanceof AggregateError) return error.errors.some(isAway);
  return code === '' && AWAY_MESSAGES.test(error.message);
}

// Any constant will do; it only has to be the same for every Gatehouse instance.
const MIGRATION_LOCK = 0x6761_7465;

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly skipLocked = 'FOR UPDATE SKIP LOCKED';
  private readonly pool: pg.Pool;
  private readonly texts = new Map<string, string>();
  readonly circuit: Circuit;
  lastFullAt = 0;

  constructor(config: pg.PoolConfig, deadlines: Deadlines = DEFAULT_DEADLINES) {
    this.pool = new pg.Pool({
      max: 10,
      // Waiting for a connection (new or from the pool) is bounded: a black-holed server is found out.
      connectionTimeoutMillis: deadlines.connectMs,
      // The server cancels a slow statement itself; the client-side limit, a little longer, covers a
      // server that no longer answers at all (stopped, or the network dropping packets).
      statement_timeout: deadlines.statementMs,
      query_timeout: deadlines.statementMs + Math.min(1000, Math.ceil(deadlines.statementMs / 2)),
      idle_in_transaction_session_timeout: deadlines.idleInTransactionMs,
      keepAlive: true,
      ...config,
    });
    this.circuit = new Circuit('storage', deadlines.retryMs, deadlines.onCircuitChange);
    // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
    this.pool.on('error', () => {});
  }

  /**
   * Every call to the server: fails fast while the circuit is open, and turns "the server is away"
   * into an UnavailableError (503 with Retry-After) instead of an internal error.
   */
  private async guarded<T>(work: () => Promise<T>): Promise<T> {
    if (!this.circuit.allow()) throw this.unavailable();
    try {
      const result = await work();
      this.circuit.succeed();
      return result;
    } catch (error) {
      if (isAway(error)) {
        this.circuit.fail(error);
        throw this.unavailable();
      }
      // The server answered, if with an error: it is there.
      this.circuit.succeed();
      if ((error as { code?: string }).code === '53100') {
        this.lastFullAt = Date.now();
        throw UnavailableError.full(describe(error));
      }
      throw translate(error);
    }
  }

  private unavailable(): UnavailableError {
    return new UnavailableError('ERR_STORAGE_UNAVAILABLE', 'The database is not answering; try again shortly.', this.circuit.retryAfterSeconds, this.circuit.lastError);
  }

  private text(sql: string): string {
    let text = this.texts.get(sql);
    if (text === undefined) {
      text = numbered(sql);
      this.texts.set(sql, text);
    }
    return text;
  }

  async all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.guarded(async () => (await this.pool.query({ text: this.text(sql), values: params as SqlParam[] })).rows as T[]);
  }

  async get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return this.guarded(async () => (await this.pool.query({ text: this.text(sql), values: params as SqlParam[] })).rowCount ?? 0);
  }

  async returning<T>(sql: string, params: readonly SqlParam[] = [], options: LockOption = {}): Promise<T[]> {
    if (!options.lock) return this.all<T>(sql, params);
    return this.inTransaction(async (client) => {
      await this.lock(client, options.lock);
      return (await client.query({ text: this.text(sql), values: params as SqlParam[] })).rows as T[];
    }, true);
  }

  /**
   * Held to the end of the transaction: under READ COMMITTED, "insert unless there is one" or
   * "change unless it is the last admin" is safe only if such transactions take turns.
   */
  private async lock(client: pg.PoolClient, name: string | undefined): Promise<void> {
    if (name) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
  }

  async batch(statements: readonly Statement[], options: LockOption = {}): Promise<boolean> {
    return this.inTransaction(async (client) => {
      await this.lock(client, options.lock);
      for (const s of statements) {
        const changes = (await client.query({ text: this.text(s.sql), values: s.params as SqlParam[] })).rowCount ?? 0;
        if (s.expectChanges !== undefined && changes !== s.expectChanges) return false;
      }
      return true;
    });
  }

  /** The applied migrations; none when the table is not there yet, no checksums when it predates them. */
  private async applied(client: pg.PoolClient | pg.Pool): Promise<AppliedMigration[]> {
    const columns = (
      await client.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`)
    ).rows.map((c) => c.column_name);
    if (columns.length === 0) return [];
    return (await client.query<AppliedMigration>(`SELECT version, name, ${columns.includes('checksum') ? 'checksum' : 'NULL AS checksum'} FROM schema_migrations`)).rows;
  }

  async migrationStatus(migrations: readonly Migration[]): Promise<MigrationStatus[]> {
    return this.guarded(async () => migrationStatus(await this.applied(this.pool), migrations));
  }

  async migrate(migrations: readonly Migration[]): Promise<number[]> {
    return this.inTransaction(async (client) => {
      // Instances starting together wait here for each other instead of racing the DDL.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      // Throws before anything is written when an applied migration changed (the transaction rolls back).
      const plan = migrationPlan(await this.applied(client), migrations);
      await client.query(MIGRATIONS_TABLE.replace('{INT64}', 'BIGINT'));
      await client.query('ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT');
      for (const m of plan.record) await client.query('UPDATE schema_migrations SET checksum = $1 WHERE version = $2', [m.checksum, m.version]);
      const applied: number[] = [];
      for (const m of plan.apply) {
        for (const sql of m.statements) await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)', [m.version, m.name, Date.now(), m.checksum]);
        applied.push(m.version);
      }
      return applied;
    }, true);
  }

  /** Commits when `work` returns truthy, rolls back when it returns false or throws. */
  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>, alwaysCommit = false): Promise<T> {
    return this.guarded(async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query(result === false && !alwaysCommit ? 'ROLLBACK' : 'COMMIT');
        return result;
      } catch (error) {
        // A connection that timed out or dropped is not given back to the pool.
        if (isAway(error)) broken = error as Error;
        else await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  async close(): Promise<void> {
    // Connections stuck on a black-holed server would hold end() forever.
    await Promise.race([this.pool.end(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  }
}
