import { isMfaRequired, type SignInGate, type SignInResult } from '../mfa/sign-in-gate.js';
import type { AuditLog, RequestContext } from '../audit.js';
import type { PasswordHasher } from '../auth/password-hasher.js';
import type { PasswordPolicy } from '../auth/password-policy.js';
import type { ClientContext, ClientGrant, SessionService } from '../auth/session-service.js';
import { AppError, ConflictError, InvalidEmailTokenError, NotFoundError, ValidationError } from '../errors.js';
import { newId } from '../ids.js';
import type { EmailPurpose, EmailToken, QueuedMail, User } from '../model.js';
import { canonicalEmail, emailProblem } from '../normalize.js';
import type { Clock, EmailTokenStore, MailEffects, Redemption, UserStore } from '../ports.js';
import { headerSafe, type MailComposer, type MailKind } from './compose.js';
import type { MailBudget } from './mail-budget.js';
import { formatLinkToken, hashesMatch, keyedHash, newCode, newLinkToken, parseLinkToken, passwordFingerprint } from './tokens.js';

export interface EmailSettings {
  /** Base of every link, without a trailing slash. */
  readonly publicUrl: string;
  readonly verification: 'off' | 'optional' | 'required';
  readonly signIn: boolean;
  readonly tokenTtlMs: number;
  /** Server-side key for the keyed hashes of secrets and codes. */
  readonly tokenKey: Buffer;
  readonly productName: string;
  /** Host part of Message-IDs. */
  readonly messageIdHost: string;
}

export const CODE_TTL_MS = 10 * 60_000;
/** EMAIL-07: wrong codes a sign-in code survives. */
export const CODE_MAX_ATTEMPTS = 5;

const AMR = { code: ['otp'], link: ['email'] } as const;

export interface EmailServiceDeps {
  readonly users: UserStore;
  readonly tokens: EmailTokenStore;
  readonly hasher: PasswordHasher;
  readonly policy: PasswordPolicy;
  readonly sessions: SessionService;
  /** MFA-08: a sign-in by mail is one factor; with a second one enrolled, it is asked for. */
  readonly gate?: SignInGate;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly composer: MailComposer;
  /** Null when budgets are off (RATE_LIMIT=off). */
  readonly budget: MailBudget | null;
  /** Told when a user row changed here, so caches drop it. */
  readonly userChanged: (userId: string) => void;
  /** Told when mail was queued, so a sender in this process can look at once. */
  readonly queued: () => void;
  /** Told when work done after the answer failed (it has nobody else to tell). */
  readonly backgroundError: (error: unknown) => void;
}

/**
 * The email flows: verification, password recovery, change of address, sign-in by email. Every
 * message is queued in the same transaction as the change that causes it (see MailEffects).
 */
export class EmailService {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly deps: EmailServiceDeps,
    readonly settings: EmailSettings,
  ) {}

  /** Resolves once the work started after an answer (forgot, sign-in) is done: for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  // ---- messages and tokens -------------------------------------------------------------------

  /** Renders a message to `to` (the user's name, if any, is the display name). */
  message(kind: MailKind, to: { address: string; name?: string | null; userId?: string | null }, vars: Record<string, string> = {}): QueuedMail {
    const now = this.deps.clock.now();
    const content = this.deps.composer.compose(kind, { product: this.settings.productName, name: to.name ?? '', email: to.address, ...vars });
    const id = newId(now);
    return {
      id,
      messageId: `<${id}@${this.settings.messageIdHost}>`,
      to: to.address,
      toName: to.name ? headerSafe(to.name) || null : null,
      subject: headerSafe(content.subject),
      text: content.text,
      html: content.html,
      kind,
      userId: to.userId ?? null,
      createdAt: now,
    };
  }

  private newToken(user: User, purpose: EmailPurpose, ttlMs: number, extra: { newEmail?: string; code?: string } = {}): { token: EmailToken; link: string } {
    const now = this.deps.clock.now();
    const parts = newLinkToken();
    const { tokenKey } = this.settings;
    return {
      token: {
        id: parts.id,
        userId: user.id,
        purpose,
        secretHash: keyedHash(tokenKey, purpose, parts.secret),
        codeHash: extra.code ? keyedHash(tokenKey, `${purpose}:code`, extra.code) : null,
        email: user.email,
        newEmail: extra.newEmail ?? null,
        passwordFingerprint: passwordFingerprint(user.passwordHash),
        attempts: 0,
        expiresAt: now + ttlMs,
        usedAt: null,
        createdAt: now,
      },
      link: formatLinkToken(parts),
    };
  }

  /**
   * The link lands on a hosted page; the token rides in the fragment, which browsers never send
   * to a server, so it stays out of access logs, proxies and Referer headers.
   */
  private link(page: string, param: string, token: string): string {
    return `${this.settings.publicUrl}/ui/${page}#${param}=${token}`;
  }

  private ttlText(ms: number): string {
    return ms % 3_600_000 === 0 ? `${ms / 3_600_000} hour${ms === 3_600_000 ? '' : 's'}` : `${Math.round(ms / 60_000)} minutes`;
  }

  /** The verification token and message for a user's current address; undefined when verification is off. */
  verificationEffects(user: User): MailEffects | undefined {
    if (this.settings.verification === 'off' || user.emailVerified) return undefined;
    const { token, link } = this.newToken(user, 'verify_email', this.settings.tokenTtlMs);
    const mail = this.message(
      'verify_email',
      { address: user.email, name: user.name, userId: user.id },
      {
        link: this.link('verify', 'token', link),
        expires: this.ttlText(this.settings.tokenTtlMs),
      },
    );
    return { tokens: [token], mail: [mail], replaces: ['verify_email'] };
  }

  /** EMAIL-04: the notice a password change sends to the account's address. */
  passwordChangedNotice(user: User): QueuedMail {
    return this.message('password_changed', { address: user.email, name: user.name, userId: user.id }, { link: `${this.settings.publicUrl}/ui/forgot` });
  }

  /** The notice linking another provider's account sends to the account's address (a new way in is never silent). */
  identityLinkedNotice(user: User, providerName: string): QueuedMail {
    return this.message('identity_linked', { address: user.email, name: user.name, userId: user.id }, { provider: providerName, link: `${this.settings.publicUrl}/ui/account` });
  }

  /** MFA-07: tells the account's address that an admin removed its second factors (queued, outbox). */
  async queueMfaResetNotice(user: User): Promise<void> {
    const mail = this.message('mfa_reset', { address: user.email, name: user.name, userId: user.id }, { link: `${this.settings.publicUrl}/ui/forgot` });
    await this.deps.tokens.issue({ tokens: [], mail: [mail] });
    this.afterQueued();
  }

  /** Told after a write that queued mail: wakes the local sender. */
  afterQueued(): void {
    this.deps.queued();
  }

  // ---- verification --------------------------------------------------------------------------

  /** POST /auth/email/verify/send: a new link to the caller's address (nothing when already verified). */
  async sendVerification(user: User, _context: RequestContext): Promise<void> {
    await this.deps.budget?.spend(user.email);
    const effects = this.settings.verification === 'off' ? undefined : this.verificationEffects(user);
    if (!effects) return;
    await this.deps.tokens.issue(effects);
    this.afterQueued();
  }

  /** POST /auth/email/verify: the link's token marks the address verified, once. */
  async verify(raw: string, context: RequestContext): Promise<User> {
    const { token, user } = await this.check(raw, 'verify_email', context);
    await this.redeem(token, user, { userChanges: { emailVerified: true, updatedAt: this.deps.clock.now() } }, context);
    await this.deps.audit.record('email.verified', context, { actorId: user.id, subjectId: user.id });
    return this.reload(user.id);
  }

  // ---- password recovery ---------------------------------------------------------------------

  /**
   * POST /auth/password/forgot. EMAIL-02: the caller is answered before the address is even looked
   * up, so the answer and its timing are the same for known and unknown addresses; the budget is
   * spent on the address as typed, so a 429 says nothing either. The work happens after.
   */
  async forgotPassword(email: string, _context: RequestContext): Promise<void> {
    const address = this.normalizeAddress(email, 'email');
    await this.deps.budget?.spend(address);
    this.afterAnswer(async () => {
      const user = await this.deps.users.findByEmail(address);
      if (!user || user.disabled) return;
      const { token, link } = this.newToken(user, 'reset_password', this.settings.tokenTtlMs);
      const mail = this.message(
        'reset_password',
        { address: user.email, name: user.name, userId: user.id },
        {
          link: this.link('reset', 'token', link),
          expires: this.ttlText(this.settings.tokenTtlMs),
        },
      );
      await this.deps.tokens.issue({ tokens: [token], mail: [mail], replaces: ['reset_password'] });
      this.afterQueued();
    });
  }

  /**
   * POST /auth/password/reset: sets the new password, ends every session and sends the notice
   * (EMAIL-04), all in one transaction with the token's use. Following the link also proves the
   * address.
   */
  async resetPassword(raw: string, newPassword: string, context: RequestContext): Promise<void> {
    const { token, user } = await this.check(raw, 'reset_password', context);
    // A weak password is refused before the token is spent: the user can try another.
    this.deps.policy.check(newPassword, 'new_password', { username: user.username, email: user.email });
    const passwordHash = await this.deps.hasher.hash(newPassword);
    const now = this.deps.clock.now();
    await this.redeem(
      token,
      user,
      {
        userChanges: { passwordHash, emailVerified: true, updatedAt: now },
        revokeSessions: true,
        mail: [this.passwordChangedNotice(user)],
      },
      context,
    );
    // The rows are revoked already; this tells caches and other instances.
    await this.deps.sessions.revokeAll(user.id);
    await this.deps.audit.record('password.reset', context, { actorId: user.id, subjectId: user.id });
  }

  // ---- change of address ---------------------------------------------------------------------

  /**
   * PATCH /auth/me with a new email: a link to the new address and a notice to the old one; the
   * address changes only when the link is followed. Returns the pending address.
   */
  async requestEmailChange(user: User, email: string, context: RequestContext): Promise<string> {
    const address = this.normalizeAddress(email, 'email');
    if (address === user.email) return address;
    // A taken address answers 409 (as it always has); the profile budget keeps that from being a
    // free directory, and the confirmation re-checks under the unique index.
    const owner = await this.deps.users.findByEmail(address);
    if (owner && owner.id !== user.id) throw new ConflictError('ERR_USER_CONFLICT', 'That email is already registered.', 'email');
    await this.deps.budget?.spend(address);
    const { token, link } = this.newToken(user, 'change_email', this.settings.tokenTtlMs, { newEmail: address });
    const confirm = this.message(
      'change_email',
      { address, name: user.name, userId: user.id },
      {
        link: this.link('verify', 'change', link),
        new_email: address,
        expires: this.ttlText(this.settings.tokenTtlMs),
      },
    );
    const notice = this.message(
      'email_change_notice',
      { address: user.email, name: user.name, userId: user.id },
      { new_email: address, link: `${this.settings.publicUrl}/ui/forgot` },
    );
    await this.deps.tokens.issue({ tokens: [token], mail: [confirm, notice], replaces: ['change_email'] });
    this.afterQueued();
    await this.deps.audit.record('email.change_requested', context, { actorId: user.id, subjectId: user.id });
    return address;
  }

  /** POST /auth/email/change/confirm: the new address replaces the old, verified. */
  async confirmEmailChange(raw: string, context: RequestContext): Promise<User> {
    const { token, user } = await this.check(raw, 'change_email', context);
    await this.redeem(token, user, { userChanges: { email: token.newEmail!, emailVerified: true, updatedAt: this.deps.clock.now() } }, context);
    await this.deps.audit.record('email.changed', context, { actorId: user.id, subjectId: user.id });
    return this.reload(user.id);
  }

  // ---- sign-in by email ----------------------------------------------------------------------

  /** POST /auth/email/sign-in: answered like forgot-password (EMAIL-02); the code and link follow by mail. */
  async startSignIn(email: string, _context: RequestContext): Promise<void> {
    if (!this.settings.signIn) throw new NotFoundError('ERR_NOT_FOUND', 'Sign-in by email is not enabled on this service.');
    const address = this.normalizeAddress(email, 'email');
    await this.deps.budget?.spend(address);
    this.afterAnswer(async () => {
      const user = await this.deps.users.findByEmail(address);
      if (!user || user.disabled) return;
      const code = newCode();
      const { token, link } = this.newToken(user, 'sign_in', CODE_TTL_MS, { code });
      const mail = this.message(
        'sign_in',
        { address: user.email, name: user.name, userId: user.id },
        {
          code,
          link: this.link('verify', 'sign-in', link),
          expires: this.ttlText(CODE_TTL_MS),
        },
      );
      await this.deps.tokens.issue({ tokens: [token], mail: [mail], replaces: ['sign_in'] });
      this.afterQueued();
    });
  }

  /**
   * POST /auth/email/sign-in/verify. A code gets CODE_MAX_ATTEMPTS tries in all: each try takes one
   * atomically before the code is compared, so 50 concurrent guesses still get 5 (EMAIL-07).
   */
  async completeSignIn(input: { email?: string; code?: string; token?: string }, client: ClientContext, grant: ClientGrant): Promise<SignInResult> {
    if (!this.settings.signIn) throw new NotFoundError('ERR_NOT_FOUND', 'Sign-in by email is not enabled on this service.');
    if (input.token !== undefined) {
      const { token, user } = await this.check(input.token, 'sign_in', client);
      await this.redeem(token, user, { userChanges: { emailVerified: true, updatedAt: this.deps.clock.now() } }, client);
      return this.startSession(user, client, grant, AMR.link);
    }
    if (input.email === undefined || input.code === undefined) throw ValidationError.field('code', 'send email and code, or token');
    const address = canonicalEmail(input.email);
    const user = address === null ? null : await this.deps.users.findByEmail(address);
    const token = user ? await this.deps.tokens.findLive(user.id, 'sign_in', this.deps.clock.now()) : null;
    if (!user || !token || !token.codeHash) throw new InvalidEmailTokenError();
    if (!(await this.deps.tokens.takeAttempt(token.id, CODE_MAX_ATTEMPTS))) return this.refuse(user.id, 'sign_in', 'attempts', client);
    if (!hashesMatch(keyedHash(this.settings.tokenKey, 'sign_in:code', input.code), token.codeHash)) return this.refuse(user.id, 'sign_in', 'code', client);
    if (!this.boundStateHolds(token, user)) return this.refuse(user.id, 'sign_in', 'stale', client);
    await this.redeem(token, user, { userChanges: { emailVerified: true, updatedAt: this.deps.clock.now() } }, client);
    return this.startSession(user, client, grant, AMR.code);
  }

  private async startSession(user: User, client: ClientContext, grant: ClientGrant, amr: readonly string[]): Promise<SignInResult> {
    const fresh = await this.reload(user.id);
    const result = this.deps.gate ? await this.deps.gate.complete(fresh, { amr }, client, grant) : await this.deps.sessions.start(fresh, client, grant, { amr });
    if (isMfaRequired(result)) return result;
    const tokens = result;
    await this.deps.audit.record('login.succeeded', client, {
      actorId: user.id,
      subjectId: user.id,
      details: { session_id: tokens.sessionId, client_id: grant.clientId, method: amr.join(',') },
    });
    return tokens;
  }

  // ---- login gate ----------------------------------------------------------------------------

  /** EMAIL_VERIFICATION=required: called only after the password was found correct. */
  assertMaySignIn(user: User): void {
    if (this.settings.verification === 'required' && !user.emailVerified) {
      throw new AppError('ERR_EMAIL_UNVERIFIED', 'Verify your email address first: follow the link we sent, or ask for a new one.');
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private normalizeAddress(email: string, field: string): string {
    // The same canonical form accounts are stored under (ID-01..03).
    const address = canonicalEmail(email);
    const problem = emailProblem(email, address);
    if (problem !== null || address === null) throw ValidationError.field(field, problem ?? 'must be an email address');
    return address;
  }

  /**
   * Finds the token a link carries and the user it is for, and checks everything it is bound to:
   * purpose, secret, expiry, single use, and the user's current address and password (EMAIL-01).
   * Every failure is the same answer.
   */
  private async check(raw: string, purpose: EmailPurpose, context: RequestContext): Promise<{ token: EmailToken; user: User }> {
    const parts = parseLinkToken(raw);
    const token = parts ? await this.deps.tokens.findById(parts.id) : null;
    if (!parts || !token || token.purpose !== purpose || !hashesMatch(keyedHash(this.settings.tokenKey, purpose, parts.secret), token.secretHash)) {
      throw new InvalidEmailTokenError();
    }
    const user = await this.deps.users.findById(token.userId);
    if (!user) throw new InvalidEmailTokenError();
    if (token.usedAt !== null || token.expiresAt <= this.deps.clock.now() || !this.boundStateHolds(token, user)) {
      return this.refuse(user.id, purpose, token.usedAt !== null ? 'used' : token.expiresAt <= this.deps.clock.now() ? 'expired' : 'stale', context);
    }
    return { token, user };
  }

  private boundStateHolds(token: EmailToken, user: User): boolean {
    return !user.disabled && token.email === user.email && token.passwordFingerprint === passwordFingerprint(user.passwordHash);
  }

  private async redeem(token: EmailToken, user: User, redemption: Redemption, context: RequestContext): Promise<void> {
    // Throws ConflictError when someone else took a new address between request and confirmation.
    const done = await this.deps.tokens.redeem(token, this.deps.clock.now(), { email: user.email, passwordHash: user.passwordHash }, redemption);
    // A concurrent use, or a change of address or password in between: the token lost.
    if (!done) return this.refuse(user.id, token.purpose, 'raced', context);
    this.deps.userChanged(user.id);
    if (redemption.mail?.length) this.afterQueued();
  }

  private async refuse(userId: string, purpose: EmailPurpose, reason: string, context: RequestContext): Promise<never> {
    await this.deps.audit.record('email.token_refused', context, { subjectId: userId, details: { purpose, reason } });
    throw new InvalidEmailTokenError();
  }

  private async reload(id: string): Promise<User> {
    const user = await this.deps.users.findById(id);
    if (!user) throw new InvalidEmailTokenError();
    return user;
  }

  /**
   * Runs `work` after the caller has been answered (EMAIL-02), tracked so idle() can wait for it.
   * A timer, not setImmediate: it fires after the pending I/O callbacks that deliver the answer, so
   * no part of the lookup or the write lands inside the answer's time for either case.
   */
  private afterAnswer(work: () => Promise<void>): void {
    const run = new Promise<void>((resolve) => setTimeout(resolve, 1)).then(work).catch(this.deps.backgroundError);
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }
}
