import type { FastifyRequest } from 'fastify';
import { stdSerializers, type LoggerOptions } from 'pino';

// SES-06: whatever a log line carries, these never appear in it.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-access-token"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.refresh_token',
  '*.access_token',
];

const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * SES-06: a URL as it may be logged. No query value is ever written: the service takes no secret
 * in a URL, but clients put tokens and passwords there anyway (`?access_token=`, `?password=`, a
 * token as the whole query), under any name, in any encoding, and a log is read by more people and
 * kept longer than the database. A list of secret-sounding names would miss `?token%5F=`,
 * `?apiKey=` or `?eyJ…`; dropping every value misses nothing and costs the log only the values of
 * paging parameters. Parameter names stay when they are plain words (they show what a client
 * tried); anything else, a percent-encoded name or a part without `=`, becomes `[redacted]` too.
 */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const fragment = url.indexOf('#', mark);
  const query = url.slice(mark + 1, fragment === -1 ? undefined : fragment);
  if (query === '') return url.slice(0, mark + 1);
  const parts = query.split(/[&;]/).map((part) => {
    const equals = part.indexOf('=');
    if (equals === -1) return part === '' ? '' : '[redacted]';
    const name = part.slice(0, equals);
    return `${PLAIN_NAME.test(name) ? name : '[redacted]'}=[redacted]`;
  });
  return `${url.slice(0, mark)}?${parts.join('&')}`;
}

// A path followed by a query, wherever it stands in free text: Fastify writes request URLs into
// messages ("Route GET:/x?y not found", "Reply was already sent ... in the "/x?y" route").
const URL_IN_TEXT = /\/[^\s?"'`<>]*\?[^\s"'`<>]*/g;

/** Every URL query in `text`, redacted as redactUrl does. */
export function redactUrlsIn(text: string): string {
  return text.includes('?') ? text.replace(URL_IN_TEXT, (url) => redactUrl(url)) : text;
}

/**
 * What the app's pino logger adds to the caller's settings: header and body paths censored, the
 * request's URL redacted in `incoming request` and error lines, and URLs redacted in messages and
 * error texts, at every level.
 */
export function redactingLogger(options: LoggerOptions): LoggerOptions {
  return {
    ...options,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      ...options.serializers,
      // Fastify's own request serializer, with the URL redacted.
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
      err: (error: Error) => {
        const out = stdSerializers.err(error);
        if (typeof out.message === 'string') out.message = redactUrlsIn(out.message);
        if (typeof out.stack === 'string') out.stack = redactUrlsIn(out.stack);
        return out;
      },
    },
    hooks: {
      logMethod(args, method) {
        // Strings: the message and its printf-style arguments.
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactUrlsIn(arg) : arg)) as Parameters<typeof method>);
      },
    },
  };
}
