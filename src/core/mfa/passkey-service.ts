import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { AuditLog, RequestContext } from '../audit.js';
import { AMR } from '../auth/authentication.js';
import { hashSecret } from '../auth/refresh-tokens.js';
import type { ClientContext, ClientGrant, SessionService, TokenGrant } from '../auth/session-service.js';
import type { SignInMethods } from '../auth/sign-in-methods.js';
import { AppError, LastSignInMethodError } from '../errors.js';
import { newId, randomToken } from '../ids.js';
import type { MfaFactor, User } from '../model.js';
import type { ChallengeStore, Clock, FactorStore, UserStore } from '../ports.js';
import type { PasskeyOptions } from './sign-in-gate.js';

/** A passkey assertion as the browser produced it, with the id of the challenge it answers. */
export interface PasskeyAssertion {
  readonly challengeId: string;
  readonly response: AuthenticationResponseJSON;
}

export interface PasskeyDeps {
  readonly factors: FactorStore;
  readonly challenges: ChallengeStore;
  readonly users: UserStore;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly signInMethods: SignInMethods;
  readonly sessions: SessionService;
}

export interface PasskeySettings {
  /** WEBAUTHN_RP_ID. */
  readonly rpId: string;
  /** Shown by the authenticator (UI_TITLE). */
  readonly rpName: string;
  /** PUBLIC_URL's origin: assertions from any other origin are refused (MFA-06). */
  readonly origins: readonly string[];
}

/** MFA-06: a challenge answers one ceremony, within two minutes. */
const CHALLENGE_TTL_MS = 2 * 60_000;

const refused = (message?: string) => new AppError('ERR_WEBAUTHN_REFUSED', message);

/**
 * Passkeys (WebAuthn Level 3 with @simplewebauthn/server): registration with a resident key
 * preferred and user verification required, sign-in without a username (discoverable credentials),
 * and assertions as a second factor or a reauthentication. MFA-06: challenges are single-use and
 * expire, origin and RP ID are checked, user verification is required, a credential belongs to one
 * user, and a sign counter that goes backwards is refused and audited.
 */
export class PasskeyService {
  constructor(
    private readonly deps: PasskeyDeps,
    private readonly settings: PasskeySettings,
  ) {
    // A passkey is a way to sign in on its own: it counts for MFA-07.
    deps.signInMethods.add(async (user) => (await this.passkeysOf(user.id)).map((f) => ({ kind: 'passkey', id: f.id })));
  }

  private async passkeysOf(userId: string): Promise<MfaFactor[]> {
    return (await this.deps.factors.listConfirmed(userId)).filter((f) => f.type === 'webauthn');
  }

  /** A single-use challenge row; only a hash of the challenge is kept, and whom it is for. */
  private async remember(challenge: string, userId: string | null, data: Record<string, unknown>): Promise<string> {
    const now = this.deps.clock.now();
    const id = randomToken(16);
    await this.deps.challenges.create({ id, kind: 'webauthn', userId, secretHash: hashSecret(challenge), data, expiresAt: now + CHALLENGE_TTL_MS, createdAt: now });
    return id;
  }

  /** Takes the challenge (gone from now on, whatever follows) and checks it was made for `purpose`. */
  private async take(challengeId: string, purpose: string): Promise<{ secretHash: string; userId: string | null; data: Record<string, unknown> }> {
    const now = this.deps.clock.now();
    const challenge = await this.deps.challenges.find(challengeId, now);
    if (!challenge || challenge.kind !== 'webauthn' || challenge.data.purpose !== purpose || !(await this.deps.challenges.consume(challengeId, now))) {
      throw refused('The passkey challenge is unknown, used or expired: start again.');
    }
    return challenge;
  }

  /** POST /auth/webauthn/register/options: creation options for the caller. */
  async registrationOptions(user: User, name: string | undefined): Promise<PasskeyOptions> {
    const options = await generateRegistrationOptions({
      rpName: this.settings.rpName,
      rpID: this.settings.rpId,
      userName: user.username,
      userDisplayName: user.name ?? user.username,
      // The user handle: what a discoverable credential hands back to say whose it is.
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: (await this.passkeysOf(user.id)).map((f) => ({ id: f.credentialId!, transports: [...f.transports] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      timeout: CHALLENGE_TTL_MS,
    });
    const challengeId = await this.remember(options.challenge, user.id, { purpose: 'register', name: name ?? 'Passkey' });
    return { challengeId, options: options as unknown as Record<string, unknown> };
  }

  /** POST /auth/webauthn/register/verify: stores the new passkey. */
  async register(user: User, challengeId: string, response: RegistrationResponseJSON, context: RequestContext): Promise<MfaFactor> {
    const challenge = await this.take(challengeId, 'register').catch(() => {
      throw new AppError('ERR_WEBAUTHN_INVALID', 'The registration challenge is unknown, used or expired: start again.');
    });
    if (challenge.userId !== user.id) throw new AppError('ERR_WEBAUTHN_INVALID', 'The registration challenge was made for another user.');
    let info;
    try {
      const result = await verifyRegistrationResponse({
        response,
        expectedChallenge: (c) => hashSecret(c) === challenge.secretHash,
        expectedOrigin: [...this.settings.origins],
        expectedRPID: this.settings.rpId,
        requireUserVerification: true,
      });
      if (!result.verified) throw new Error('not verified');
      info = result.registrationInfo;
    } catch (error) {
      await this.deps.audit.record('mfa.failed', context, { actorId: user.id, subjectId: user.id, details: { method: 'webauthn', step: 'enrolment', reason: reasonOf(error) } });
      throw new AppError('ERR_WEBAUTHN_INVALID', `The passkey could not be verified: ${reasonOf(error)}.`);
    }
    const now = this.deps.clock.now();
    const factor: MfaFactor = {
      id: newId(now),
      userId: user.id,
      type: 'webauthn',
      name: typeof challenge.data.name === 'string' ? challenge.data.name : 'Passkey',
      confirmed: true,
      createdAt: now,
      lastUsedAt: null,
      secretSealed: null,
      lastStep: null,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      signCount: info.credential.counter,
      transports: info.credential.transports ?? [],
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backupState: info.credentialBackedUp,
    };
    await this.deps.factors.create(factor);
    await this.deps.audit.record('mfa.enrolled', context, { actorId: user.id, subjectId: user.id, details: { factor_id: factor.id, type: 'webauthn' } });
    return factor;
  }

  /**
   * Request options. Without a user (POST /auth/webauthn/login/options) the allow-list is empty:
   * the authenticator offers its discoverable passkeys for this RP, and no username is asked for
   * or revealed. For the second step of a sign-in, the list is the user's passkeys.
   */
  async options(user: User | null): Promise<PasskeyOptions> {
    const allowCredentials = user ? (await this.passkeysOf(user.id)).map((f) => ({ id: f.credentialId!, transports: [...f.transports] })) : [];
    const options = await generateAuthenticationOptions({ rpID: this.settings.rpId, allowCredentials, userVerification: 'required', timeout: CHALLENGE_TTL_MS });
    const challengeId = await this.remember(options.challenge, user?.id ?? null, { purpose: 'assert' });
    return { challengeId, options: options as unknown as Record<string, unknown> };
  }

  /**
   * Verifies an assertion; `expectedUserId` when the signer must be a known user (second step,
   * reauthentication). Returns the user and their passkey.
   */
  async verify(assertion: PasskeyAssertion, expectedUserId: string | null, context: RequestContext): Promise<{ user: User; factor: MfaFactor }> {
    const challenge = await this.take(assertion.challengeId, 'assert');
    const response = assertion.response;
    const factor = typeof response?.id === 'string' ? await this.deps.factors.findByCredentialId(response.id) : null;
    const fail = async (reason: string, userId: string | null) => {
      await this.deps.audit.record('passkey.login_failed', context, { subjectId: userId, details: { reason } });
      return refused();
    };
    if (!factor || factor.type !== 'webauthn' || !factor.confirmed) throw await fail('unknown_credential', expectedUserId);
    // MFA-06: a credential belongs to one user; the challenge, the expected signer and the user
    // handle the authenticator returned must all name its owner.
    const handle = response.response?.userHandle;
    if (
      (expectedUserId !== null && factor.userId !== expectedUserId) ||
      (challenge.userId !== null && challenge.userId !== factor.userId) ||
      (handle !== undefined && handle !== null && handle !== Buffer.from(factor.userId).toString('base64url'))
    ) {
      throw await fail('wrong_user', expectedUserId ?? factor.userId);
    }
    const user = await this.deps.users.findById(factor.userId);
    if (!user || user.disabled) throw await fail('disabled', factor.userId);
    let info;
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: (c) => hashSecret(c) === challenge.secretHash,
        expectedOrigin: [...this.settings.origins],
        expectedRPID: this.settings.rpId,
        // The counter is compared below, where a regression can be told apart and audited.
        credential: { id: factor.credentialId!, publicKey: Buffer.from(factor.publicKey!, 'base64url'), counter: 0, transports: [...factor.transports] },
        requireUserVerification: true,
      });
      if (!result.verified) throw new Error('not verified');
      info = result.authenticationInfo;
    } catch (error) {
      throw await fail(reasonOf(error), user.id);
    }
    const stored = factor.signCount ?? 0;
    // MFA-06: a counter that does not move forward means a cloned authenticator, unless both are
    // zero, or a backup-eligible (synced) passkey reports 0: synced copies share no counter.
    const noCounter = info.newCounter === 0 && (stored === 0 || factor.backupEligible === true);
    if (!noCounter && info.newCounter <= stored) {
      await this.deps.audit.record('passkey.counter_regressed', context, { subjectId: user.id, details: { factor_id: factor.id, stored, presented: info.newCounter } });
      throw refused();
    }
    if (
      !(await this.deps.factors.useCredential(factor.id, stored, { signCount: Math.max(stored, info.newCounter), backupState: info.credentialBackedUp }, this.deps.clock.now()))
    ) {
      throw await fail('concurrent_use', user.id);
    }
    return { user, factor };
  }

  private signInCheck: (user: User) => void = () => {};

  /** What every sign-in must pass besides the passkey (EMAIL_VERIFICATION=required), set once at wiring. */
  useSignInCheck(check: (user: User) => void): void {
    this.signInCheck = check;
  }

  /** POST /auth/webauthn/login/verify: a passkey with user verification is two factors on its own. */
  async signIn(assertion: PasskeyAssertion, client: ClientContext, grant: ClientGrant): Promise<TokenGrant> {
    const { user, factor } = await this.verify(assertion, null, client);
    // The passkey is no way around the rules the password and email sign-ins follow.
    try {
      this.signInCheck(user);
    } catch (error) {
      await this.deps.audit.record('login.failed', client, { subjectId: user.id, details: { reason: 'email_unverified', method: 'webauthn' } });
      throw error;
    }
    const amr = [AMR.hardwareKey, AMR.user];
    const tokens = await this.deps.sessions.start(user, client, grant, { amr });
    await this.deps.audit.record('passkey.login_succeeded', client, { actorId: user.id, subjectId: user.id, details: { factor_id: factor.id } });
    await this.deps.audit.record('login.succeeded', client, {
      actorId: user.id,
      subjectId: user.id,
      details: { session_id: tokens.sessionId, client_id: grant.clientId, method: amr.join(',') },
    });
    return tokens;
  }

  /** MFA-07: refuses an admin reset that would leave a password-less user with no way to sign in. */
  async assertMayRemoveAll(user: User): Promise<void> {
    await this.deps.signInMethods.assertMayRemove(user, (m) => m.kind === 'passkey');
  }

  /**
   * MFA-07: refuses to remove the passkey when it is the user's last way to sign in. When the only
   * ways left would be other passkeys, the answer is a guard for the store, which recounts them in
   * the delete itself (a check here alone would let two removals at once both pass).
   */
  async removalGuard(user: User, factorId: string): Promise<{ keepAnotherPasskey: boolean }> {
    const remaining = (await this.deps.signInMethods.list(user)).filter((m) => !(m.kind === 'passkey' && m.id === factorId));
    if (remaining.length === 0) throw new LastSignInMethodError();
    return { keepAnotherPasskey: remaining.every((m) => m.kind === 'passkey') };
  }
}

/** A short reason for the log and the audit (the library's message names the failed check). */
function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}
