import type { ConflictError } from '../../core/errors.js';
import type { Page } from '../../core/model.js';
import { UniqueViolation, type SqlDriver, type SqlParam } from './driver.js';

/** One condition and its parameters; `undefined`/`false` entries are left out (an absent filter). */
export type Condition = readonly [sql: string, ...params: SqlParam[]] | undefined | false;

/** `WHERE a AND b` from the conditions present ('' when none), with their parameters in order. */
export function where(conditions: readonly Condition[]): { sql: string; params: SqlParam[] } {
  const present = conditions.filter((c): c is readonly [string, ...SqlParam[]] => Boolean(c));
  return {
    sql: present.length ? `WHERE ${present.map(([sql]) => sql).join(' AND ')}` : '',
    params: present.flatMap(([, ...params]) => params),
  };
}

/** Upper bound for a prefix range: every string that starts with `prefix` sorts below it. */
export function prefixRange(column: string, prefix: string | undefined): Condition {
  return prefix ? [`${column} >= ? AND ${column} < ?`, prefix, `${prefix}\u{10FFFF}`] : undefined;
}

export interface KeysetQuery<R, T> {
  /** `SELECT … FROM …` without WHERE. */
  readonly from: string;
  readonly conditions: readonly Condition[];
  /** The unique column pages are ordered and cut by (KEY-typed: byte order on both dialects). */
  readonly key: string;
  readonly descending?: boolean;
  /** The key of the last row of the previous page. */
  readonly after?: string;
  readonly limit: number;
  readonly map: (row: R) => T;
  readonly keyOf: (item: T) => string;
}

/**
 * Every paged list: keyset pagination on one unique column, one row more than asked for to learn
 * whether a next page exists. No OFFSET: a page costs the same however deep it is.
 */
export async function keysetPage<R, T>(db: SqlDriver, q: KeysetQuery<R, T>): Promise<Page<T>> {
  const cut: Condition = q.after !== undefined && [`${q.key} ${q.descending ? '<' : '>'} ?`, q.after];
  const w = where([...q.conditions, cut]);
  const rows = await db.all<R>(`${q.from} ${w.sql} ORDER BY ${q.key}${q.descending ? ' DESC' : ''} LIMIT ?`, [...w.params, q.limit + 1]);
  const more = rows.length > q.limit;
  const items = (more ? rows.slice(0, q.limit) : rows).map(q.map);
  return { items, next: more ? q.keyOf(items[items.length - 1]!) : null };
}

/** Builds `SET a = ?, b = ?` from the defined entries of `changes`, mapped to column names. */
export function assignments(changes: object, columns: Record<string, string>): { sql: string; params: SqlParam[] } {
  const entries = Object.entries(changes).filter(([key, value]) => value !== undefined && key in columns);
  return { sql: entries.map(([key]) => `${columns[key]} = ?`).join(', '), params: entries.map(([, value]) => value as SqlParam) };
}

/** Turns a unique-index refusal into the domain's conflict error. */
export async function mapConflict<T>(work: Promise<T>, conflict: (detail: string) => ConflictError): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof UniqueViolation) throw conflict(error.detail);
    throw error;
  }
}
