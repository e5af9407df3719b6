import { ValidationError } from './errors.js';

/**
 * Cursors are opaque to clients: the last key of a page, wrapped so nobody builds on its shape.
 * Keyset pagination keeps the cost of a page independent of how deep it is.
 */
export function encodeCursor(key: string | null): string | null {
  return key === null ? null : Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof value.k === 'string') return value.k;
  } catch {
    // fall through to the validation error
  }
  throw ValidationError.field('cursor', 'is not a cursor this service issued');
}
