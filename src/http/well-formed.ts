import type { FastifyInstance } from 'fastify';
import { isWellFormed } from '../core/normalize.js';

/**
 * ID-05: one rule for every string a request carries: it is well-formed Unicode, or the request is
 * refused (400). JSON.parse keeps a `"\ud800"` escape as a lone surrogate, and anything that later
 * encodes it as UTF-8 (Argon2, the database) turns it into U+FFFD, so two different passwords
 * would become one. Returns the JSON-pointer path of the first offending string or key, or null.
 */
export function illFormedPath(root: unknown): string | null {
  // A loop, not recursion: a body may nest thousands deep before its schema refuses it. Each value
  // keeps a link to its parent, and its path is spelled out only for the one that fails: nearly
  // every request is fine, and a path string per key cost a cached GET with a parameter 16%.
  const pending: Step[] = [{ value: root, key: null, parent: null }];
  for (let step = pending.pop(); step !== undefined; step = pending.pop()) {
    const { value } = step;
    if (typeof value === 'string') {
      if (!isWellFormed(value)) return pathOf(step) || '/';
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        const child: Step = { value: (value as Record<string, unknown>)[key], key, parent: step };
        if (!isWellFormed(key)) return pathOf(child);
        pending.push(child);
      }
    }
  }
  return null;
}

interface Step {
  readonly value: unknown;
  /** Its name in its parent; null for the root. */
  readonly key: string | null;
  readonly parent: Step | null;
}

/** The JSON pointer (RFC 6901) of a value found by illFormedPath. */
function pathOf(step: Step): string {
  let path = '';
  for (let at: Step | null = step; at !== null && at.key !== null; at = at.parent) path = `/${at.key.replace(/~/g, '~0').replace(/\//g, '~1')}${path}`;
  return path;
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
