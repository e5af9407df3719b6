import { Type, type TSchema } from '@sinclair/typebox';
import { errorResponse } from '../openapi.js';

/** RFC 9457 problem details, as every error of this API is answered. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable code, such as ERR_AUTH_INVALID_CREDENTIALS' }),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

/**
 * Error responses particular to a route (problem+json), so the OpenAPI document lists them. Those
 * every route of its kind can answer (401 behind a token, 413/415 with a body, 429 behind a rate
 * limit, ...) are added by http/openapi.ts and need not be repeated here.
 */
export function problems(...statuses: number[]): Record<number, object> {
  return Object.fromEntries(statuses.map((s) => [s, errorResponse(s)]));
}

/**
 * Text that reaches the database: no control characters. Postgres cannot store NUL at all, and no
 * identifier, name or search term has a use for the others.
 */
export const PLAIN_TEXT = '^[^\\u0000-\\u001f\\u007f]*$';
export const Text = (options: { minLength?: number; maxLength: number; description?: string }) => Type.String({ ...options, pattern: PLAIN_TEXT });

/** Ids this service issues (UUIDs); anything else cannot name a record. */
export const IdParam = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size, 1..100' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, pattern: '^[A-Za-z0-9_-]*$', description: 'next_cursor of the previous page' })),
};

export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });
}

/** Security requirement for routes behind a bearer token. */
export const bearer = [{ bearerAuth: [] }];

export const Timestamp = Type.String({ format: 'date-time' });
