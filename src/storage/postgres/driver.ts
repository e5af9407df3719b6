import pg from 'pg';
import { UniqueViolation, type Migration, type SqlDriver, type SqlParam, type Statement } from '../sql/driver.js';

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

// Any constant will do; it only has to be the same for every Gatehouse instance.
const MIGRATION_LOCK = 0x6761_7465;

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly skipLocked = 'FOR UPDATE SKIP LOCKED';
  private readonly pool: pg.Pool;
  private readonly texts = new Map<string, string>();

  constructor(config: pg.PoolConfig) {
    this.pool = new pg.Pool({ max: 10, ...config });
    // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
    this.pool.on('error', () => {});
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
    return (await this.pool.query({ text: this.text(sql), values: params as SqlParam[] })).rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    try {
      return (await this.pool.query({ text: this.text(sql), values: params as SqlParam[] })).rowCount ?? 0;
    } catch (error) {
      throw translate(error);
    }
  }

  async batch(statements: readonly Statement[]): Promise<boolean> {
    return this.inTransaction(async (client) => {
      for (const s of statements) {
        const changes = (await client.query({ text: this.text(s.sql), values: s.params as SqlParam[] })).rowCount ?? 0;
        if (s.expectChanges !== undefined && changes !== s.expectChanges) return false;
      }
      return true;
    });
  }

  async migrate(migrations: readonly Migration[]): Promise<number[]> {
    return this.inTransaction(async (client) => {
      // Instances starting together wait here for each other instead of racing the DDL.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        for (const sql of m.statements) await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        applied.push(m.version);
      }
      return applied;
    }, true);
  }

  /** Commits when `work` returns truthy, rolls back when it returns false or throws. */
  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>, alwaysCommit = false): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query(result === false && !alwaysCommit ? 'ROLLBACK' : 'COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw translate(error);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
