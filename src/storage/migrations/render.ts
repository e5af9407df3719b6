import { createHash } from 'node:crypto';
import type { Dialect, Migration } from '../sql/driver.js';

/**
 * One migration as written, for both dialects. Never edit one that has shipped (start-up refuses a
 * database whose applied migrations no longer match their checksums): add the next number.
 */
export interface MigrationSource {
  readonly version: number;
  readonly name: string;
  /** SQL with the named column types below in braces. */
  readonly statements: readonly string[];
}

/**
 * The dialects differ only in a few column types, named here:
 * - KEY: text that is ordered or paged by; Postgres uses the "C" collation so that keyset
 *   pagination orders by bytes, exactly as SQLite does.
 * - INT64: a 64-bit integer (epoch milliseconds, cents).
 * - BOOL: a flag (SQLite stores 0/1); FALSE its false.
 */
const TYPES: Record<Dialect, Record<'KEY' | 'INT64' | 'BOOL' | 'FALSE', string>> = {
  sqlite: { KEY: 'TEXT', INT64: 'INTEGER', BOOL: 'INTEGER', FALSE: '0' },
  postgres: { KEY: 'TEXT COLLATE "C"', INT64: 'BIGINT', BOOL: 'BOOLEAN', FALSE: 'FALSE' },
};

/**
 * The checksum of what a migration does on one dialect: its statements as rendered, whitespace
 * runs counted as one space (re-indenting a file is not a change; any other edit is).
 */
export function checksum(statements: readonly string[]): string {
  const text = statements.map((sql) => sql.replace(/\s+/g, ' ').trim()).join(';\n');
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function render(sources: readonly MigrationSource[], dialect: Dialect): Migration[] {
  const types = TYPES[dialect];
  return sources.map((m) => {
    const statements = m.statements.map((sql) => sql.replace(/\{(KEY|INT64|BOOL|FALSE)\}/g, (_, name: keyof typeof types) => types[name]));
    return { version: m.version, name: m.name, statements, checksum: checksum(statements) };
  });
}
