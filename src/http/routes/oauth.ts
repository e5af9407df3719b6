import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError, TooManyRequestsError, type ErrorKind } from '../../core/errors.js';
import type { TokenGrant } from '../../core/auth/session-service.js';
import { isMfaRequired } from '../../core/mfa/sign-in-gate.js';
import { GRANT_TYPES, type GrantType } from '../../core/model.js';
import { FIRST_PARTY_CLIENT_ID } from '../../core/oauth/clients.js';
import type { Services } from '../../services.js';
import { CLIENT_CHALLENGE, clientCredentialsOf } from '../client-auth.js';
import { OAuthError, OAuthRevokeBody, OAuthTokenBody, TokenResponse } from '../schemas/auth.js';
import { IntrospectBody, IntrospectResponse, OAuthGrantResponse } from '../schemas/oauth-provider.js';
import { introspect } from '../../core/oauth/introspection.js';
import type { CodeGrant, ClientGrantResult } from '../../core/oauth/token-service.js';
import { refuseCrossSite, tokenResponse } from '../refresh-cookie.js';
import { contextOf } from '../context.js';
import { strictFormParser } from '../well-formed.js';
import { RATE_RULES, rateLimit } from '../plugins/rate-limit.js';
import { problems } from '../schemas/common.js';
import { NO_STORE } from '../security-headers.js';

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

/**
 * Each error kind as an RFC 6749 §5.2 answer on the OAuth endpoints, or null where the kind is not
 * an OAuth error (a cross-site cookie refusal, an outage, a saturated hasher): those keep the
 * problem+json answer of the root handler. Total over the kinds, so a new kind must choose here.
 * Wrong password or refresh token is invalid_grant, a 400 (§5.2), not the API's 401;
 * invalid_client is a 401 with a Basic challenge.
 */
export const OAUTH_ERROR_OF_KIND: Record<ErrorKind, { status: number; error: string } | null> = {
  invalid_input: { status: 400, error: 'invalid_request' },
  invalid_credentials: { status: 400, error: 'invalid_grant' },
  invalid_client: { status: 401, error: 'invalid_client' },
  unauthorized_client: { status: 400, error: 'unauthorized_client' },
  invalid_scope: { status: 400, error: 'invalid_scope' },
  // slow_down is a device-flow code (RFC 8628); §5.2 has no throttling code, so invalid_request says to wait.
  rate_limited: { status: 429, error: 'invalid_request' },
  too_large: { status: 413, error: 'invalid_request' },
  unsupported_media_type: { status: 415, error: 'invalid_request' },
  unauthenticated: null,
  forbidden: null,
  // EMAIL_VERIFICATION=required: the grant cannot be used yet, which RFC 6749 says as invalid_grant.
  unverified: { status: 400, error: 'invalid_grant' },
  not_found: null,
  conflict: null,
  busy: null,
  unavailable: null,
  uri_too_long: null,
  headers_too_large: null,
  timeout: null,
  internal: null,
};

/** Domain errors as RFC 6749 §5.2 codes. */
function toOAuth(error: unknown): OAuthProblem | null {
  if (error instanceof OAuthProblem) return error;
  if (error instanceof AppError) {
    const answer = OAUTH_ERROR_OF_KIND[error.kind];
    if (!answer) return null;
    if (error instanceof TooManyRequestsError) {
      return new OAuthProblem(
        answer.status,
        answer.error,
        `Too many requests: wait ${error.retryAfterSeconds} seconds (Retry-After) before trying again.`,
        error.retryAfterSeconds,
      );
    }
    return new OAuthProblem(answer.status, answer.error, error.message);
  }
  const status = (error as { statusCode?: number }).statusCode;
  if ((error as { validation?: unknown }).validation || (status !== undefined && status >= 400 && status < 500)) {
    return new OAuthProblem(status === 413 || status === 415 ? status : 400, 'invalid_request', 'The request is malformed.');
  }
  return null;
}

/**
 * RFC 6749 §3.2: a parameter the endpoint uses may not be repeated (a form sends `a=1&a=2` as an
 * array, which none of them is); were repeats allowed, two parts of the stack could each read a
 * different value of the same parameter. Parameters it does not use are ignored even when
 * repeated: RFC 8707 lets clients send `resource` several times.
 */
function refuseRepeatedParameters(schema: { properties: Record<string, unknown> }) {
  const used = Object.keys(schema.properties);
  return async (request: FastifyRequest): Promise<void> => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
    const repeated = used.find((key) => Array.isArray((body as Record<string, unknown>)[key]));
    if (repeated !== undefined) throw new OAuthProblem(400, 'invalid_request', `The ${repeated} parameter was sent more than once (RFC 6749 §3.2).`);
  };
}

const isGrantType = (value: string): value is GrantType => (GRANT_TYPES as readonly string[]).includes(value);

/** The token response, built in one place for every grant (RFC 6749 §5.1; no-store per §5.1). */
/** In browser mode the refresh token goes to the cookie only, as on /auth/login. */
function sendTokens(reply: FastifyReply, grant: TokenGrant, config: Services['config']): FastifyReply {
  return reply.headers(NO_STORE).send(tokenResponse(reply, grant, config));
}

/** The authorization code grant's answer: the refresh token only where it is due, the ID token for openid. */
function sendCodeGrant(reply: FastifyReply, { grant, idToken, withRefreshToken }: CodeGrant): FastifyReply {
  return reply.headers(NO_STORE).send({
    access_token: grant.accessToken,
    token_type: 'Bearer',
    expires_in: grant.expiresIn,
    scope: grant.scope,
    ...(withRefreshToken ? { refresh_token: grant.refreshToken, refresh_expires_in: grant.refreshExpiresIn } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  });
}

function sendClientGrant(reply: FastifyReply, result: ClientGrantResult): FastifyReply {
  return reply.headers(NO_STORE).send({ access_token: result.accessToken, token_type: 'Bearer', expires_in: result.expiresIn, scope: result.scope });
}

/** The OAuth 2.0 token endpoint (every grant), RFC 7009 revocation and RFC 7662 introspection. */
export const oauthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  // ID-05: form bytes that are not UTF-8 are refused, never turned into U+FFFD.
  strictFormParser(app, services.config.bodyLimitBytes);

  app.setErrorHandler((error, request, reply) => {
    const oauth = toOAuth(error);
    if (!oauth) throw error;
    request.log.info({ error: oauth.error }, 'oauth request refused');
    if (oauth.retryAfterSeconds !== undefined) reply.header('retry-after', String(oauth.retryAfterSeconds));
    if (oauth.error === 'invalid_client') reply.header('www-authenticate', CLIENT_CHALLENGE);
    return reply.code(oauth.status).headers(NO_STORE).send({ error: oauth.error, error_description: oauth.description });
  });

  const refuseRepeatedTokenParameters = refuseRepeatedParameters(OAuthTokenBody);
  const errors = { 400: Type.Ref(OAuthError), 401: Type.Ref(OAuthError), 413: Type.Ref(OAuthError), 415: Type.Ref(OAuthError), 429: Type.Ref(OAuthError) };
  // Client authentication is its own scheme here (RFC 6749 §2.3), not the API's bearer token.
  const security: { [name: string]: string[] }[] = [{}, { oauthClientBasic: [] }];

  app.post(
    '/oauth/token',
    {
      // WEB-01: in browser mode this route sets the refresh cookie too.
      onRequest: [refuseCrossSite(services.config), ...rateLimit(services, RATE_RULES.login)],
      schema: {
        tags: ['oauth'],
        summary: 'OAuth 2.0 token endpoint (authorization_code, refresh_token, client_credentials, password)',
        description:
          'RFC 6749. Client authentication: client_secret_basic, client_secret_post, or none (public clients; no client_id means the first-party client `gatehouse`); confidential clients always authenticate. ' +
          'Unrecognised parameters are ignored; a repeated parameter is invalid_request; any other grant_type is unsupported_grant_type. ' +
          'authorization_code needs the PKCE code_verifier and the exact redirect_uri; a replayed code is refused and revokes what it gave. ' +
          'client_credentials: confidential clients, within their registered scopes (invalid_scope otherwise); the token has no refresh token and its sub is the client. ' +
          'The password grant is for first-party clients only. A refresh token works only for the client it was issued to.',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        security,
        body: OAuthTokenBody,
        // 503 (password hashing saturated) comes from the root handler as problem details.
        response: { 200: Type.Union([Type.Ref(TokenResponse), OAuthGrantResponse]), ...errors, ...problems(503) },
      },
      preValidation: async (request) => {
        await refuseRepeatedTokenParameters(request);
        // Decided before anything else is checked: an unserved grant is unsupported_grant_type
        // whatever parameters come with it (§5.2).
        const grantType = (request.body as { grant_type?: unknown } | null)?.grant_type;
        if (typeof grantType === 'string' && !isGrantType(grantType)) {
          throw new OAuthProblem(400, 'unsupported_grant_type', `Use grant_type ${GRANT_TYPES.join(' or ')}.`);
        }
      },
    },
    async (request, reply) => {
      const body = request.body;
      const grantType = body.grant_type as GrantType;
      const client = await services.clients.authenticate(clientCredentialsOf(request, body));
      services.clients.assertGrantAllowed(client, grantType);
      if (grantType === 'authorization_code') {
        if (!body.code) throw new OAuthProblem(400, 'invalid_request', 'code is required.');
        return sendCodeGrant(reply, await services.oauth.tokens.redeemCode(client, body.code, body.redirect_uri, body.code_verifier, contextOf(request)));
      }
      if (grantType === 'client_credentials') return sendClientGrant(reply, await services.oauth.tokens.clientCredentials(client, body.scope, contextOf(request)));
      if (grantType === 'password') {
        if (!body.username || !body.password) throw new OAuthProblem(400, 'invalid_request', 'username and password are required.');
        const scope = services.clients.scopeFor(client, body.scope);
        const result = await services.auth.login(body.username, body.password, contextOf(request), { clientId: client.id, scope });
        // MFA-08: the password alone yields no tokens when a second factor is enrolled.
        if (isMfaRequired(result)) {
          const description = 'A second factor is required: send mfa_token with it to /auth/mfa/verify (first-party clients only).';
          return reply
            .code(400)
            .headers(NO_STORE)
            .send({ error: 'mfa_required', error_description: description, mfa_token: result.mfaToken, methods: [...result.methods] });
        }
        return sendTokens(reply, result, services.config);
      }
      if (!body.refresh_token) throw new OAuthProblem(400, 'invalid_request', 'refresh_token is required.');
      const refreshed = await services.sessions.refresh(body.refresh_token, contextOf(request), { clientId: client.id, scope: body.scope });
      // A registered client's refresh answers in the provider's shape (no user object); the
      // first-party ones keep theirs (and browser mode's cookie).
      if (client.id !== FIRST_PARTY_CLIENT_ID && !client.firstParty) return sendCodeGrant(reply, { grant: refreshed, idToken: null, withRefreshToken: true });
      return sendTokens(reply, refreshed, services.config);
    },
  );

  app.post(
    '/oauth/introspect',
    {
      onRequest: rateLimit(services, RATE_RULES.revoke),
      schema: {
        tags: ['oauth'],
        summary: 'OAuth 2.0 token introspection (RFC 7662)',
        description:
          'For authenticated confidential clients (client_secret_basic or client_secret_post). A client sees its own tokens; first-party confidential clients see every token. ' +
          'Anything else, and every invalid, expired, revoked or rotated token, answers only `{"active": false}` (OIDC-06). Reads storage, so a revocation on any instance counts at once.',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        // Basic, or client_secret_post in the body, which no OpenAPI scheme can name.
        security,
        body: IntrospectBody,
        response: { 200: IntrospectResponse, ...errors },
      },
      preValidation: refuseRepeatedParameters(IntrospectBody),
    },
    async (request, reply) => {
      const credentials = clientCredentialsOf(request, request.body);
      // A public client's id proves nothing, so it may not ask about tokens (OIDC-06).
      if (credentials.method === 'none') throw new OAuthProblem(401, 'invalid_client', 'Introspection needs client authentication (a confidential client).');
      const client = await services.clients.authenticate(credentials);
      return reply.headers(NO_STORE).send(await introspect(services.sessions, client, request.body.token, services.config.jwt.audience));
    },
  );

  app.post(
    '/oauth/revoke',
    {
      onRequest: rateLimit(services, RATE_RULES.revoke),
      schema: {
        tags: ['oauth'],
        summary: 'OAuth 2.0 token revocation (RFC 7009)',
        description:
          'Ends the session of a refresh token or an access token issued to the authenticated client (same client authentication as /oauth/token). ' +
          "Answers 200 with an empty body whether or not the token was valid, known, or the client's own; only the client's own tokens are revoked.",
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        security,
        body: OAuthRevokeBody,
        response: { 200: Type.Null({ description: 'empty body' }), ...errors },
      },
      preValidation: refuseRepeatedParameters(OAuthRevokeBody),
    },
    async (request, reply) => {
      const client = await services.clients.authenticate(clientCredentialsOf(request, request.body));
      await services.sessions.revokeToken(request.body.token, client.id, contextOf(request));
      return reply.code(200).headers(NO_STORE).send();
    },
  );
};
