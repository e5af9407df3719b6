import type { AuditLog, RequestContext } from '../audit.js';
import { ACR, AMR, combineMethods, type Authentication } from '../auth/authentication.js';
import { formatRefreshToken, hashSecret, newRefreshToken, parseRefreshToken, secretMatches } from '../auth/refresh-tokens.js';
import type { ClientContext, ClientGrant, Principal, SessionService, TokenGrant } from '../auth/session-service.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { passwordFingerprint } from '../email/tokens.js';
import { FIRST_PARTY_CLIENT_ID } from '../oauth/clients.js';
import { AppError, NotFoundError, TooManyRequestsError, ValidationError } from '../errors.js';
import { newId } from '../ids.js';
import type { MfaFactor, User } from '../model.js';
import type { ChallengeStore, Clock, FactorStore, RecoveryCodeStore, UserStore } from '../ports.js';
import { budgetKey, type MfaAttemptBudget } from './attempt-budget.js';
import type { PasskeyAssertion, PasskeyService } from './passkey-service.js';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import type { MfaRequired, PasskeyOptions, SignInGate, SignInResult } from './sign-in-gate.js';
import { matchTotpStep, newTotpSecret, totpUri } from './totp.js';

/** MFA-01: how long a pending authenticator-app enrolment may wait for its first code. */
export const PENDING_TOTP_TTL_MS = 15 * 60_000;

/** MFA-04: how long the second step may wait after the first. */
export const MFA_TOKEN_TTL_MS = 5 * 60_000;

/** A proof of the second factor: a TOTP code, a recovery code, or a passkey assertion. */
export type FactorProof = { readonly code: string } | { readonly recoveryCode: string } | { readonly assertion: PasskeyAssertion };

export interface MfaDeps {
  readonly factors: FactorStore;
  readonly recoveryCodes: RecoveryCodeStore;
  readonly challenges: ChallengeStore;
  readonly users: UserStore;
  readonly secrets: SecretBox;
  readonly sessions: SessionService;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly budget: MfaAttemptBudget;
  readonly passkeys: PasskeyService;
}

export interface MfaSettings {
  /** The issuer shown in authenticator apps (UI_TITLE). */
  readonly issuer: string;
  /** MFA_REQUIRED: whose sign-in without a factor starts a session good only for enrolling one. */
  readonly required: 'off' | 'admins' | 'all';
  /** The server key recovery codes are hashed under (MFA-03), shared by every instance. */
  readonly recoveryCodeKey: Buffer;
}

/** What a pending TOTP enrolment shows, once. */
export interface TotpEnrolment {
  readonly factor: MfaFactor;
  readonly secret: string;
  readonly uri: string;
}

const totpPurpose = (factorId: string) => `totp:${factorId}`;

/**
 * Second factors: TOTP enrolment and codes (MFA-01/02), recovery codes (MFA-03), the second step
 * of a sign-in (MFA-04/08), and factor removal (MFA-07). Passkey ceremonies live in PasskeyService.
 */
export class MfaService implements SignInGate {
  constructor(
    private readonly deps: MfaDeps,
    private readonly settings: MfaSettings,
  ) {}

  /** The user's confirmed factors, oldest first. */
  async list(userId: string): Promise<MfaFactor[]> {
    return this.deps.factors.listConfirmed(userId);
  }

  /** POST /auth/mfa/totp: a pending factor with a new seed; the seed is shown now and never again (MFA-01). */
  async startTotp(user: User, name: string | undefined, context: RequestContext): Promise<TotpEnrolment> {
    const now = this.deps.clock.now();
    const id = newId(now);
    const secret = newTotpSecret();
    const factor: MfaFactor = {
      id,
      userId: user.id,
      type: 'totp',
      name: name ?? 'Authenticator app',
      confirmed: false,
      createdAt: now,
      lastUsedAt: null,
      // Sealed for this factor only: a sealed seed copied onto another row does not open.
      secretSealed: this.deps.secrets.seal(secret, totpPurpose(id)),
      lastStep: null,
      credentialId: null,
      publicKey: null,
      signCount: null,
      transports: [],
      backupEligible: null,
      backupState: null,
    };
    // One pending enrolment a user: abandoned ones do not pile up (each new start replaces the last).
    await this.deps.factors.deletePending(user.id);
    await this.deps.factors.create(factor);
    await this.deps.audit.record('mfa.enrolment_started', context, { actorId: user.id, subjectId: user.id, details: { factor_id: id, type: 'totp' } });
    return { factor, secret, uri: totpUri(secret, this.settings.issuer, user.username) };
  }

  /**
   * POST /auth/mfa/totp/:id/confirm: a first code proves the app holds the seed. An account without
   * recovery codes gets ten with it (shown once); later apps return none.
   */
  async confirmTotp(user: User, factorId: string, code: string, context: RequestContext): Promise<{ recoveryCodes: string[] | null }> {
    const factor = await this.deps.factors.findById(factorId);
    if (!factor || factor.userId !== user.id || factor.type !== 'totp' || factor.confirmed) throw new NotFoundError('ERR_MFA_NOT_FOUND');
    // A seed shown long ago (a screenshot, a shoulder) is not confirmed: the enrolment starts over.
    if (this.deps.clock.now() - factor.createdAt > PENDING_TOTP_TTL_MS) throw new NotFoundError('ERR_MFA_NOT_FOUND');
    await this.deps.budget.take(budgetKey({ userId: user.id }));
    const step = matchTotpStep(this.seedOf(factor), code, this.deps.clock.now());
    if (step === null) {
      await this.deps.audit.record('mfa.failed', context, { actorId: user.id, subjectId: user.id, details: { factor_id: factor.id, method: 'totp', step: 'enrolment' } });
      throw ValidationError.field('code', 'is not the current code of the authenticator app');
    }
    // The first app comes with recovery codes (a passkey enrolled before it brought none).
    const hadCodes = (await this.deps.recoveryCodes.countUnused(user.id)) > 0;
    if (!(await this.deps.factors.confirm(factor.id, step, this.deps.clock.now()))) throw new NotFoundError('ERR_MFA_NOT_FOUND');
    await this.deps.budget.succeed(budgetKey({ userId: user.id }));
    await this.deps.audit.record('mfa.enrolled', context, { actorId: user.id, subjectId: user.id, details: { factor_id: factor.id, type: 'totp' } });
    return { recoveryCodes: hadCodes ? null : await this.issueRecoveryCodes(user, context) };
  }

  private mustEnrol(user: User): boolean {
    return this.settings.required === 'all' || (this.settings.required === 'admins' && user.role === 'admin');
  }

  /**
   * A factor was just added in a session that MFA_REQUIRED held to enrolment: the factor's proof
   * joins the password's, and the session is a full one from now on (its current tokens included,
   * since every request reads the session).
   */
  async finishEnrolment(principal: Principal, method: readonly string[]): Promise<void> {
    if (principal.session.acr !== ACR.enrolmentRequired) return;
    await this.deps.sessions.reauthenticated(principal, { amr: combineMethods(principal.session.amr, method) });
  }

  /** POST /auth/mfa/recovery-codes: ten new codes; the old ones stop working (MFA-03). */
  async issueRecoveryCodes(user: User, context: RequestContext): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.deps.recoveryCodes.replace(
      user.id,
      codes.map((code) => hashRecoveryCode(this.settings.recoveryCodeKey, user.id, code)),
      this.deps.clock.now(),
    );
    await this.deps.audit.record('mfa.recovery_codes_generated', context, { actorId: user.id, subjectId: user.id });
    return codes;
  }

  /** DELETE /auth/mfa/:id: MFA-07, a passkey that is the last way to sign in stays (see PasskeyService). */
  async remove(user: User, factorId: string, context: RequestContext): Promise<void> {
    const factor = await this.deps.factors.findById(factorId);
    if (!factor || factor.userId !== user.id) throw new NotFoundError('ERR_MFA_NOT_FOUND');
    const guard = factor.type === 'webauthn' ? await this.deps.passkeys.removalGuard(user, factor.id) : undefined;
    if (!(await this.deps.factors.delete(factor.id, user.id, guard))) throw new NotFoundError('ERR_MFA_NOT_FOUND');
    await this.deps.audit.record('mfa.removed', context, { actorId: user.id, subjectId: user.id, details: { factor_id: factor.id, type: factor.type } });
  }

  /**
   * DELETE /users/:id/mfa: an admin removes every factor of a user who lost theirs (MFA-07: audited).
   * Not their own (that is /auth/mfa/:id, with their own proof), never the last way to sign in, and
   * every session of the user ends: whoever held the account with the lost factor is signed out.
   */
  async reset(actor: User, user: User, context: RequestContext): Promise<number> {
    // An admin's stolen session must not strip the admin's own second factor in one call.
    if (actor.id === user.id) throw ValidationError.field('id', 'is your own account: remove your own factors one by one at /auth/mfa/{id}');
    await this.deps.passkeys.assertMayRemoveAll(user);
    const removed = await this.deps.factors.deleteAllForUser(user.id);
    await this.deps.sessions.revokeAllOf(actor.id, user.id, context);
    await this.deps.audit.record('mfa.reset', context, { actorId: actor.id, subjectId: user.id, details: { factors: removed } });
    return removed;
  }

  // ---- the second step of a sign-in ----------------------------------------------------------

  /**
   * MFA-08: every sign-in path ends here. Without a factor, or with a proof that already counts two
   * (a passkey with user verification), the session starts; otherwise the answer is an `mfa_token`.
   */
  async complete(user: User, auth: Authentication, client: ClientContext, grant: ClientGrant): Promise<SignInResult> {
    const factors = await this.list(user.id);
    if (factors.length === 0 && this.mustEnrol(user)) {
      // MFA_REQUIRED: signed in, but every route but enrolment answers 403 until a factor is added.
      await this.deps.audit.record('mfa.challenged', client, { subjectId: user.id, details: { methods: 'enrolment', first: auth.amr.join(',') } });
      return this.deps.sessions.start(user, client, grant, { amr: auth.amr, acr: ACR.enrolmentRequired });
    }
    if (factors.length === 0 || auth.amr.includes(AMR.multiFactor)) return this.deps.sessions.start(user, client, grant, auth);
    const now = this.deps.clock.now();
    const token = newRefreshToken();
    await this.deps.challenges.create({
      id: token.id,
      kind: 'mfa',
      userId: user.id,
      secretHash: hashSecret(token.secret),
      // MFA-04: bound to the user and to the first step (its methods, the client, and the password
      // as it was: a password change in between voids it).
      data: { amr: [...auth.amr], clientId: grant.clientId, scope: grant.scope ?? '', password: passwordFingerprint(user.passwordHash) },
      expiresAt: now + MFA_TOKEN_TTL_MS,
      createdAt: now,
    });
    const methods = new Set<string>();
    for (const f of factors) methods.add(f.type === 'totp' ? 'totp' : 'webauthn');
    if ((await this.deps.recoveryCodes.countUnused(user.id)) > 0) methods.add('recovery_code');
    const webauthn = methods.has('webauthn') ? await this.deps.passkeys.options(user) : null;
    await this.deps.audit.record('mfa.challenged', client, { subjectId: user.id, details: { methods: [...methods].join(','), first: auth.amr.join(',') } });
    const required: MfaRequired = { mfaRequired: true, mfaToken: formatRefreshToken(token), expiresIn: MFA_TOKEN_TTL_MS / 1000, methods: [...methods], webauthn };
    return required;
  }

  async hasSecondFactor(user: User): Promise<boolean> {
    return (await this.list(user.id)).length > 0;
  }

  /** Recovery codes the user has not used. */
  recoveryCodesLeft(userId: string): Promise<number> {
    return this.deps.recoveryCodes.countUnused(userId);
  }

  /** Fresh passkey options for a pending second step (a retry after a failed assertion). */
  async passkeyOptionsFor(mfaToken: string, client: ClientContext): Promise<PasskeyOptions> {
    const { user } = await this.pendingStep(mfaToken, client);
    return this.deps.passkeys.options(user);
  }

  /** The pending second step an `mfa_token` names, with its user; ERR_MFA_TOKEN_INVALID otherwise. */
  private async pendingStep(
    mfaToken: string,
    client: ClientContext,
  ): Promise<{ id: string; user: User; data: { amr: string[]; clientId: string; scope: string; password: string } }> {
    const parts = parseRefreshToken(mfaToken);
    const challenge = parts ? await this.deps.challenges.find(parts.id, this.deps.clock.now()) : null;
    if (!parts || !challenge || challenge.kind !== 'mfa' || !challenge.userId || !secretMatches(parts.secret, challenge.secretHash)) {
      throw await this.refuseToken(client, 'unknown_or_expired', challenge?.userId ?? null);
    }
    const user = await this.deps.users.findById(challenge.userId);
    const data = challenge.data as { amr: string[]; clientId: string; scope: string; password: string };
    // MFA-04: bound to the password step: a password changed since voids it.
    if (!user || user.disabled || passwordFingerprint(user.passwordHash) !== data.password) throw await this.refuseToken(client, 'voided', challenge.userId);
    return { id: challenge.id, user, data };
  }

  /** Audits a refused `mfa_token` (never the token itself) and returns the one answer for all. */
  private async refuseToken(client: ClientContext, reason: string, userId: string | null): Promise<AppError> {
    await this.deps.audit.record('mfa.token_refused', client, { subjectId: userId, details: { reason } });
    return new AppError('ERR_MFA_TOKEN_INVALID');
  }

  /** POST /auth/mfa/verify: the second factor; the `mfa_token` is spent only when it is right. */
  async verify(mfaToken: string, proof: FactorProof, client: ClientContext): Promise<TokenGrant> {
    const { id, user, data } = await this.pendingStep(mfaToken, client);
    // Tokens come back to whoever calls here, not to the client the first step was for: only the
    // first-party client's steps finish here (a third-party password-grant client is refused).
    if (data.clientId !== FIRST_PARTY_CLIENT_ID) throw await this.refuseToken(client, 'client', user.id);
    const method = await this.checkProof(user, proof, client, budgetKey({ userId: user.id }));
    // Single use: of two requests with one token (and two good codes), one gets the session.
    if (!(await this.deps.challenges.consume(id, this.deps.clock.now()))) throw new AppError('ERR_MFA_TOKEN_INVALID');
    const amr = combineMethods(data.amr, method);
    const tokens = await this.deps.sessions.start(user, client, { clientId: data.clientId, scope: data.scope }, { amr });
    await this.deps.audit.record('login.succeeded', client, {
      actorId: user.id,
      subjectId: user.id,
      details: { session_id: tokens.sessionId, client_id: data.clientId, method: amr.join(',') },
    });
    return tokens;
  }

  /** POST /auth/reauthenticate with a code or a passkey: a fresh `auth_time` (MFA-05). */
  async reauthenticate(principal: Principal, proof: FactorProof, client: ClientContext): Promise<Omit<TokenGrant, 'refreshToken'>> {
    let amr: string[];
    try {
      amr = await this.checkProof(principal.user, proof, client, budgetKey({ sessionId: principal.session.id }));
    } catch (error) {
      if (error instanceof AppError && !(error instanceof TooManyRequestsError)) {
        const method = 'assertion' in proof ? 'webauthn' : 'code' in proof ? 'totp' : 'recovery_code';
        await this.deps.audit.record('reauth.failed', client, { actorId: principal.user.id, subjectId: principal.user.id, details: { session_id: principal.session.id, method } });
      }
      throw error;
    }
    const grant = await this.deps.sessions.reauthenticated(principal, { amr });
    await this.deps.audit.record('reauth.succeeded', client, {
      actorId: principal.user.id,
      subjectId: principal.user.id,
      details: { session_id: principal.session.id, method: amr.join(',') },
    });
    return grant;
  }

  /** Checks one proof of the user's second factor; the RFC 8176 methods it stands for, or throws. */
  private async checkProof(user: User, proof: FactorProof, client: ClientContext, budget: string): Promise<string[]> {
    if ('assertion' in proof) {
      // A failure is audited by the passkey check itself (passkey.login_failed, counter_regressed).
      const { factor } = await this.deps.passkeys.verify(proof.assertion, user.id, client);
      await this.deps.audit.record('mfa.succeeded', client, { actorId: user.id, subjectId: user.id, details: { method: 'webauthn', factor_id: factor.id } });
      return [AMR.hardwareKey, AMR.user];
    }
    await this.deps.budget.take(budget);
    const ok = 'code' in proof ? await this.useTotpCode(user, proof.code) : await this.useRecoveryCode(user, proof.recoveryCode);
    const method = 'code' in proof ? 'totp' : 'recovery_code';
    if (!ok) {
      await this.deps.audit.record('mfa.failed', client, { subjectId: user.id, details: { method } });
      throw new AppError('ERR_MFA_INVALID_CODE');
    }
    await this.deps.budget.succeed(budget);
    await this.deps.audit.record('mfa.succeeded', client, { actorId: user.id, subjectId: user.id, details: { method } });
    return [AMR.otp];
  }

  /** MFA-01: a code of any of the user's apps, ±1 step, accepted once (the step is swapped in atomically). */
  private async useTotpCode(user: User, code: string): Promise<boolean> {
    const now = this.deps.clock.now();
    for (const factor of await this.list(user.id)) {
      if (factor.type !== 'totp') continue;
      const step = matchTotpStep(this.seedOf(factor), code, now);
      if (step !== null) return this.deps.factors.useStep(factor.id, step, now);
    }
    return false;
  }

  /** MFA-03: each code once; the update that marks it used is the check. */
  private async useRecoveryCode(user: User, code: string): Promise<boolean> {
    if (code.length > 64) return false;
    return this.deps.recoveryCodes.use(user.id, hashRecoveryCode(this.settings.recoveryCodeKey, user.id, code), this.deps.clock.now());
  }

  private seedOf(factor: MfaFactor): string {
    return this.deps.secrets.open(factor.secretSealed!, totpPurpose(factor.id));
  }
}
