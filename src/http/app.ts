import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { createServer } from 'node:http';
import type { LoggerOptions } from 'pino';
import { requestIdFrom } from './context.js';
import { redactingLogger } from './log-redaction.js';
import { requestLogger } from './request-logger.js';
import { memoizingSerializers } from './serializers.js';
import { requireWellFormed, strictJsonParser } from './well-formed.js';
import type { Metrics } from '../metrics.js';
import type { Services } from '../services.js';
import { registerMetrics } from './plugins/metrics.js';
import { describeRoutes, docsContentSecurityPolicy, openapiOptions } from './openapi.js';
import { registerDocumentHeaders, registerSecurityHeaders } from './security-headers.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './plugins/errors.js';
import { adminRoutes } from './routes/admin.js';
import { accountRoutes, publicAuthRoutes } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { accountEmailRoutes, publicEmailRoutes } from './routes/email.js';
import { itemRoutes } from './routes/items.js';
import { oauthRoutes } from './routes/oauth.js';
import { oauthClientRoutes } from './routes/oauth-clients.js';
import { oidcRoutes } from './routes/oidc.js';
import { uiRoutes } from './routes/ui.js';
import { identityRoutes, publicSsoRoutes } from './routes/sso.js';
import { userRoutes } from './routes/users.js';
import { OAuthError, TokenResponse } from './schemas/auth.js';
import { MfaRequiredResponse } from './schemas/mfa.js';
import { accountMfaRoutes, publicMfaRoutes } from './routes/mfa.js';
import { Problem } from './schemas/common.js';
import { ItemView } from './schemas/items.js';
import { UserDirectoryEntry, UserView } from './schemas/users.js';

export interface AppOptions {
  readonly services: Services;
  /** Prometheus metrics; /metrics is served only when given. */
  readonly metrics?: Metrics;
  /** Fastify/pino logger settings; tests pass false. */
  readonly logger?: FastifyServerOptions['logger'];
}

/**
 * Validation: bodies are checked as sent (no type coercion, unknown fields refused, every problem
 * listed: IN-01), while query strings and path parameters, which are text by nature, are coerced.
 */
function validators(): (route: { schema: object; httpPart?: string }) => (data: unknown) => boolean {
  const common: AjvOptions = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };
  const body = new Ajv({ ...common, coerceTypes: false });
  const text = new Ajv({ ...common, coerceTypes: true });
  return ({ schema, httpPart }) => requireWellFormed((httpPart === 'body' ? body : text).compile(schema)) as (data: unknown) => boolean;
}

const VERBOSE_LEVELS = new Set(['info', 'debug', 'trace']);

function logsRequests(logger: AppOptions['logger']): boolean {
  if (logger === false || logger === undefined) return false;
  const level = logger === true ? 'info' : ((logger as LoggerOptions).level ?? 'info');
  return VERBOSE_LEVELS.has(level);
}

/** Builds the HTTP application. It never listens: server.ts does, and tests use inject(). */
export async function buildApp({ services, metrics, logger = false }: AppOptions): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    serverFactory: (handler) => {
      // Client timeouts (REQUEST_HEADERS_TIMEOUT, REQUEST_TIMEOUT, set by server.ts) are checked every
      // second rather than node:http's 30 s, so a stalled client gets its 408 close to the limit.
      const server = createServer({ connectionsCheckingInterval: 1000 }, handler);
      // Fastify's own default; node:http's 5 s races clients that reuse an idle connection.
      server.keepAliveTimeout = 72_000;
      return server;
    },
    // SES-06: Fastify's `true` is its default logger, redacted like any other.
    logger: logger === false ? false : redactingLogger(logger === true ? {} : (logger as LoggerOptions)),
    // Without a logger, Fastify's stand-in is already free.
    ...(logger === false ? {} : { childLoggerFactory: requestLogger }),
    // Fastify's "incoming request" and "request completed" lines are info: above it they would be
    // built and dropped on every request.
    logController: new LogController({ disableRequestLogging: !logsRequests(logger) }),
    bodyLimit: config.bodyLimitBytes,
    // A hop count trusts that many proxies in front of us, counted from the nearest.
    trustProxy: typeof config.trustProxy === 'number' ? (_address: string, hop: number) => hop < (config.trustProxy as number) : config.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { maxParamLength: 256 },
    frameworkErrors,
    clientErrorHandler,
    schemaController: { compilersFactory: { buildSerializer: memoizingSerializers() } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validators());
  // Only JSON (and forms, on the routes that take them) is understood; anything else is a 415 (IN-03).
  app.removeContentTypeParser('text/plain');
  strictJsonParser(app);
  app.decorateRequest('principal', null);
  registerSecurityHeaders(app);
  registerErrorHandling(app);

  for (const schema of [Problem, OAuthError, UserView, UserDirectoryEntry, ItemView, TokenResponse, MfaRequiredResponse]) app.addSchema(schema);

  if (config.corsOrigins.length > 0) {
    // WEB-04: only an allow-listed origin gets CORS headers at all, credentials included; any other
    // gets none (not even Allow-Credentials), so its page cannot read an answer. Vary: Origin always.
    const allowed = new Set(config.corsOrigins);
    await app.register(cors, {
      origin: (origin, done) => done(null, origin !== undefined && allowed.has(origin) ? origin : false),
      credentials: true,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      // What a single-page app needs to read: back-off, where a created thing lives, why a token was refused.
      exposedHeaders: ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'location', 'www-authenticate', 'x-request-id'],
      maxAge: 600,
    });
  }

  // Before any route: every route registered from here on gets its common responses declared.
  describeRoutes(app);
  await app.register(swagger, openapiOptions(config, '1'));
  await app.register(async (docs) => {
    registerDocumentHeaders(docs);
    await docs.register(swaggerUi, { routePrefix: '/docs', staticCSP: docsContentSecurityPolicy(config), uiConfig: { validatorUrl: null, layout: 'BaseLayout' } });
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  if (metrics) {
    metrics.watch(services);
    registerMetrics(app, metrics, config.metricsToken);
  }
  await app.register(healthRoutes, { services });
  await app.register(publicAuthRoutes, { services });
  await app.register(oauthRoutes, { services });
  await app.register(oidcRoutes, { services });
  await app.register(oauthClientRoutes, { services });
  await app.register(publicEmailRoutes, { services });
  await app.register(publicMfaRoutes, { services });
  await app.register(accountRoutes, { services });
  await app.register(accountMfaRoutes, { services });
  await app.register(accountEmailRoutes, { services });
  await app.register(publicSsoRoutes, { services });
  await app.register(identityRoutes, { services });
  await app.register(userRoutes, { services });
  await app.register(itemRoutes, { services });
  await app.register(adminRoutes, { services });
  await app.register(uiRoutes, { services });
  return app;
}
