import { AppError } from '../../core/errors.js';
import type { Migration } from './driver.js';

/** A row of schema_migrations; `checksum` is null for those applied by a release that kept none. */
export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string | null;
}

/**
 * Where one migration stands on a database: `pending` (not applied), `applied` (checksum matches),
 * `unrecorded` (applied before checksums were kept: recorded on the next migrate) or `changed`.
 */
export interface MigrationStatus {
  readonly version: number;
  readonly name: string;
  readonly state: 'pending' | 'applied' | 'unrecorded' | 'changed';
  readonly checksum: string;
}

/**
 * An applied migration whose text no longer matches what was applied. Starting anyway would run a
 * schema that differs from the one the code (and the next migrations) expect, silently; so the
 * start stops, naming it, and an operator decides.
 */
export class MigrationChangedError extends AppError {
  constructor(readonly changed: readonly MigrationStatus[]) {
    const names = changed.map((m) => `${m.version} (${m.name})`).join(', ');
    super(
      'ERR_MIGRATION_CHANGED',
      `applied migration${changed.length > 1 ? 's' : ''} ${names} changed since applied (checksum mismatch); restore the shipped migration files, never edit an applied one`,
    );
  }
}

export function migrationStatus(applied: readonly AppliedMigration[], migrations: readonly Migration[]): MigrationStatus[] {
  const byVersion = new Map(applied.map((a) => [a.version, a]));
  return migrations.map((m) => {
    const row = byVersion.get(m.version);
    const state = !row ? 'pending' : row.checksum === null ? 'unrecorded' : row.checksum === m.checksum ? 'applied' : 'changed';
    return { version: m.version, name: m.name, state, checksum: m.checksum };
  });
}

/** What migrate() does: refuses changed migrations, else the checksums to record and the migrations to apply. */
export function migrationPlan(applied: readonly AppliedMigration[], migrations: readonly Migration[]): { record: Migration[]; apply: Migration[] } {
  const status = migrationStatus(applied, migrations);
  const changed = status.filter((s) => s.state === 'changed');
  if (changed.length) throw new MigrationChangedError(changed);
  const pick = (state: MigrationStatus['state']) => migrations.filter((_, i) => status[i]!.state === state);
  return { record: pick('unrecorded'), apply: pick('pending') };
}

/** The table, as this release creates it; a database from an earlier one gets the checksum column added. */
export const MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {INT64} NOT NULL, checksum TEXT)';
