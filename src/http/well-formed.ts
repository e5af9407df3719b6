import type { FastifyInstance } from 'fastify';
import { isWellFormed } from '../core/normalize.js';

/**
 * ID-05: one rule for every string a request carries: it is well-formed Unicode, or the request is
 * refused (400). JSON.parse keeps a `"\ud800"` escape as a lone surrogate, and anything that later
 * encodes it as UTF-8 (Argon2, the database) turns it into U+FFFD, so two different passwords
 * would become one. Returns the JSON-pointer path of the first offending string or key, or null.
 */
export function illFormedPath(root: unknown): string | null {
  // Every request's parameters pass here, and nearly all are fine: the path is built only for one
  // that is not (it costs a string per key).
  return allWellFormed(root) ? null : firstIllFormedPath(root);
}

function allWellFormed(root: unknown): boolean {
  // A loop, not recursion: a body may nest thousands deep before its schema refuses it.
  const pending: unknown[] = [root];
  for (let value = pending.pop(); pending.length > 0 || value !== undefined; value = pending.pop()) {
    if (typeof value === 'string') {
      if (!isWellFormed(value)) return false;
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        if (!isWellFormed(key)) return false;
        pending.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
}

function firstIllFormedPath(root: unknown): string | null {
  const pending: [unknown, string][] = [[root, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      if (!isWellFormed(value)) return path || '/';
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (!isWellFormed(key)) return at;
        pending.push([item, at]);
      }
    }
  }
  return null;
}

/** Wraps a schema validator so an ill-formed string fails validation like any other bad field. */
export function requireWellFormed<T extends (data: unknown) => unknown>(validate: T): (data: unknown) => unknown {
  const check = (data: unknown) => {
    const path = illFormedPath(data);
    if (path !== null) {
      check.errors = [{ instancePath: path === '/' ? '' : path, schemaPath: '#', keyword: 'wellFormed', params: {}, message: 'must be well-formed Unicode (no lone surrogates)' }];
      return false;
    }
    const ok = validate(data);
    check.errors = (validate as unknown as { errors?: unknown }).errors;
    return ok;
  };
  check.errors = null as unknown;
  return check;
}

/** A body refused for its encoding, answered as a validation problem on `body` (400). */
function badBody(message: string): Error {
  return Object.assign(new Error(`The body ${message}.`), {
    statusCode: 400,
    validation: [{ instancePath: '', schemaPath: '#', keyword: 'wellFormed', params: {}, message }],
    validationContext: 'body',
  });
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * ID-05 for the bytes themselves: a JSON body that is not valid UTF-8 is refused instead of being
 * decoded with U+FFFD in place of each bad sequence. Parsing is then Fastify's own (with its
 * prototype-poisoning checks).
 */
export function strictJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = decodeStrict(body as Buffer);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    parse(request, text, done);
  });
}

/**
 * ID-05 for forms: `application/x-www-form-urlencoded` bodies (in the plugin scope it is called in),
 * in place of @fastify/formbody, whose decoder puts U+FFFD for bytes and %-escapes that are not UTF-8.
 */
export function strictFormParser(app: FastifyInstance, bodyLimit: number): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseFormStrict(decodeStrict(body as Buffer)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

function decodeStrict(body: Buffer): string {
  try {
    return STRICT_UTF8.decode(body);
  } catch {
    throw badBody('must be valid UTF-8');
  }
}

/**
 * A form body decoded strictly: a %-escape that is not UTF-8 (`%ED%A0%80`, a surrogate) is refused
 * where the usual decoder puts U+FFFD. Repeated names become arrays, as with @fastify/formbody.
 */
export function parseFormStrict(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      throw badBody('must be valid percent-encoded UTF-8');
    }
    const previous = out[name];
    out[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return out;
}
