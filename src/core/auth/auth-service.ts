import type { AuditLog } from '../audit.js';
import { InvalidCredentialsError, ValidationError } from '../errors.js';
import type { User } from '../model.js';
import { hasPassword } from './sign-in-methods.js';
import { isWellFormed, normalizeIdentifier } from '../normalize.js';
import type { UserStore } from '../ports.js';
import type { UserService } from '../users/user-service.js';
import type { LoginThrottle } from './login-throttle.js';
import type { PasswordHasher } from './password-hasher.js';
import { PASSWORD_MAX_BYTES, type PasswordPolicy } from './password-policy.js';
import type { ClientContext, ClientGrant, Principal, SessionService, TokenGrant } from './session-service.js';
import type { EmailService } from '../email/email-service.js';
import { PASSWORD_ONLY } from './authentication.js';
import { isMfaRequired, type SignInGate, type SignInResult } from '../mfa/sign-in-gate.js';

/** Logging in and changing passwords. */
export class AuthService {
  constructor(
    private readonly users: UserStore,
    private readonly userService: UserService,
    private readonly sessions: SessionService,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly audit: AuditLog,
    /** Null when rate limiting is off (RATE_LIMIT=off). */
    private readonly throttle: LoginThrottle | null,
    /** The email flows: the verification gate and the password-changed notice. */
    private readonly email: EmailService | null = null,
    /** Asks for the second factor when the user has one (MFA-08); without it, the session starts. */
    private readonly gate: SignInGate | null = null,
  ) {}

  /**
   * ENUM-01/02: an unknown login, a wrong password and a disabled account fail the same way, and
   * each spends one Argon2 verification, so neither the answer nor its timing tells them apart.
   */
  async login(login: string, password: string, client: ClientContext, grant: ClientGrant): Promise<SignInResult> {
    const key = normalizeIdentifier(login);
    const user = key.includes('@') ? await this.users.findByEmail(key) : await this.users.findByUsername(key);
    // Keyed by the name as typed, known or not: a 429 reveals neither existence nor which email is whose.
    const account = `login:${key}`;
    const lock = await this.throttle?.begin(account, client.ip);
    if (lock) await this.audit.record('login.throttled', client, { subjectId: user?.id ?? null, details: { scope: lock.scope, seconds: lock.seconds } });
    const matches = await this.passwordMatches(user, password);
    if (!user || !matches) {
      // The audit names the account when there is one; an unknown login's text is not kept (it may be a mistyped password).
      const reason = user ? (user.disabled ? 'disabled' : hasPassword(user) ? 'password' : 'no_password') : 'unknown_user';
      await this.audit.record('login.failed', client, { subjectId: user?.id ?? null, details: { reason } });
      throw new InvalidCredentialsError();
    }
    await this.throttle?.succeed(account, client.ip);
    // EMAIL_VERIFICATION=required: said only to whoever knows the password, so it reveals nothing.
    if (this.email) {
      try {
        this.email.assertMaySignIn(user);
      } catch (error) {
        await this.audit.record('login.failed', client, { subjectId: user.id, details: { reason: 'email_unverified' } });
        throw error;
      }
    }
    // PWD-05: move old hashes to the current parameters while we hold the plain password.
    if (this.hasher.needsRehash(user.passwordHash)) await this.userService.setPasswordHash(user.id, await this.hasher.hash(password));
    const result = this.gate ? await this.gate.complete(user, PASSWORD_ONLY, client, grant) : await this.sessions.start(user, client, grant);
    // With a second factor the sign-in is not done yet: /auth/mfa/verify records its success.
    if (isMfaRequired(result)) return result;
    const tokens = result;
    await this.audit.record('login.succeeded', client, { actorId: user.id, subjectId: user.id, details: { session_id: tokens.sessionId, client_id: grant.clientId } });
    return tokens;
  }

  /** One Argon2 verification whatever the case: a real hash, or the dummy when there is no user. */
  private async passwordMatches(user: User | null, password: string): Promise<boolean> {
    // PWD-06: never feed an unbounded string to the hasher; ID-05: nor one it would alter (U+FFFD).
    if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES || !isWellFormed(password)) return false;
    // An account made through another provider has no password: it fails like a wrong one, at the same cost.
    if (!user || !hasPassword(user)) return this.hasher.verifyDummy(password);
    const matches = await this.hasher.verify(user.passwordHash, password);
    return matches && !user.disabled;
  }

  /**
   * MFA-05: the password again, for a fresh `auth_time` in the caller's session (RFC 9470 step-up).
   * A stolen access token must not become a way to guess the password: same throttle as logins.
   */
  async reauthenticate(principal: Principal, password: string, client: ClientContext = {}): Promise<Omit<TokenGrant, 'refreshToken'>> {
    const { user } = principal;
    // A phished password and a stolen token together must not reach what step-up guards (removing
    // the factors, changing the password): with a second factor, presence is proven with it.
    if (await this.gate?.hasSecondFactor(user)) throw ValidationError.field('password', 'this account has a second factor: send code, recovery_code or a passkey assertion');
    await this.throttle?.begin(`password:${user.id}`, client.ip);
    if (!(await this.passwordMatches(user, password))) {
      await this.audit.record('reauth.failed', client, { actorId: user.id, subjectId: user.id, details: { method: 'pwd' } });
      throw new InvalidCredentialsError();
    }
    await this.throttle?.succeed(`password:${user.id}`, client.ip);
    const grant = await this.sessions.reauthenticated(principal, PASSWORD_ONLY);
    await this.audit.record('reauth.succeeded', client, { actorId: user.id, subjectId: user.id, details: { session_id: principal.session.id, method: 'pwd' } });
    return grant;
  }

  /** PWD-04: the current password is required; SES-04: every other session ends. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string, client: ClientContext = {}): Promise<void> {
    const { user } = principal;
    // A stolen access token must not become a way to guess the password: same throttle as logins.
    await this.throttle?.begin(`password:${user.id}`, client.ip);
    if (!hasPassword(user)) throw ValidationError.field('current_password', 'this account has no password yet: set one through "Forgot password"');
    if (!isWellFormed(currentPassword) || !(await this.hasher.verify(user.passwordHash, currentPassword))) {
      await this.audit.record('password.change_failed', client, { actorId: user.id, subjectId: user.id });
      throw ValidationError.field('current_password', 'is not correct');
    }
    await this.throttle?.succeed(`password:${user.id}`, client.ip);
    this.policy.check(newPassword, 'new_password', { username: user.username, email: user.email });
    // EMAIL-04: the account's address hears of it, in the same transaction as the change.
    const notice = this.email ? { mail: [this.email.passwordChangedNotice(user)] } : undefined;
    await this.userService.setPasswordHash(user.id, await this.hasher.hash(newPassword), notice);
    await this.sessions.revokeAll(user.id, principal.session.id);
    await this.audit.record('password.changed', client, { actorId: user.id, subjectId: user.id });
  }
}
