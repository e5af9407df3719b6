import { Type } from '@sinclair/typebox';
import { MfaRequiredResponse } from '../schemas/mfa.js';
import { sendSignIn } from '../sign-in-response.js';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ValidationError } from '../../core/errors.js';
import { FIRST_PARTY_CLIENT_ID } from '../../core/oauth/clients.js';
import type { Services } from '../../services.js';
import { contextOf } from '../context.js';
import { principalOf, requireAuthentication } from '../plugins/authenticate.js';
import { RATE_RULES, rateLimit } from '../plugins/rate-limit.js';
import { refuseCrossSite } from '../refresh-cookie.js';
import { TokenResponse } from '../schemas/auth.js';
import { bearer, problems } from '../schemas/common.js';
import { AcceptedView, EmailBody, NoBody, ResetBody, SignInVerifyBody, TokenBody } from '../schemas/email.js';
import { optionalBody } from '../plugins/optional-body.js';
import { UserView } from '../schemas/users.js';
import { userView } from '../views.js';
import { NO_STORE } from '../security-headers.js';

// EMAIL-02: one body for every address, known or not, built once so it is the same bytes.
const ACCEPTED = Object.freeze({ status: 'accepted' as const, detail: 'If an account uses this address, a message is on its way.' });

/** The email flows a caller reaches without a token: the links and codes land here. */
export const publicEmailRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { email } = services;
  // EMAIL-03: per client, before anything is queued; the per-address budget is in the core.
  const sendBudget = rateLimit(services, RATE_RULES.emailSend);
  const redeemBudget = rateLimit(services, RATE_RULES.emailRedeem);

  app.post(
    '/auth/email/verify',
    {
      onRequest: redeemBudget,
      schema: { tags: ['email'], summary: "Verify an address with the link's token (single use)", body: TokenBody, response: { 200: Type.Ref(UserView), ...problems(400) } },
    },
    async (request, reply) => {
      const user = await email.verify(request.body.token, contextOf(request));
      return reply.headers(NO_STORE).send(userView(user, user));
    },
  );

  app.post(
    '/auth/password/forgot',
    {
      onRequest: sendBudget,
      schema: {
        tags: ['email'],
        summary: 'Send a password-reset link',
        description: 'Answers 202 with the same body whether or not an account uses the address (EMAIL-02); only a known address gets mail.',
        body: EmailBody,
        response: { 202: AcceptedView, ...problems(400) },
      },
    },
    async (request, reply) => {
      await email.forgotPassword(request.body.email, contextOf(request));
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post(
    '/auth/password/reset',
    {
      onRequest: redeemBudget,
      schema: {
        tags: ['email'],
        summary: "Set a new password with the reset link's token; every session ends",
        body: ResetBody,
        response: { 204: Type.Null(), ...problems(400, 503) },
      },
    },
    async (request, reply) => {
      await email.resetPassword(request.body.token, request.body.new_password, contextOf(request));
      return reply.code(204).headers(NO_STORE).send(null);
    },
  );

  app.post(
    '/auth/email/change/confirm',
    {
      onRequest: redeemBudget,
      schema: {
        tags: ['email'],
        summary: 'Confirm a change of address with the link sent to the new one',
        body: TokenBody,
        response: { 200: Type.Ref(UserView), ...problems(400, 409) },
      },
    },
    async (request, reply) => {
      const user = await email.confirmEmailChange(request.body.token, contextOf(request));
      return reply.headers(NO_STORE).send(userView(user, user));
    },
  );

  app.post(
    '/auth/email/sign-in',
    {
      onRequest: sendBudget,
      schema: {
        tags: ['email'],
        summary: 'Send a one-time sign-in code and link (EMAIL_SIGN_IN=on)',
        description: 'Answers 202 with the same body whether or not an account uses the address (EMAIL-02). 404 when sign-in by email is off.',
        body: EmailBody,
        response: { 202: AcceptedView, ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      await email.startSignIn(request.body.email, contextOf(request));
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post(
    '/auth/email/sign-in/verify',
    {
      // WEB-01: in browser mode this sets the refresh cookie, like a login.
      onRequest: [refuseCrossSite(services.config), ...redeemBudget],
      schema: {
        tags: ['email'],
        summary: "Exchange a sign-in code (with the address) or the link's token for tokens",
        description:
          'A code takes 5 tries in all, however many come at once (EMAIL-07). 404 when sign-in by email is off. With a second factor enrolled: 200 `mfa_required` (see POST /auth/login).',
        body: SignInVerifyBody,
        response: { 200: Type.Union([Type.Ref(TokenResponse), Type.Ref(MfaRequiredResponse)]), ...problems(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const { email: address, code, token } = request.body;
      if ((token === undefined) === (address === undefined || code === undefined)) throw ValidationError.field('token', 'send either email and code, or token');
      const grant = await email.completeSignIn(token !== undefined ? { token } : { email: address, code: code!.replace(/ /g, '') }, contextOf(request), {
        clientId: FIRST_PARTY_CLIENT_ID,
      });
      // MFA-08: with a second factor enrolled, the mail proves one factor: mfa_required, no tokens.
      return sendSignIn(reply, grant, services.config);
    },
  );
};

/** The caller's own address. */
export const accountEmailRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);

  app.post(
    '/auth/email/verify/send',
    {
      onRequest: rateLimit(services, RATE_RULES.emailSend),
      schema: {
        tags: ['email'],
        summary: "Send a new verification link to the caller's address",
        security: bearer,
        body: NoBody,
        response: { 202: AcceptedView, ...problems(400, 401) },
      },
      // No body, an empty one or `{}`; anything else is refused like every unknown field (IN-01).
      ...optionalBody,
    },
    async (request, reply) => {
      await services.email.sendVerification(principalOf(request).user, contextOf(request));
      return reply.code(202).send(ACCEPTED);
    },
  );
};
