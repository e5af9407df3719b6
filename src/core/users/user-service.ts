import type { AuditLog, RequestContext } from '../audit.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldError } from '../errors.js';
import { newId } from '../ids.js';
import type { DirectoryEntry, LinkedIdentity, Page, Role, User } from '../model.js';
import { NO_PASSWORD } from '../auth/sign-in-methods.js';
import { canonicalEmail, canonicalUsername, displayNameProblem, emailProblem, normalizeIdentifier, usernameProblem, usernameSkeleton } from '../normalize.js';
import type { Clock, MailEffects, SessionStore, UserChanges, UserListQuery, UserStore } from '../ports.js';
import type { PasswordPolicy } from '../auth/password-policy.js';
import type { PasswordHasher } from '../auth/password-hasher.js';
import { FreshCache } from '../fresh-cache.js';
import { thenOrNow, type NowOrLater } from '../now-or-later.js';

export interface NewUserInput {
  username: string;
  email: string;
  password: string;
  name?: string | null;
  role?: Role;
}

export interface UserUpdateInput {
  username?: string;
  email?: string;
  name?: string | null;
  role?: Role;
  disabled?: boolean;
}

/** Normalises and checks identifiers and the display name, collecting every problem (ID-01..03). */
function normalizeIdentity(input: { username?: string; email?: string; name?: string | null }, errors: FieldError[]): { username?: string; email?: string } {
  const out: { username?: string; email?: string } = {};
  if (input.username !== undefined) {
    out.username = canonicalUsername(input.username);
    const problem = usernameProblem(out.username);
    if (problem) errors.push({ field: 'username', message: problem });
  }
  if (input.email !== undefined) {
    const canonical = canonicalEmail(input.email);
    out.email = canonical ?? input.email;
    const problem = emailProblem(input.email, canonical);
    if (problem) errors.push({ field: 'email', message: problem });
  }
  if (typeof input.name === 'string') {
    const problem = displayNameProblem(input.name);
    if (problem) errors.push({ field: 'name', message: problem });
  }
  return out;
}

function normalizeName(name: string | null | undefined): string | null | undefined {
  if (name === undefined || name === null) return name;
  const trimmed = name.normalize('NFC').trim();
  return trimmed === '' ? null : trimmed;
}

/** The operator at the CLI: has admin rights and no account. */
export const OPERATOR = Symbol('operator');
export type Actor = User | typeof OPERATOR;

const actorIdOf = (actor: Actor | null) => (actor === null || actor === OPERATOR ? null : actor.id);
const isAdmin = (actor: Actor) => actor === OPERATOR || actor.role === 'admin';
const isSelf = (actor: Actor, user: User) => actor !== OPERATOR && actor.id === user.id;

/** Mail that user changes cause (the email flows plug in here). */
export interface UserMailHooks {
  /** Written with a new user in one transaction: the verification link. */
  created(user: User): MailEffects | undefined;
  /** Mail was queued. */
  queued(): void;
}

/** The user a lookup found; a 404 when there is none. */
function shown(user: User | null): User {
  if (!user) throw new NotFoundError('ERR_USER_NOT_FOUND');
  return user;
}

/** Users and the rules on who may see and change them. */
export class UserService {
  private mail: UserMailHooks | null = null;

  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionStore,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    /** Told whenever a user changes or goes, so cached copies are dropped. */
    private readonly onUserChanged: (userId: string) => void = () => {},
    /** How long a read user may be served from memory (0: always read storage). */
    cacheTtlMs = 0,
  ) {
    this.cache = new FreshCache(clock, cacheTtlMs, 10_000);
  }

  private readonly cache: FreshCache<User>;
  private readonly findById = (id: string) => this.users.findById(id);

  /** Drops what is remembered of a user changed elsewhere (told by the invalidation bus). */
  forget(userId: string): void {
    this.cache.forget([userId]);
  }

  private changed(userId: string): void {
    this.cache.forget([userId]);
    this.onUserChanged(userId);
  }

  /** Plugs in the mail that creating a user causes (set once, at wiring time). */
  useMail(hooks: UserMailHooks): void {
    this.mail = hooks;
  }

  /** Creates an account. Only trusted callers (an admin, the CLI, bootstrap) may pass `role`. */
  async create(input: NewUserInput, actor: Actor | null = null, context: RequestContext = {}): Promise<User> {
    const errors: FieldError[] = [];
    const { username, email } = normalizeIdentity(input, errors) as { username: string; email: string };
    try {
      this.policy.check(input.password, 'password', { username, email });
    } catch (error) {
      if (error instanceof ValidationError) errors.push(...error.errors);
      else throw error;
    }
    if (errors.length > 0) throw new ValidationError(errors);
    // Cheap pre-check saves an Argon2 hash on an obvious conflict; the unique index decides races.
    await this.assertAvailable(username, email);
    const now = this.clock.now();
    const user: User = {
      id: newId(now),
      username,
      email,
      name: normalizeName(input.name) ?? null,
      role: input.role ?? 'user',
      disabled: false,
      emailVerified: false,
      passwordHash: await this.hasher.hash(input.password),
      createdAt: now,
      updatedAt: now,
    };
    const effects = this.mail?.created(user);
    await this.users.create(user, effects);
    if (effects) this.mail?.queued();
    await this.audit.record('user.created', context, { actorId: actorIdOf(actor) ?? user.id, subjectId: user.id, details: { role: user.role } });
    return user;
  }

  /**
   * A user made from an upstream account (federated sign-in), written together with the link to it.
   * No password (NO_PASSWORD: password logins fail for it like a wrong password); the address is
   * verified only on the provider's word (FED-02). The first of `usernames` that is free, and looks
   * like no taken one (ID-04), is used; the unique indexes decide races, and losing one moves on
   * to the next name.
   */
  async createFromProvider(
    input: { usernames: readonly string[]; email: string; name: string | null; emailVerified: boolean },
    identity: Omit<LinkedIdentity, 'userId' | 'createdAt' | 'lastUsedAt'>,
    context: RequestContext = {},
  ): Promise<User> {
    const name = input.name !== null && displayNameProblem(input.name) === null ? (normalizeName(input.name) ?? null) : null;
    for (const candidate of input.usernames) {
      const username = canonicalUsername(candidate);
      if (usernameProblem(username) !== null) continue;
      if ((await this.users.findByUsername(username)) || (await this.users.findByUsernameSkeleton(usernameSkeleton(username)))) continue;
      const now = this.clock.now();
      const user: User = {
        id: newId(now),
        username,
        email: input.email,
        name,
        role: 'user',
        disabled: false,
        emailVerified: input.emailVerified,
        passwordHash: NO_PASSWORD,
        createdAt: now,
        updatedAt: now,
      };
      const effects = this.mail?.created(user);
      try {
        await this.users.create(user, effects, { ...identity, userId: user.id, createdAt: now, lastUsedAt: now });
      } catch (error) {
        if (error instanceof ConflictError && error.field === 'username') continue;
        throw error;
      }
      if (effects) this.mail?.queued();
      await this.audit.record('user.created', context, { actorId: user.id, subjectId: user.id, details: { role: user.role, provider: identity.provider } });
      return user;
    }
    throw new ConflictError('ERR_USER_CONFLICT', 'No free username could be derived for this account.', 'username');
  }

  /**
   * PWD-07: there is no default admin. This creates the first one from explicit operator input,
   * and does nothing once any admin exists, however many instances run it at once (SES-09).
   */
  async bootstrapAdmin(input: Omit<NewUserInput, 'role'>): Promise<User | null> {
    if ((await this.users.countAdmins()) > 0) return null;
    try {
      return await this.create({ ...input, role: 'admin' }, OPERATOR, { userAgent: 'bootstrap' });
    } catch (error) {
      // SES-09: instances (or workers) starting together all find no admin, and all but one lose
      // the race at the unique index. Losing it to the admin being made is success, not a failed
      // start; a conflict with an account that is not an admin is still the operator's to fix.
      if (error instanceof ConflictError && (await this.users.countAdmins()) > 0) return null;
      throw error;
    }
  }

  /**
   * ID-02/04 for accounts stored before these rules (they have no skeleton yet): their username and
   * email move to today's canonical form (`xοδος` was stored with its final sigma, which no lookup
   * produces any more) and get their skeleton. Run at start-up; idempotent, and safe on several
   * instances at once. Returns the ids left as they were because an earlier user already has the
   * canonical name, email or skeleton: the look-alikes and duplicates the old rules let in.
   */
  async reindexLegacyUsers(): Promise<string[]> {
    const left: string[] = [];
    for (const user of await this.users.listWithoutSkeleton()) {
      const identity = { username: canonicalUsername(user.username), email: canonicalEmail(user.email) ?? user.email };
      if (!(await this.users.reindex(user.id, identity))) left.push(user.id);
      else if (identity.username !== user.username || identity.email !== user.email) this.changed(user.id);
    }
    return left;
  }

  /** A user to show: from memory when read recently (see FreshCache for the staleness bound). */
  get(id: string): NowOrLater<User> {
    return thenOrNow(this.cache.get(id, this.findById), shown);
  }

  /** A user to change or check a change against: always from storage. */
  private async current(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('ERR_USER_NOT_FOUND');
    return user;
  }

  /** Finds a user by id, username or email: what an operator types at the CLI. */
  async find(reference: string): Promise<User | null> {
    const key = normalizeIdentifier(reference);
    return (await this.users.findById(reference)) ?? (key.includes('@') ? this.users.findByEmail(key) : this.users.findByUsername(key));
  }

  /** A page of users, ordered by username (admins see these). */
  list(query: UserListQuery): Promise<Page<User>> {
    return this.users.list(normalizedPrefix(query));
  }

  /** The same page as the directory shows it to everyone else: only id, username and name are read. */
  listDirectory(query: UserListQuery): Promise<Page<DirectoryEntry>> {
    return this.users.listDirectory(normalizedPrefix(query));
  }

  /**
   * A user may change their own profile; only an admin may change anyone's, and only an admin
   * may touch `role` or `disabled` (AC-04).
   */
  async update(actor: Actor, id: string, input: UserUpdateInput, context: RequestContext = {}): Promise<User> {
    const target = await this.current(id);
    if (!isAdmin(actor) && !isSelf(actor, target)) throw new ForbiddenError('You may only change your own account.');
    if (!isAdmin(actor) && (input.role !== undefined || input.disabled !== undefined)) {
      throw new ForbiddenError('Only an admin may change role or disabled.');
    }
    const errors: FieldError[] = [];
    const identity = normalizeIdentity(input, errors);
    if (errors.length > 0) throw new ValidationError(errors);
    // Only an enabled admin counts: a disabled one can be demoted or removed while another remains.
    const isActiveAdmin = target.role === 'admin' && !target.disabled;
    const losesAdmin = isActiveAdmin && ((input.role !== undefined && input.role !== 'admin') || input.disabled === true);
    if (losesAdmin) await this.assertNotLastAdmin();
    await this.assertAvailable(identity.username, identity.email, target.id);

    const changes: UserChanges = { updatedAt: this.clock.now() };
    if (identity.username !== undefined) changes.username = identity.username;
    if (identity.email !== undefined && identity.email !== target.email) {
      changes.email = identity.email;
      // Set by someone else (an admin): nobody has shown that the new address reaches the user.
      changes.emailVerified = false;
    }
    if (input.name !== undefined) changes.name = normalizeName(input.name) ?? null;
    if (input.role !== undefined) changes.role = input.role;
    if (input.disabled !== undefined) changes.disabled = input.disabled;
    const updated = await this.users.update(target.id, changes, { keepAnotherAdmin: losesAdmin });
    this.changed(target.id);
    if (!updated) throw new NotFoundError('ERR_USER_NOT_FOUND');
    // A disabled account keeps no live sessions; its access tokens already fail (CLM-05).
    if (input.disabled === true) await this.sessions.revokeAllForUser(target.id, changes.updatedAt);
    await this.recordUpdate(actor, target, updated, context);
    return updated;
  }

  /** Deletes the account; its sessions, refresh tokens and items go with it. */
  async delete(actor: Actor, id: string, context: RequestContext = {}): Promise<void> {
    const target = await this.current(id);
    if (!isAdmin(actor) && !isSelf(actor, target)) throw new ForbiddenError('You may only delete your own account.');
    const isActiveAdmin = target.role === 'admin' && !target.disabled;
    if (isActiveAdmin) await this.assertNotLastAdmin();
    const deleted = await this.users.delete(target.id, { keepAnotherAdmin: isActiveAdmin });
    this.changed(target.id);
    if (!deleted) throw new NotFoundError('ERR_USER_NOT_FOUND');
    await this.audit.record('user.deleted', context, { actorId: actorIdOf(actor), subjectId: target.id, details: { username: target.username } });
  }

  /** Names what changed, never the new values of personal fields. */
  private async recordUpdate(actor: Actor, before: User, after: User, context: RequestContext): Promise<void> {
    const entry = { actorId: actorIdOf(actor), subjectId: after.id };
    if (before.role !== after.role) await this.audit.record('user.role_changed', context, { ...entry, details: { from: before.role, to: after.role } });
    if (before.disabled !== after.disabled) await this.audit.record(after.disabled ? 'user.disabled' : 'user.enabled', context, entry);
    const fields = (['username', 'email', 'name'] as const).filter((f) => before[f] !== after[f]);
    if (fields.length > 0) await this.audit.record('user.updated', context, { ...entry, details: { fields: fields.join(',') } });
  }

  /** Stores a new password hash; `effects` (a notice) are queued in the same transaction. */
  async setPasswordHash(id: string, passwordHash: string, effects?: MailEffects): Promise<void> {
    await this.users.update(id, { passwordHash, updatedAt: this.clock.now() }, {}, effects);
    this.changed(id);
    if (effects) this.mail?.queued();
  }

  /**
   * Nobody can lock the service out of administration by removing its last admin. This early check
   * gives the clear answer; the store's guarded write is what holds under concurrency.
   */
  private async assertNotLastAdmin(): Promise<void> {
    if ((await this.users.countAdmins()) <= 1) {
      throw new ConflictError('ERR_USER_LAST_ADMIN', 'The last admin cannot be demoted, disabled or deleted.');
    }
  }

  private async assertAvailable(username: string | undefined, email: string | undefined, selfId?: string): Promise<void> {
    const taken = async (user: Promise<User | null>) => {
      const found = await user;
      return found !== null && found.id !== selfId;
    };
    if (username !== undefined && (await taken(this.users.findByUsername(username)))) {
      throw new ConflictError('ERR_USER_CONFLICT', 'That username is taken.', 'username');
    }
    // ID-04: the unique index on the skeleton decides races; this gives the clear answer first.
    if (username !== undefined && (await taken(this.users.findByUsernameSkeleton(usernameSkeleton(username))))) {
      throw new ConflictError('ERR_USER_CONFLICT', 'That username looks like one that is taken.', 'username');
    }
    if (email !== undefined && (await taken(this.users.findByEmail(email)))) {
      throw new ConflictError('ERR_USER_CONFLICT', 'That email is already registered.', 'email');
    }
  }
}

/** A `q` prefix is matched as usernames are stored (ID-02). */
function normalizedPrefix(query: UserListQuery): UserListQuery {
  return query.prefix === undefined ? query : { ...query, prefix: normalizeIdentifier(query.prefix) };
}
