import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import {
  AppError,
  BusyError,
  ConflictError,
  kindOf,
  StepUpRequiredError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
  type ErrorCode,
  type ErrorKind,
  type FieldError,
} from '../../core/errors.js';

const TITLES = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
} as const satisfies Record<number, string>;

/**
 * The one table from error kinds to HTTP statuses: a code's status follows from the kind it is
 * declared with in core (ERRORS), never from how the code is spelled.
 */
export const STATUS_OF_KIND = {
  invalid_input: 400,
  invalid_credentials: 401,
  unauthenticated: 401,
  forbidden: 403,
  unverified: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  busy: 503,
  unavailable: 503,
  // Answered as RFC 6749 errors by the OAuth routes (see OAUTH_ERROR_OF_KIND); anywhere else, a bad request.
  invalid_client: 400,
  unauthorized_client: 400,
  invalid_scope: 400,
  too_large: 413,
  unsupported_media_type: 415,
  uri_too_long: 414,
  headers_too_large: 431,
  timeout: 408,
  internal: 500,
} as const satisfies Record<ErrorKind, keyof typeof TITLES>;

export function statusOf(code: ErrorCode): number {
  return STATUS_OF_KIND[kindOf(code)];
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  errors?: FieldError[];
}

/**
 * The problem+json body for a declared code; its status comes from the code's kind. `status` is
 * given only where Fastify already decided one (a 4xx of its own that has no code here).
 */
export function problem(code: ErrorCode, detail: string, errors?: FieldError[], status: number = statusOf(code)): ProblemBody {
  return {
    type: `urn:gatehouse:problem:${code.toLowerCase().replace(/^err_/, '').replace(/_/g, '-')}`,
    title: (TITLES as Record<number, string>)[status] ?? 'Error',
    status,
    code,
    detail,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** RFC 6750 §3: how a protected resource says what is wrong with the bearer token. */
export function wwwAuthenticate(error: AppError | null): string {
  // RFC 9470 §3: the token is good, its authentication event is too old for this resource.
  if (error instanceof StepUpRequiredError) return `Bearer error="insufficient_user_authentication", max_age=${error.maxAgeSeconds}`;
  if (error instanceof UnauthenticatedError && error.problem !== 'missing') {
    return `Bearer realm="gatehouse", error="invalid_token", error_description="${error.problem === 'expired' ? 'The access token expired' : 'The access token is invalid'}"`;
  }
  return 'Bearer realm="gatehouse"';
}

export function sendProblem(reply: FastifyReply, body: ProblemBody): FastifyReply {
  return reply.code(body.status).type('application/problem+json').send(body);
}

const PLAIN_FIELD = /^[A-Za-z0-9_.-]{1,64}$/;

/** Ajv's errors as field errors: `/price` → `price`, missing and extra properties named. */
function fieldErrors(error: FastifyError): FieldError[] {
  return (error.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>;
    const extra = params.additionalProperty;
    // An unknown field is named back only when it looks like a name: a JSON text posted without
    // its Content-Type arrives as one long form field, password and all, and is not echoed.
    if (typeof extra === 'string' && !PLAIN_FIELD.test(extra)) {
      return { field: error.validationContext ?? 'body', message: 'has an unexpected field; if you sent JSON, set Content-Type: application/json' };
    }
    const path = [v.instancePath.replace(/^\//, '').replace(/\//g, '.'), params.missingProperty ?? extra].filter((p) => typeof p === 'string' && p !== '').join('.');
    const message = extra ? 'is not an allowed field' : (v.message ?? 'is invalid');
    return { field: path || (error.validationContext ?? 'body'), message };
  });
}

/** Fastify's own 4xx errors, mapped to stable codes with messages that reveal no internals (IN-07). */
const FRAMEWORK_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['ERR_BODY_TOO_LARGE', 'The request body is too large.'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['ERR_BAD_REQUEST', 'The Content-Length does not match the body.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['ERR_BAD_REQUEST', 'The JSON body is empty.'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['ERR_BAD_REQUEST', 'The body is not valid JSON.'],
};

/** How long a connection whose body was refused goes on reading (and dropping) what still arrives. */
const LINGER_MS = 2000;

/**
 * A refused body (413) is still on its way when the answer goes out. Closed with those bytes unread,
 * the connection ends in a reset, which often reaches the client before it has read the answer: it
 * sees a dropped connection instead of the 413 (measured: 3 to 11 answers read in 30 tries of a
 * 10 MB chunked body). As nginx's lingering close does, the connection instead ends its own side
 * after the answer, goes on reading and dropping what the client still sends, and closes once the
 * client is done, or after LINGER_MS.
 */
function lingerAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('connection', 'close');
  const socket = request.raw.socket;
  // Node's HTTP server calls this once the last answer on the connection is written.
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

/**
 * Errors the router raises before any route runs (a broken %-escape, an over-long path parameter):
 * Fastify answers these itself unless told how, so they get the same problem+json as the rest.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendProblem(reply, problem('ERR_URI_TOO_LONG', 'A path segment is too long.'));
  } else {
    sendProblem(reply, problem('ERR_BAD_REQUEST', 'The request URL is malformed.'));
  }
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a header block over 16 KB, a
 * malformed request line): answered on the socket itself, still as problem+json.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  // A client too slow with its headers or body (REQUEST_HEADERS_TIMEOUT, REQUEST_TIMEOUT) gets 408, not 400.
  const answer =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? problem('ERR_HEADERS_TOO_LARGE', 'The request headers are too large.')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'HPE_HEADERS_TIMEOUT'
        ? problem('ERR_REQUEST_TIMEOUT', 'The request was not received in time.')
        : problem('ERR_BAD_REQUEST', 'The request is malformed.');
  const body = JSON.stringify(answer);
  const status = answer.status;
  socket.end(
    `HTTP/1.1 ${status} ${answer.title}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * A dependency outage fails many requests at once: one log line per burst (per code, at most every
 * 10 s, with how many were not logged), not one per request with a stack each.
 */
class OutageLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  report(request: FastifyRequest, error: UnavailableError): void {
    const entry = this.last.get(error.code);
    const now = Date.now();
    if (entry && now - entry.at < 10_000) {
      entry.suppressed++;
      return;
    }
    this.last.set(error.code, { at: now, suppressed: 0 });
    request.log.error({ code: error.code, reason: error.reason, suppressedSinceLast: entry?.suppressed ?? 0 }, 'dependency unavailable; answering 503');
  }
}

export function registerErrorHandling(app: FastifyInstance): void {
  const outages = new OutageLog();
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) {
      const status = statusOf(error.code);
      if (status === 401) reply.header('www-authenticate', wwwAuthenticate(error));
      if (error instanceof TooManyRequestsError || error instanceof BusyError || error instanceof UnavailableError) reply.header('retry-after', String(error.retryAfterSeconds));
      if (status === 500) request.log.error({ err: error }, 'unmapped domain error');
      else if (error instanceof UnavailableError) outages.report(request, error);
      else if (status === 503) request.log.warn({ code: error.code }, 'busy');
      else if (status === 401 || status === 403) request.log.info({ code: error.code }, 'access refused');
      const errors =
        error instanceof ValidationError ? [...error.errors] : error instanceof ConflictError && error.field ? [{ field: error.field, message: error.message }] : undefined;
      return sendProblem(reply, problem(error.code, status === 500 ? 'Something went wrong on our side.' : error.message, errors));
    }
    if (error.validation) {
      return sendProblem(reply, problem('ERR_VALIDATION', 'The request is not valid.', fieldErrors(error)));
    }
    const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') lingerAfterAnswer(request, reply);
    if (known) return sendProblem(reply, problem(known[0], known[1]));
    const status = error.statusCode ?? 500;
    if (status === 400 && /prototype|constructor/.test(error.message)) {
      return sendProblem(reply, problem('ERR_BAD_REQUEST', 'The body contains a forbidden key (__proto__ or constructor).'));
    }
    if (status >= 400 && status < 500) {
      // Prototype-poisoning refusals and other malformed requests (IN-05).
      return sendProblem(reply, problem('ERR_BAD_REQUEST', 'The request is malformed.', undefined, status));
    }
    // AC-06: anything unexpected fails closed, with the detail in the log only.
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, problem('ERR_INTERNAL', 'Something went wrong on our side.'));
  });

  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem('ERR_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`)));
}
