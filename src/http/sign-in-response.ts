import type { FastifyReply } from 'fastify';
import { isMfaRequired, type MfaRequired, type PasskeyOptions, type SignInResult } from '../core/mfa/sign-in-gate.js';
import type { Services } from '../services.js';
import { tokenResponse } from './refresh-cookie.js';
import { NO_STORE } from './security-headers.js';

export const passkeyOptionsView = (o: PasskeyOptions) => ({ challenge_id: o.challengeId, options: o.options });

/** The `mfa_required` answer: no tokens, a single-use `mfa_token` for /auth/mfa/verify (MFA-04). */
export function mfaRequiredView(result: MfaRequired) {
  return {
    mfa_required: true as const,
    mfa_token: result.mfaToken,
    expires_in: result.expiresIn,
    methods: [...result.methods],
    ...(result.webauthn ? { webauthn: passkeyOptionsView(result.webauthn) } : {}),
  };
}

/** A sign-in's answer: the token response, or `mfa_required` when a second factor is due. */
export function sendSignIn(reply: FastifyReply, result: SignInResult, config: Services['config']): FastifyReply {
  reply.headers(NO_STORE);
  return reply.send(isMfaRequired(result) ? mfaRequiredView(result) : tokenResponse(reply, result, config));
}
