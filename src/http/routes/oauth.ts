import formbody from '@fastify/formbody';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError, TooManyRequestsError } from '../../core/errors.js';
import type { Services } from '../../services.js';
import { OAuthError, OAuthTokenBody } from '../schemas/auth.js';
import { TokenResponse } from '../schemas/auth.js';
import { refuseCrossSite, tokenResponse } from '../refresh-cookie.js';
import { contextOf } from '../context.js';
import { RATE_RULES, rateLimit } from '../plugins/rate-limit.js';
import { problems } from '../schemas/common.js';

class OAuthProblem extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
  }
}

/** Domain errors as RFC 6749 §5.2 codes. */
function toOAuth(error: unknown): OAuthProblem | null {
  if (error instanceof OAuthProblem) return error;
  if (error instanceof TooManyRequestsError) return new OAuthProblem(429, 'slow_down', error.message, error.retryAfterSeconds);
  if (error instanceof AppError) {
    if (error.code === 'ERR_AUTH_INVALID_CREDENTIALS' || error.code === 'ERR_AUTH_INVALID_REFRESH_TOKEN') return new OAuthProblem(400, 'invalid_grant', error.message);
    if (error.code === 'ERR_VALIDATION') return new OAuthProblem(400, 'invalid_request', error.message);
  }
  const status = (error as { statusCode?: number }).statusCode;
  if ((error as { validation?: unknown }).validation || (status !== undefined && status >= 400 && status < 500)) {
    return new OAuthProblem(status === 413 || status === 415 ? status : 400, 'invalid_request', 'The token request is malformed.');
  }
  return null;
}

/** The OAuth 2.0 token endpoint: password (RFC 6749 §4.3) and refresh_token (§6) grants. */
export const oauthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  await app.register(formbody, { bodyLimit: services.config.bodyLimitBytes });

  app.setErrorHandler((error, request, reply) => {
    const oauth = toOAuth(error);
    if (!oauth) throw error;
    request.log.info({ error: oauth.error }, 'token request refused');
    if (oauth.retryAfterSeconds !== undefined) reply.header('retry-after', String(oauth.retryAfterSeconds));
    return reply.code(oauth.status).headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send({ error: oauth.error, error_description: oauth.description });
  });

  app.post('/oauth/token', {
    // WEB-01: in browser mode this route sets the refresh cookie too.
    onRequest: [refuseCrossSite(services.config), rateLimit(services, RATE_RULES.login)],
    schema: {
      tags: ['auth'],
      summary: 'OAuth 2.0 token endpoint (password and refresh_token grants)',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: OAuthTokenBody,
      // 503 (password hashing saturated) comes from the root handler as problem details.
      response: { 200: Type.Ref(TokenResponse), 400: Type.Ref(OAuthError), 413: Type.Ref(OAuthError), 415: Type.Ref(OAuthError), 429: Type.Ref(OAuthError), ...problems(503) },
    },
  }, async (request, reply) => {
    const body = request.body;
    reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
    if (body.grant_type === 'password') {
      if (!body.username || !body.password) throw new OAuthProblem(400, 'invalid_request', 'username and password are required.');
      return tokenResponse(reply, await services.auth.login(body.username, body.password, contextOf(request)), services.config);
    }
    if (body.grant_type === 'refresh_token') {
      if (!body.refresh_token) throw new OAuthProblem(400, 'invalid_request', 'refresh_token is required.');
      return tokenResponse(reply, await services.sessions.refresh(body.refresh_token, contextOf(request)), services.config);
    }
    throw new OAuthProblem(400, 'unsupported_grant_type', 'Use grant_type password or refresh_token.');
  });
};
