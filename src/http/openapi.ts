import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Config } from '../config/index.js';
import { isRateLimit } from './plugins/rate-limit.js';
import { contentSecurityPolicy } from './security-headers.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The operation accepts a missing body (see `optionalBody`). */
    bodyOptional?: boolean;
  }
}

/**
 * The served OpenAPI document describes what the server does, not what each route remembered to
 * declare: the responses every route can produce because of how it is built (a bearer token, a body,
 * a path parameter, a rate limit) are added here, once, to every route registered after this, so a
 * new route gets them without repeating itself. The additions go into the route's own Fastify schema,
 * so the same declaration also serializes the answer (its body is an allow-list there too).
 */

export const PROBLEM_JSON = 'application/problem+json';
const PROBLEM_REF = { $ref: 'Problem' };
const OAUTH_ERROR_REF = { $ref: 'OAuthError' };

// The endpoints a client calls with its own credentials answer RFC 6749 error JSON; the provider's
// browser-facing and bearer endpoints (authorize, logout, userinfo) answer like the rest of the API.
const OAUTH_ERROR_ROUTES = new Set(['/oauth/token', '/oauth/revoke', '/oauth/introspect']);

// Fastify reads no body for these; every other method can be refused for its body (413, 415, 400).
const NO_BODY = new Set(['GET', 'HEAD']);

const WHY: Record<number, string> = {
  400: 'Bad request: the body, query or a path parameter does not match the schema (`ERR_VALIDATION`, with `errors`), malformed JSON or URL (`ERR_BAD_REQUEST`), or two access tokens at once (`ERR_AUTH_INVALID_REQUEST`)',
  401: 'Not authenticated: the access token is missing, malformed, expired or revoked, or the credentials are wrong',
  403: 'Authenticated but not allowed (`ERR_FORBIDDEN`), a token of a third-party application on a first-party route (`ERR_THIRD_PARTY_TOKEN`), a session that must add a second factor first (`ERR_MFA_ENROLMENT_REQUIRED`), or a cookie-authorised request from an origin that is not allowed (`ERR_FORBIDDEN_ORIGIN`)',
  404: 'No such resource',
  409: 'Conflict with an existing resource',
  413: 'The request body is too large (`ERR_BODY_TOO_LARGE`)',
  414: 'A path segment is too long (`ERR_URI_TOO_LONG`)',
  415: "The body's Content-Type is not one this operation accepts (`ERR_UNSUPPORTED_MEDIA_TYPE`)",
  429: "Too many requests: the client's budget for this operation is spent, or the account is temporarily locked",
  500: 'Unexpected failure; the detail is in the server log only (`ERR_INTERNAL`)',
  503: 'Busy or not ready: try again after Retry-After seconds',
};

// Headers that come with a status, whatever the route (RFC 6750 §3, RFC 9110 §10.2.3).
const STATUS_HEADERS: Record<number, Record<string, object>> = {
  401: { 'WWW-Authenticate': { type: 'string', description: 'RFC 6750 challenge, e.g. `Bearer realm="gatehouse", error="invalid_token"`' } },
  429: { 'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds until the budget is back' } },
  503: { 'Retry-After': { type: 'integer', minimum: 0, description: 'Seconds to wait before trying again (sent when the server is busy)' } },
};

// IETF draft-ietf-httpapi-ratelimit-headers, sent on every answer of a rate-limited route.
const RATE_LIMIT_HEADERS: Record<string, object> = {
  'RateLimit-Limit': { type: 'integer', minimum: 0, description: 'Requests allowed in the window (sent when rate limits are on)' },
  'RateLimit-Remaining': { type: 'integer', minimum: 0, description: 'Requests left in the window (sent when rate limits are on)' },
  'RateLimit-Reset': { type: 'integer', minimum: 0, description: 'Seconds until the window resets (sent when rate limits are on)' },
};

type ResponseSchema = { description?: string; headers?: Record<string, object>; content?: Record<string, { schema: object }> } & Record<string, unknown>;

/** An error response: problem details, or RFC 6749 error JSON on OAuth routes. */
export function errorResponse(status: number, options: { oauth?: boolean; also?: 'problem' } = {}): ResponseSchema {
  const content: Record<string, { schema: object }> = options.oauth ? { 'application/json': { schema: OAUTH_ERROR_REF } } : { [PROBLEM_JSON]: { schema: PROBLEM_REF } };
  // On OAuth routes a few answers still come from the router or the root handler as problem details.
  if (options.also === 'problem') content[PROBLEM_JSON] = { schema: PROBLEM_REF };
  return { description: WHY[status] ?? 'Error', content };
}

/** Which errors a route can answer just from how it is built. */
function commonStatuses(route: RouteOptions, secured: boolean): number[] {
  const methods = [route.method].flat();
  const statuses = [500];
  if (route.url.includes(':')) statuses.push(400, 414);
  if (methods.some((m) => !NO_BODY.has(m))) statuses.push(400, 413, 415);
  // Any bearer route refuses a third-party app's token (ERR_THIRD_PARTY_TOKEN) and a session held to enrolment.
  if (secured) statuses.push(400, 401, 403);
  if (hooksOf(route.onRequest).some(isRateLimit)) statuses.push(429);
  return [...new Set(statuses)];
}

const hooksOf = (hooks: unknown): unknown[] => (hooks === undefined ? [] : [hooks].flat());

const isBearer = (security: unknown): boolean => Array.isArray(security) && security.some((s) => s && typeof s === 'object' && 'bearerAuth' in s);

/** A Fastify response entry as a full OpenAPI response: content keyed by media type, with a description. */
function normalise(status: number, entry: ResponseSchema, oauth: boolean): ResponseSchema {
  if (entry.content) return entry;
  // A bare error schema: problem details outside /oauth, RFC 6749 JSON inside.
  if (status >= 400 && (entry.$ref === 'Problem' || entry.$ref === 'OAuthError')) return errorResponse(status, { oauth: oauth && entry.$ref === 'OAuthError' });
  return entry;
}

/** onRoute hook: completes the route's response declarations (see the top of this file). */
export function describeRoute(route: RouteOptions): void {
  const schema = (route.schema ??= {}) as Record<string, unknown>;
  if (schema.hide) return;
  const oauth = OAUTH_ERROR_ROUTES.has(route.url);
  const secured = isBearer(schema.security);
  const declared = { ...((schema.response as Record<string, ResponseSchema> | undefined) ?? {}) };
  for (const [status, entry] of Object.entries(declared)) declared[status] = normalise(Number(status), entry, oauth);
  for (const status of commonStatuses(route, secured)) {
    const existing = declared[status];
    // The router (a malformed path parameter) and the root error handler (500) answer problem details even on OAuth routes.
    const fromRouter = status === 500 || status === 414 || (status === 400 && route.url.includes(':'));
    if (!existing) {
      declared[status] = errorResponse(status, { oauth: oauth && !fromRouter, ...(oauth && fromRouter && status === 400 ? { also: 'problem' as const } : {}) });
    } else if (oauth && fromRouter && existing.content && !existing.content[PROBLEM_JSON]) {
      declared[status] = { ...existing, content: { ...existing.content, [PROBLEM_JSON]: { schema: PROBLEM_REF } } };
    }
  }
  const rateLimited = hooksOf(route.onRequest).some(isRateLimit);
  for (const [status, entry] of Object.entries(declared)) {
    const headers = { ...(rateLimited ? RATE_LIMIT_HEADERS : {}), ...(STATUS_HEADERS[Number(status)] ?? {}), ...(entry.headers ?? {}) };
    if (Object.keys(headers).length > 0) declared[status] = { ...entry, headers };
  }
  schema.response = declared;
  // Operations that take no body or an optional one say so; transformObject turns it into OpenAPI.
  if (route.config?.bodyOptional) schema['x-body-optional'] = true;
}

/** Headers that must be present, whatever the route (the others are sent when they apply). */
const REQUIRED_HEADERS: Record<string, string[]> = { 401: ['WWW-Authenticate'], 429: ['Retry-After'] };

type Operation = {
  operationId?: string;
  security?: unknown[];
  requestBody?: { required?: boolean };
  responses?: Record<string, { description?: string; headers?: Record<string, { required?: boolean }> }>;
} & Record<string, unknown>;

const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'Done; no body' };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** `GET /users/{id}` → `getUsersById`; unique within the document. */
function operationIdOf(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      return param ? `By-${param[1]}` : segment;
    });
  const camel = words
    .join('-')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  return `${method}${camel}`;
}

/** Whole-document finishing touches that @fastify/swagger has no option for. */
function finishDocument({ openapiObject }: { openapiObject: Partial<Record<string, unknown>> }): Record<string, unknown> {
  const seen = new Set<string>();
  for (const [path, item] of Object.entries((openapiObject.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      let id = op.operationId ?? operationIdOf(method, path);
      while (seen.has(id)) id = `${id}_${method}`;
      seen.add(id);
      op.operationId = id;
      // Public operations say so, rather than inheriting a top-level requirement by accident.
      op.security ??= [];
      if (op['x-body-optional']) {
        if (op.requestBody) op.requestBody.required = false;
        delete op['x-body-optional'];
      }
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (response.description === 'Default Response') response.description = SUCCESS[status] ?? 'Success';
        for (const name of REQUIRED_HEADERS[status] ?? []) {
          const header = response.headers?.[name];
          if (header) header.required = true;
        }
      }
    }
  }
  return openapiObject as Record<string, unknown>;
}

/** @fastify/swagger options: the document's frame, and the finishing pass. */
export function openapiOptions(config: Config, version: string): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        version,
        description: [
          'Self-hosted authentication: JWT access tokens, rotating refresh tokens, roles and ownership.',
          'Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`; the OAuth endpoints under `/oauth/` answer RFC 6749 error JSON instead.',
          'Before any route is chosen, a request may also be refused with 400 (malformed request line or URL) or 431 (headers too large), as problem details.',
        ].join('\n\n'),
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: new URL(config.jwt.issuer).origin, description: 'This deployment (its issuer URL)' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /auth/login, /auth/refresh or /oauth/token' },
          oauthClientBasic: { type: 'http', scheme: 'basic', description: 'OAuth client authentication (client_secret_basic, RFC 6749 §2.3.1)' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: finishDocument as FastifyDynamicSwaggerOptions['transformObject'],
  };
}

/** Registers the hook; must run before the routes it describes are registered. */
export function describeRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', describeRoute);
}

/**
 * The policy of the Swagger UI pages under /docs (WEB-02): scripts and styles only from this origin,
 * no inline script, no eval, never framed (clickjacking), and no `upgrade-insecure-requests`, which
 * would send a page served over plain http on purpose to an https port that does not exist and leave
 * it blank. "Try it out" may call the documented server (the issuer's origin) besides this one.
 */
export function docsContentSecurityPolicy(config: Config): string {
  const directives: Record<string, string> = {
    'default-src': "'none'",
    'base-uri': "'none'",
    'connect-src': `'self' ${new URL(config.publicUrl).origin}`,
    'font-src': "'self' data:",
    'form-action': "'none'",
    'frame-ancestors': "'none'",
    'img-src': "'self' data:",
    'object-src': "'none'",
    'script-src': "'self'",
    'script-src-attr': "'none'",
    'style-src': "'self'",
  };
  return contentSecurityPolicy(directives);
}
