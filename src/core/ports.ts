import type {
  AuthChallenge,
  MfaFactor,
  AuditEvent,
  AuditType,
  DirectoryEntry,
  AuthorizationCode,
  AuthorizationRequest,
  Consent,
  EmailPurpose,
  EmailToken,
  Item,
  LinkedIdentity,
  OAuthClient,
  OutboxEntry,
  Page,
  QueuedMail,
  RefreshTokenRecord,
  Role,
  Session,
  SigningKey,
  User,
} from './model.js';
import type { NowOrLater } from './now-or-later.js';

/**
 * Storage interfaces the core depends on. Lookups return null when nothing matches; writes that
 * break a uniqueness rule throw `ConflictError`. Implementations live in src/storage.
 */
/** A page of users ordered by username: `after` is the last username of the previous page. */
export interface UserListQuery {
  readonly limit: number;
  readonly after?: string;
  readonly prefix?: string;
}

export interface UserStore {
  /**
   * Creates the user; `effects` (a verification token and its mail) and `identity` (the upstream
   * account it was made from) are written in the same transaction: all of it, or nothing (FED-03).
   */
  create(user: User, effects?: MailEffects, identity?: LinkedIdentity): Promise<void>;
  findById(id: string): Promise<User | null>;
  findByUsername(username: string): Promise<User | null>;
  findByEmail(email: string): Promise<User | null>;
  /**
   * ID-04: the user whose username has this UTS #39 skeleton. The store keeps each username's
   * skeleton (core's `usernameSkeleton`) under a unique index, so two look-alikes cannot both exist.
   */
  findByUsernameSkeleton(skeleton: string): Promise<User | null>;
  /** Users stored without a skeleton: written before it existed, or by an older instance. */
  listWithoutSkeleton(): Promise<User[]>;
  /**
   * Rewrites a user's username and email in their current canonical form and stores the skeleton,
   * only while the user has none (so instances doing it at once write it once). False when a unique
   * index refuses: another user already has that username, email or skeleton.
   */
  reindex(id: string, identity: { username: string; email: string }): Promise<boolean>;
  /**
   * Applies the changed fields; returns the updated user, or null when the user is gone. With
   * `keepAnotherAdmin`, throws ConflictError (ERR_USER_LAST_ADMIN) unless another enabled admin
   * remains, checked atomically with the write.
   */
  update(id: string, changes: UserChanges, guard?: AdminGuard, effects?: MailEffects): Promise<User | null>;
  delete(id: string, guard?: AdminGuard): Promise<boolean>;
  /** Ordered by username; `after` is the last username of the previous page. */
  list(query: UserListQuery): Promise<Page<User>>;
  /** The same page as list(), reading only what the directory shows. */
  listDirectory(query: UserListQuery): Promise<Page<DirectoryEntry>>;
  countAdmins(): Promise<number>;
}

/** Upstream accounts linked to users (federated sign-in). */
export interface IdentityStore {
  /** The identity the provider's issuer vouches for under `subject`. */
  findBySubject(provider: string, issuer: string, subject: string): Promise<LinkedIdentity | null>;
  /** Oldest first. */
  listForUser(userId: string): Promise<LinkedIdentity[]>;
  /** Throws ConflictError (ERR_SSO_IDENTITY_TAKEN) when that upstream account is linked already. */
  link(identity: LinkedIdentity, effects?: MailEffects): Promise<void>;
  /** Records a sign-in through it, and the address the provider gave this time. */
  touch(id: string, at: number, email: string | null): Promise<void>;
  /**
   * Removes one of the user's identities; false when the user has no such identity. With
   * `keepAnotherOf`, only while another identity of one of those providers remains, checked and
   * deleted atomically per user (two concurrent unlinks cannot both remove the last way in).
   */
  unlink(userId: string, id: string, options?: { readonly keepAnotherOf?: readonly string[] }): Promise<boolean>;
}

/** A provider added with `gatehouse providers add`; its client secret sealed with the SecretBox. */
export interface StoredProvider {
  readonly id: string;
  /** The provider's settings without the secret, as JSON. */
  readonly settings: string;
  readonly clientSecretSealed: string | null;
  readonly createdAt: number;
}

export interface ProviderStore {
  list(): Promise<StoredProvider[]>;
  /** Throws ConflictError (ERR_SSO_PROVIDER_CONFLICT) when the id is taken. */
  add(provider: StoredProvider): Promise<void>;
  remove(id: string): Promise<boolean>;
}

export interface AdminGuard {
  /** The write removes an active admin: it must leave another one. */
  keepAnotherAdmin?: boolean;
}

export interface UserChanges {
  username?: string;
  email?: string;
  name?: string | null;
  role?: Role;
  disabled?: boolean;
  passwordHash?: string;
  emailVerified?: boolean;
  updatedAt: number;
}

/**
 * Mail caused by a change, written in the same transaction as the change (a transactional
 * outbox): the change never happens without its mail, nor the mail without the change.
 */
export interface MailEffects {
  readonly tokens?: readonly EmailToken[];
  readonly mail?: readonly QueuedMail[];
  /** Live tokens of these purposes for the token's user are voided first (a new link replaces the old). */
  readonly replaces?: readonly EmailPurpose[];
}

/** What redeeming an email token does, atomically with marking it used. */
export interface Redemption {
  readonly userChanges?: UserChanges;
  /** End every session of the user (a password reset: EMAIL-04). */
  readonly revokeSessions?: boolean;
  readonly mail?: readonly QueuedMail[];
}

export interface EmailTokenStore {
  /** Stores tokens and queues mail in one transaction (see MailEffects). */
  issue(effects: MailEffects): Promise<void>;
  findById(id: string): Promise<EmailToken | null>;
  /** The newest unused, unexpired token of `purpose` for the user. */
  findLive(userId: string, purpose: EmailPurpose, now: number): Promise<EmailToken | null>;
  /**
   * Takes one try of a code atomically: true while fewer than `maxAttempts` were taken and the
   * token is unused. Concurrent tries cannot take more than `maxAttempts` between them (EMAIL-07).
   */
  takeAttempt(id: string, maxAttempts: number): Promise<boolean>;
  /**
   * Marks the token used and applies `redemption`, in one transaction, only while the token is
   * unused and unexpired and the user still has `expected` address and password hash. False (and
   * nothing written) otherwise: a token is single-use and dies with the state it was bound to.
   */
  redeem(token: EmailToken, now: number, expected: { email: string; passwordHash: string }, redemption: Redemption): Promise<boolean>;
  /** Deletes tokens that expired or were used before `before`. */
  deleteEndedBefore(before: number): Promise<number>;
}

/** The outbox: queued mail, claimed by senders with a lease so that each message goes out once (EMAIL-06). */
export interface OutboxStore {
  enqueue(mail: readonly QueuedMail[]): Promise<void>;
  /**
   * Leases up to `limit` due messages to `owner` until `leaseUntil`; messages leased to another
   * sender whose lease has not run out are skipped (Postgres: FOR UPDATE SKIP LOCKED).
   */
  claim(owner: string, now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]>;
  /** Records delivery while `owner` holds the lease; `scrub` drops the bodies (they carry link secrets). */
  markSent(id: string, owner: string, at: number, scrub: boolean): Promise<boolean>;
  /** Puts the message back for another try at `dueAt`, recording why this one failed. */
  retryLater(id: string, owner: string, dueAt: number, error: string): Promise<void>;
  /** Gives up on the message, with the reason. */
  markFailed(id: string, owner: string, at: number, reason: string): Promise<void>;
  /** Messages waiting to be sent, and when the oldest of them fell due (null: none). */
  stats(now: number): Promise<{ depth: number; oldestDueAt: number | null }>;
  /** Newest first; `before` is the last id of the previous page. */
  list(query: { limit: number; before?: string }): Promise<Page<OutboxEntry>>;
}

/** What a rotation writes: the successor's id and secret hash, and when. */
export interface RefreshRotation {
  readonly id: string;
  readonly secretHash: string;
  readonly at: number;
}

export interface SessionStore {
  /** Stores a new session together with its first refresh token. */
  create(session: Session, firstToken: RefreshTokenRecord): Promise<void>;
  findById(id: string): Promise<Session | null>;
  /** The session and its user in one lookup: the per-request authentication check. */
  findWithUser(id: string): Promise<{ session: Session; user: User } | null>;
  /** A chain's root token with its session and the session's user, in one lookup: what a refresh reads. */
  findByRefreshToken(rootId: string): Promise<{ token: RefreshTokenRecord; session: Session; user: User } | null>;
  /**
   * Compare-and-swap rotation, one statement: makes `next` the session's current token only while
   * `expectedRefreshId` is still current and the session is live, so two concurrent refreshes with
   * one token cannot both win (SES-02). Returns whether this call made the swap.
   */
  rotateRefresh(sessionId: string, expectedRefreshId: string, next: RefreshRotation): Promise<boolean>;
  /**
   * A refresh in one statement: swaps the session's current token for `next` only if `current` is
   * exactly its current token (id and secret hash), the session belongs to `current.clientId`, it
   * is live at `next.at`, and its user is not disabled. Returns the session as rotated with the
   * user's role as stored now, or null when any of that does not hold (nothing changed then). The
   * same compare-and-swap as rotateRefresh, so two refreshes with one token cannot both win (SES-02).
   */
  rotateCurrent(
    sessionId: string,
    current: { readonly id: string; readonly secretHash: string; readonly clientId: string },
    next: RefreshRotation,
  ): Promise<{ readonly session: Session; readonly role: Role } | null>;
  listActiveForUser(userId: string, now: number): Promise<Session[]>;
  /** A fresh proof of presence in a live session (reauthentication); false when the session ended. */
  recordAuthentication(id: string, auth: { authTime: number; amr: readonly string[]; acr: string }): Promise<boolean>;
  revoke(id: string, at: number): Promise<boolean>;
  /** Deletes sessions (with their refresh tokens) that expired or were revoked before `before`. */
  deleteEndedBefore(before: number): Promise<number>;
  /** Revokes every live session of the user but `exceptId`; returns the revoked ids. */
  revokeAllForUser(userId: string, at: number, exceptId?: string): Promise<string[]>;
  /** Revokes every live session of a client (it was deleted); returns what it revoked. */
  revokeAllForClient(clientId: string, at: number): Promise<{ id: string; userId: string }[]>;
}

/**
 * Registered OAuth clients, secrets stored as hashes only (OIDC-05). The built-in first-party
 * client is not stored: it is part of the code.
 */
export interface ClientStore {
  findById(id: string): Promise<OAuthClient | null>;
  create(client: OAuthClient): Promise<void>;
  /** Writes the whole client (every field but id and createdAt); false when it is gone. */
  update(client: OAuthClient): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** Ordered by id; `after` is the last id of the previous page. */
  list(query: { limit: number; after?: string }): Promise<Page<OAuthClient>>;
}

/** What authenticating a client needs of the store (tests pass a fixed list). */
export type ClientLookup = Pick<ClientStore, 'findById'>;

/** Pending authorization requests and authorization codes (OIDC-03). */
export interface AuthorizationStore {
  saveRequest(request: AuthorizationRequest): Promise<void>;
  findRequest(id: string): Promise<AuthorizationRequest | null>;
  /** Removes the request; true for the one call that removed it (a request completes once). */
  takeRequest(id: string): Promise<boolean>;
  saveCode(code: AuthorizationCode): Promise<void>;
  findCode(id: string): Promise<AuthorizationCode | null>;
  /**
   * Marks the code used and records the session its redemption will start, only while it is
   * unused: true for exactly one caller, however many race (single use).
   */
  redeemCode(id: string, sessionId: string, at: number): Promise<boolean>;
  /** Records that a used code was presented again (OIDC-03), so a redemption still under way ends what it started. */
  markCodeReplayed(id: string, at: number): Promise<void>;
  /** Records a client-credentials token revoked before `expiresAt` (it has no session to end). */
  revokeClientToken(jti: string, clientId: string, expiresAt: number): Promise<void>;
  isClientTokenRevoked(jti: string): Promise<boolean>;
  /** Deletes requests, codes and revoked-token records that expired before `before`. */
  deleteExpired(before: number): Promise<number>;
}

/** What users agreed to give third-party clients (OIDC-07). */
export interface ConsentStore {
  find(userId: string, clientId: string): Promise<Consent | null>;
  /** Creates or replaces the user's consent to the client. */
  save(consent: Consent): Promise<void>;
  listForUser(userId: string): Promise<Consent[]>;
  delete(userId: string, clientId: string): Promise<boolean>;
}

export interface ItemStore {
  create(item: Item): Promise<void>;
  findByName(name: string): Promise<Item | null>;
  /** Writes the item only while it still belongs to `expectedOwnerId`; null when it changed hands or vanished. */
  update(name: string, expectedOwnerId: string, changes: ItemChanges): Promise<Item | null>;
  delete(name: string, expectedOwnerId: string): Promise<boolean>;
  /** Ordered by name; `after` is the last name of the previous page. */
  list(query: { limit: number; after?: string; ownerId?: string }): Promise<Page<Item>>;
}

export interface ItemChanges {
  name?: string;
  priceCents?: number;
  description?: string | null;
  updatedAt: number;
}

export interface KeyStore {
  /** Every key that is not retired, newest first. */
  listUsable(): Promise<SigningKey[]>;
  listAll(): Promise<SigningKey[]>;
  insert(key: SigningKey): Promise<void>;
  /**
   * Inserts `key` unless a usable key of its algorithm exists, atomically across processes, so
   * instances starting together on an empty database end up with one key (SES-09).
   */
  insertFirst(key: SigningKey): Promise<void>;
  setStatus(kid: string, status: SigningKey['status'], at: number): Promise<boolean>;
}

/** Small named values shared by every instance, such as the refresh-token derivation secret. */
export interface SettingStore {
  /** Stores `value` unless the name is taken, then returns whichever value won. */
  getOrCreate(name: string, value: string): Promise<string>;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  /**
   * Newest first; ids below `before` (the last id of the previous page) and at or above `from`.
   * `userId` matches actor or subject.
   */
  list(query: { limit: number; before?: string; from?: string; userId?: string; type?: AuditType }): Promise<Page<AuditEvent>>;
}

/**
 * Short-lived counters for rate limits and login throttling. In memory for one instance; a shared
 * store (Redis) lets several instances count once.
 */
export interface CounterStore {
  /**
   * Counts one event under `key` in a fixed window that starts with its first event. A store in
   * this process's memory answers at once (no promise), so a rate-limited route waits on nothing.
   */
  increment(key: string, windowMs: number, now: number): NowOrLater<{ count: number; resetAt: number }>;
  /** The live window under `key`, if any. */
  get(key: string, now: number): Promise<{ count: number; resetAt: number } | null>;
  delete(...keys: string[]): Promise<void>;
}

/** Second factors and passkeys (MFA-01/06). */
export interface FactorStore {
  create(factor: MfaFactor): Promise<void>;
  findById(id: string): Promise<MfaFactor | null>;
  /** The passkey with this credential id, whoever it belongs to. */
  findByCredentialId(credentialId: string): Promise<MfaFactor | null>;
  /**
   * The user's confirmed factors, oldest first. MFA-08: filtered in the query, so pending
   * enrolments (however many) can never push a confirmed factor out of what sign-in looks at.
   */
  listConfirmed(userId: string): Promise<MfaFactor[]>;
  /** Deletes the user's pending (unconfirmed) factors; how many. */
  deletePending(userId: string): Promise<number>;
  /** Confirms a pending TOTP factor with the step of its first code; false when it is gone or already confirmed. */
  confirm(id: string, step: number, at: number): Promise<boolean>;
  /**
   * MFA-01: records a TOTP code's step, only while it is later than the last one accepted, so a
   * code (even sent twice at once) is good once. False when the step was not newer.
   */
  useStep(id: string, step: number, at: number): Promise<boolean>;
  /**
   * MFA-06: stores a passkey's new sign counter and backup state, only while the stored counter
   * is still `expected` (two assertions at once cannot both pass with one counter).
   */
  useCredential(id: string, expected: number, next: { signCount: number; backupState: boolean }, at: number): Promise<boolean>;
  /**
   * Deletes one of the user's factors; when it was the last confirmed one, the recovery codes go too
   * (same transaction). With `keepAnotherPasskey` (MFA-07, a user whose only ways to sign in are
   * passkeys) only while another confirmed passkey of the user remains, checked in the same
   * statement under a per-user lock: two removals at once cannot both take the last two.
   * False when the factor is not the user's; LastSignInMethodError when the guard refused.
   */
  delete(id: string, userId: string, guard?: { keepAnotherPasskey: boolean }): Promise<boolean>;
  /** Deletes every factor and recovery code of the user (an admin reset); returns how many factors. */
  deleteAllForUser(userId: string): Promise<number>;
}

/** MFA-03: recovery codes, stored as hashes. */
export interface RecoveryCodeStore {
  /** Replaces every code of the user with these (old ones void), in one transaction. */
  replace(userId: string, hashes: readonly string[], at: number): Promise<void>;
  /** Marks the code used, only while it is unused: true for exactly one caller. */
  use(userId: string, hash: string, at: number): Promise<boolean>;
  countUnused(userId: string): Promise<number>;
}

/** Pending second steps and WebAuthn challenges. */
export interface ChallengeStore {
  create(challenge: AuthChallenge): Promise<void>;
  /** The challenge while unexpired, left in place. */
  find(id: string, now: number): Promise<AuthChallenge | null>;
  /** Deletes the challenge while unexpired: true for exactly one caller (single use). */
  consume(id: string, now: number): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}

/** What other instances must forget when something changes here. */
export type Invalidation = { kind: 'sessions'; ids: string[] } | { kind: 'user'; id: string } | { kind: 'items'; names: string[] } | { kind: 'keys' };

/**
 * Carries invalidations between instances (Redis pub/sub) or workers (cluster IPC). Delivery is
 * best effort; the bounded cache TTLs are the backstop when a message is lost.
 */
export interface InvalidationBus {
  publish(message: Invalidation): void;
  subscribe(handler: (message: Invalidation) => void): void;
  close(): Promise<void>;
}

export interface Storage {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly items: ItemStore;
  readonly keys: KeyStore;
  readonly settings: SettingStore;
  readonly audit: AuditStore;
  readonly emailTokens: EmailTokenStore;
  readonly outbox: OutboxStore;
  readonly factors: FactorStore;
  readonly recoveryCodes: RecoveryCodeStore;
  readonly challenges: ChallengeStore;
  readonly identities: IdentityStore;
  readonly providers: ProviderStore;
  readonly clients: ClientStore;
  readonly authorizations: AuthorizationStore;
  readonly consents: ConsentStore;
  /** The RS256 keys that sign ID tokens, apart from the access-token keys (OIDC-04). */
  readonly idTokenKeys: KeyStore;
  /**
   * Answers when the database does; used by /ready. `write` also proves it takes a write now
   * (a full disk or a long-held lock fail it); throws UnavailableError past the deadline.
   */
  ping(mode?: 'read' | 'write'): Promise<void>;
  close(): Promise<void>;
}

/** A dependency other than storage (Redis, later mail), as /ready and the metrics report it. */
export interface DependencyCheck {
  readonly name: string;
  /** Whether the service can do its job without it (it then falls back, e.g. to local rate limits). */
  readonly required: boolean;
  /** 'up', or why not; never waits longer than the dependency's own deadline. */
  check(): Promise<{ up: boolean; detail?: string }>;
}

/** Time source; tests pass a clock they can move instead of sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
