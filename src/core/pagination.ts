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
    // A key with control characters was never issued by us (and Postgres cannot compare NUL).
    // eslint-disable-next-line no-control-regex -- a cursor key with control characters is refused
    if (typeof value.k === 'string' && !/[\u0000-\u001f]/.test(value.k)) return value.k;
  } catch {
    // fall through to the validation error
  }
  throw ValidationError.field('cursor', 'is not a cursor this service issued');
}
