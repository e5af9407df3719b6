import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UniqueViolation, type Migration, type SqlDriver, type SqlParam, type Statement } from '../sql/driver.js';

type Bindable = string | number | null;

// better-sqlite3 binds no booleans; SQLite stores them as 0/1 anyway.
function bind(params: readonly SqlParam[]): Bindable[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

function translate(error: unknown): unknown {
  if (error instanceof Error && (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return new UniqueViolation(error.message);
  if (error instanceof Error && (error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return new UniqueViolation(error.message);
  return error;
}

/**
 * better-sqlite3 is synchronous: each call finishes before the event loop moves on, so there are
 * no interleaved transactions to guard against, and a prepared statement costs microseconds.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly skipLocked = '';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.prepare(sql).all(...bind(params)) as T[];
  }

  async get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return this.prepare(sql).get(...bind(params)) as T | undefined;
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    try {
      return this.prepare(sql).run(...bind(params)).changes;
    } catch (error) {
      throw translate(error);
    }
  }

  async batch(statements: readonly Statement[]): Promise<boolean> {
    const rollback = Symbol('rollback');
    try {
      this.db.transaction(() => {
        for (const s of statements) {
          const changes = this.prepare(s.sql).run(...bind(s.params)).changes;
          if (s.expectChanges !== undefined && changes !== s.expectChanges) throw rollback;
        }
      }).immediate();
      return true;
    } catch (error) {
      if (error === rollback) return false;
      throw translate(error);
    }
  }

  async migrate(migrations: readonly Migration[]): Promise<number[]> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const applied: number[] = [];
    this.db.transaction(() => {
      const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        for (const sql of m.statements) this.db.exec(sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
        applied.push(m.version);
      }
    }).immediate();
    return applied;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
