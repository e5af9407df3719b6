import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import QRCode from 'qrcode';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import type { FactorProof } from '../../core/mfa/mfa-service.js';
import type { MfaFactor } from '../../core/model.js';
import { FIRST_PARTY_CLIENT_ID } from '../../core/oauth/clients.js';
import type { Services } from '../../services.js';
import { contextOf } from '../context.js';
import { principalOf, requireAdmin, requireAuthentication } from '../plugins/authenticate.js';
import { RATE_RULES, rateLimit } from '../plugins/rate-limit.js';
import { recentAuth } from '../plugins/recent-auth.js';
import { refuseCrossSite, tokenResponse } from '../refresh-cookie.js';
import { TokenResponse } from '../schemas/auth.js';
import { bearer, problems } from '../schemas/common.js';
import {
  ConfirmBody,
  FactorList,
  FactorParams,
  FactorView,
  MfaVerifyBody,
  NameBody,
  PasskeyLoginOptionsBody,
  PasskeyLoginVerifyBody,
  PasskeyOptionsView,
  ReauthenticateBody,
  RecoveryCodesView,
  RegisterVerifyBody,
  TotpEnrolmentView,
} from '../schemas/mfa.js';
import { UserParams } from '../schemas/users.js';
import { passkeyOptionsView } from '../sign-in-response.js';
import { NO_STORE } from '../security-headers.js';

const iso = (ms: number) => new Date(ms).toISOString();

function factorView(f: MfaFactor) {
  return {
    id: f.id,
    type: f.type,
    name: f.name,
    created_at: iso(f.createdAt),
    last_used_at: f.lastUsedAt === null ? null : iso(f.lastUsedAt),
    ...(f.type === 'webauthn' ? { backup_eligible: f.backupEligible ?? false, backup_state: f.backupState ?? false } : {}),
  };
}

/** The one proof a body carries (a code, a recovery code, or a passkey assertion with its challenge). */
function proofOf(body: { code?: string; recovery_code?: string; challenge_id?: string; assertion?: unknown }): FactorProof | null {
  const given = [body.code, body.recovery_code, body.assertion].filter((v) => v !== undefined).length;
  if (given > 1) throw ValidationError.field('code', 'send one of code, recovery_code or assertion');
  if (body.code !== undefined) return { code: body.code.replace(/ /g, '') };
  if (body.recovery_code !== undefined) return { recoveryCode: body.recovery_code };
  if (body.assertion !== undefined) {
    if (body.challenge_id === undefined) throw ValidationError.field('challenge_id', 'is required with an assertion');
    return { assertion: { challengeId: body.challenge_id, response: body.assertion as AuthenticationResponseJSON } };
  }
  return null;
}

/** The second step of a sign-in and passkey sign-in: reached without an access token. */
export const publicMfaRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  // DELETE /auth/mfa/:id would take these paths for a factor id and ask for a token; they name no
  // factor, so DELETE on them is no route (404), as an unsupported method is anywhere else.
  for (const path of ['/auth/mfa/totp', '/auth/mfa/verify', '/auth/mfa/recovery-codes']) {
    app.delete(path, { schema: { hide: true } }, async () => {
      throw new NotFoundError('ERR_NOT_FOUND', `No route DELETE ${path}.`);
    });
  }
  // WEB-01: these routes set the refresh cookie in browser mode, like a login.
  const sameSite = refuseCrossSite(services.config);

  app.post(
    '/auth/mfa/verify',
    {
      onRequest: [sameSite, ...rateLimit(services, RATE_RULES.login)],
      schema: {
        tags: ['mfa'],
        summary: 'Finish a sign-in with the second factor',
        description:
          'The `mfa_token` of the `mfa_required` answer with one of `code` (TOTP), `recovery_code`, or `challenge_id` + `assertion` (a passkey). ' +
          `Wrong codes are budgeted per user (MFA-02: 429 past it). The token is single-use and lives 5 minutes (MFA-04).`,
        body: MfaVerifyBody,
        response: { 200: Type.Ref(TokenResponse), ...problems(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const proof = proofOf(request.body);
      if (!proof) throw ValidationError.field('code', 'send one of code, recovery_code or assertion');
      const grant = await services.mfa.verify(request.body.mfa_token, proof, contextOf(request));
      return reply.headers(NO_STORE).send(tokenResponse(reply, grant, services.config));
    },
  );

  app.post(
    '/auth/webauthn/login/options',
    {
      onRequest: [sameSite, ...rateLimit(services, RATE_RULES.login)],
      schema: {
        tags: ['mfa'],
        summary: 'Request options for signing in with a passkey',
        description:
          'Without `mfa_token`: an empty allow-list, so the browser offers the discoverable passkeys it holds for this site (no username needed or revealed). ' +
          "With `mfa_token` (second step): the user's passkeys. Answer `options` to navigator.credentials.get, then POST the assertion with `challenge_id`.",
        body: PasskeyLoginOptionsBody,
        response: { 200: PasskeyOptionsView, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { mfa_token } = request.body;
      const options = mfa_token !== undefined ? await services.mfa.passkeyOptionsFor(mfa_token, contextOf(request)) : await services.passkeys.options(null);
      return reply.headers(NO_STORE).send(passkeyOptionsView(options));
    },
  );

  app.post(
    '/auth/webauthn/login/verify',
    {
      onRequest: [sameSite, ...rateLimit(services, RATE_RULES.login)],
      schema: {
        tags: ['mfa'],
        summary: 'Sign in with a passkey (no username, no password)',
        description: 'A passkey with user verification is two factors on its own: the token response carries `amr: ["hwk","user"]`.',
        body: PasskeyLoginVerifyBody,
        response: { 200: Type.Ref(TokenResponse), ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const assertion = { challengeId: request.body.challenge_id, response: request.body.assertion as AuthenticationResponseJSON };
      const grant = await services.passkeys.signIn(assertion, contextOf(request), { clientId: FIRST_PARTY_CLIENT_ID });
      return reply.headers(NO_STORE).send(tokenResponse(reply, grant, services.config));
    },
  );
};

/** The caller's factors, passkeys and reauthentication; the admin reset. */
export const accountMfaRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  requireAuthentication(app, services);
  // MFA-07: adding or removing a factor needs a fresh proof of presence.
  const recent = recentAuth(services);

  app.get(
    '/auth/mfa',
    { schema: { tags: ['mfa'], summary: "The caller's second factors and passkeys", security: bearer, response: { 200: FactorList, ...problems(401) } } },
    async (request) => {
      const { user } = principalOf(request);
      const [factors, left] = await Promise.all([services.mfa.list(user.id), services.mfa.recoveryCodesLeft(user.id)]);
      return { items: factors.map(factorView), recovery_codes_left: left };
    },
  );

  app.post(
    '/auth/mfa/totp',
    {
      preHandler: recent,
      schema: {
        tags: ['mfa'],
        summary: 'Start enrolling an authenticator app (TOTP)',
        description: 'Recent auth. The secret, its otpauth URI and QR code are shown this once; the factor is pending until confirmed with a first code.',
        security: bearer,
        body: NameBody,
        response: { 201: TotpEnrolmentView, ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const enrolment = await services.mfa.startTotp(principalOf(request).user, request.body.name, contextOf(request));
      const qr = await QRCode.toString(enrolment.uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
      return reply.code(201).headers(NO_STORE).send({ id: enrolment.factor.id, secret: enrolment.secret, otpauth_uri: enrolment.uri, qr_svg: qr });
    },
  );

  app.post(
    '/auth/mfa/totp/:id/confirm',
    {
      schema: {
        tags: ['mfa'],
        summary: 'Confirm an authenticator app with its current code',
        description: "The account's first factor comes with ten recovery codes, shown once.",
        security: bearer,
        params: FactorParams,
        body: ConfirmBody,
        response: { 200: RecoveryCodesView, ...problems(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const result = await services.mfa.confirmTotp(principal.user, request.params.id, request.body.code.replace(/ /g, ''), contextOf(request));
      await services.mfa.finishEnrolment(principal, ['otp']);
      return reply.headers(NO_STORE).send(result.recoveryCodes ? { recovery_codes: result.recoveryCodes } : {});
    },
  );

  app.delete(
    '/auth/mfa/:id',
    {
      preHandler: recent,
      schema: {
        tags: ['mfa'],
        summary: 'Remove a factor or passkey',
        description: 'Recent auth. 409 ERR_LAST_SIGN_IN_METHOD for the last way to sign in (MFA-07).',
        security: bearer,
        params: FactorParams,
        response: { 204: Type.Null(), ...problems(401, 404, 409) },
      },
    },
    async (request, reply) => {
      await services.mfa.remove(principalOf(request).user, request.params.id, contextOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/mfa/recovery-codes',
    {
      preHandler: recent,
      schema: {
        tags: ['mfa'],
        summary: 'Ten new recovery codes; the old ones stop working',
        security: bearer,
        response: { 200: RecoveryCodesView, ...problems(401) },
      },
    },
    async (request, reply) => reply.headers(NO_STORE).send({ recovery_codes: await services.mfa.issueRecoveryCodes(principalOf(request).user, contextOf(request)) }),
  );

  app.post(
    '/auth/webauthn/register/options',
    {
      preHandler: recent,
      schema: {
        tags: ['mfa'],
        summary: 'Creation options for a new passkey',
        description:
          'Recent auth. Resident key preferred, user verification required. Answer `options` to navigator.credentials.create, then POST the attestation with `challenge_id`.',
        security: bearer,
        body: NameBody,
        response: { 200: PasskeyOptionsView, ...problems(400, 401) },
      },
    },
    async (request, reply) => reply.headers(NO_STORE).send(passkeyOptionsView(await services.passkeys.registrationOptions(principalOf(request).user, request.body.name))),
  );

  app.post(
    '/auth/webauthn/register/verify',
    {
      schema: {
        tags: ['mfa'],
        summary: 'Store a new passkey',
        security: bearer,
        body: RegisterVerifyBody,
        response: { 201: FactorView, ...problems(400, 401, 409) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const factor = await services.passkeys.register(principal.user, request.body.challenge_id, request.body.attestation as RegistrationResponseJSON, contextOf(request));
      await services.mfa.finishEnrolment(principal, ['hwk', 'user']);
      return reply.code(201).send(factorView(factor));
    },
  );

  app.post(
    '/auth/reauthenticate',
    {
      // Guessing the password with a stolen access token costs the same budget as logging in.
      onRequest: rateLimit(services, RATE_RULES.login),
      schema: {
        tags: ['auth'],
        summary: 'Prove presence again for a fresh auth_time (step-up, RFC 9470)',
        description:
          'One of `password`, `code`, `recovery_code`, or `challenge_id` + `assertion` (options from POST /auth/webauthn/login/options). ' +
          'Answers a token response whose access token carries a new `auth_time` and the `amr` of this proof; the session keeps its refresh token. ' +
          'Routes marked recent auth accept tokens whose `auth_time` is within REAUTH_MAX_AGE.',
        security: bearer,
        body: ReauthenticateBody,
        response: { 200: Type.Ref(TokenResponse), ...problems(400, 401, 429, 503) },
      },
    },
    async (request, reply) => {
      const { password, ...rest } = request.body;
      const proof = proofOf(rest);
      if ((password === undefined) === (proof === null)) throw ValidationError.field('password', 'send one of password, code, recovery_code or assertion');
      const principal = principalOf(request);
      const grant =
        password !== undefined
          ? await services.auth.reauthenticate(principal, password, contextOf(request))
          : await services.mfa.reauthenticate(principal, proof!, contextOf(request));
      return reply.headers(NO_STORE).send(tokenResponse(reply, grant, services.config));
    },
  );

  app.delete(
    '/users/:id/mfa',
    {
      preHandler: recent,
      schema: {
        tags: ['users'],
        summary: 'Remove every second factor and passkey of another user, end their sessions and mail them a notice (admins; recent auth; audited)',
        security: bearer,
        params: UserParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const admin = requireAdmin(request).user;
      const user = await services.users.get(request.params.id);
      await services.mfa.reset(admin, user, contextOf(request));
      await services.email.queueMfaResetNotice(user);
      return reply.code(204).send(null);
    },
  );
};
