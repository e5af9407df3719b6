import type { Config } from './config/index.js';
import { outboxHealth, type OutboxHealth } from './mail/health.js';
import { AuditLog } from './core/audit.js';
import { LoginThrottle } from './core/auth/login-throttle.js';
import { AccessTokens, type AccessTokenSettings } from './core/auth/access-tokens.js';
import { AuthService } from './core/auth/auth-service.js';
import { KeyService, type KeySettings } from './core/auth/key-service.js';
import { hashSlots, OWASP_ARGON2ID, PasswordHasher, type Argon2Params } from './core/auth/password-hasher.js';
import { PasswordPolicy, loadCommonPasswords } from './core/auth/password-policy.js';
import { SessionService, type SessionEvent } from './core/auth/session-service.js';
import { SignInMethods } from './core/auth/sign-in-methods.js';
import { MfaAttemptBudget } from './core/mfa/attempt-budget.js';
import { MfaService } from './core/mfa/mfa-service.js';
import { PasskeyService } from './core/mfa/passkey-service.js';
import { createHash } from 'node:crypto';
import { SecretBox } from './core/crypto/secret-box.js';
import { randomToken } from './core/ids.js';
import type { AuditEvent } from './core/model.js';
import { ItemService } from './core/items/item-service.js';
import { FederationService } from './core/federation/federation-service.js';
import { ProviderRegistry } from './core/federation/providers.js';
import { ClientRegistry, FIRST_PARTY_CLIENT_ID } from './core/oauth/clients.js';
import { ClientService } from './core/oauth/client-service.js';
import { ConsentService } from './core/oauth/consent-service.js';
import { AuthorizationService } from './core/oauth/authorization-service.js';
import { IdTokens } from './core/oauth/id-tokens.js';
import { OAuthTokenService } from './core/oauth/token-service.js';
import { systemClock, type ClientLookup, type Clock, type CounterStore, type DependencyCheck, type InvalidationBus, type Storage } from './core/ports.js';
import { MemoryCounterStore } from './storage/memory/counter-store.js';
import { UserService } from './core/users/user-service.js';
import { EmailService } from './core/email/email-service.js';
import { MailBudget } from './core/email/mail-budget.js';
import { TemplateComposer } from './mail/templates.js';

/** Everything the HTTP layer and the CLI call into. */
export interface Services {
  readonly config: Config;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly tokens: AccessTokens;
  readonly sessions: SessionService;
  readonly users: UserService;
  readonly auth: AuthService;
  readonly items: ItemService;
  readonly keys: KeyService;
  readonly audit: AuditLog;
  /** OAuth clients: the built-in first-party one, and registered ones when a store is given. */
  readonly clients: ClientRegistry;
  /** The OpenID provider: registered clients, consent, the authorization endpoint, its grants, ID tokens. */
  readonly oauth: OAuthServices;
  /** Rate-limit counters (in memory, or shared). */
  readonly counters: CounterStore;
  /** Verification, recovery, change of address, sign-in by email. */
  readonly email: EmailService;
  /** Seals the stored secrets Gatehouse must read back (TOTP seeds, upstream client secrets). */
  readonly secrets: SecretBox;
  /** Sign-in through other identity providers, linked identities, and the providers themselves. */
  readonly federation: FederationService;
  readonly providers: ProviderRegistry;
  /**
   * The ways each user can sign in (password, passkeys, ...): an area that adds one registers it
   * with `signInMethods.add(...)`, and removing the last is refused (MFA-07).
   */
  readonly signInMethods: SignInMethods;
  /** Second factors (TOTP, recovery codes) and the second step of every sign-in. */
  readonly mfa: MfaService;
  /** Passkey ceremonies (WebAuthn). */
  readonly passkeys: PasskeyService;
  /** Registers a listener told whenever this process queued mail (the sender wakes on it). */
  onMailQueued(listener: () => void): void;
  /** Re-reads the signing keys from storage (after a rotation by another process). */
  reloadKeys(): Promise<void>;
  /** Dependencies besides storage that /ready reports (Redis). */
  readonly dependencies: readonly DependencyCheck[];
  /** Outbox depth and the age of its oldest due message (for /ready and /metrics). */
  outboxHealth(): Promise<OutboxHealth>;
  /** Users stored before ID-02/04 whose username or email is, or looks like, an earlier user's: kept, but worth a look. */
  readonly lookAlikeUsers: readonly string[];
}

/** The parts of the OAuth 2.1 / OpenID provider (issue 15). */
export interface OAuthServices {
  readonly clients: ClientService;
  readonly consents: ConsentService;
  readonly authorization: AuthorizationService;
  readonly tokens: OAuthTokenService;
  readonly idTokens: IdTokens;
  /** Seals the browser's provider-session cookie (shared by every instance on this database). */
  readonly browserSessionKey: Buffer;
}

/** Authorization codes live 60 s at most (OIDC-03); a parked request waits 10 minutes for the user. */
const CODE_TTL_MS = 60_000;
const REQUEST_TTL_MS = 10 * 60_000;

export interface ServiceOptions {
  readonly clock?: Clock;
  /** Tests pass cheaper Argon2id parameters; production always uses OWASP's. */
  readonly argon2?: Argon2Params;
  readonly onSessionEvent?: (event: SessionEvent) => void;
  /** Told when an audit event could not be stored. */
  readonly onAuditError?: (error: unknown) => void;
  /** Told of every audit event as it happens. */
  readonly onAuditEvent?: (event: AuditEvent) => void;
  /** Shared counters for several instances; in memory by default. */
  readonly counters?: CounterStore;
  /** Carries invalidations to other instances or workers; none for a single process. */
  readonly bus?: InvalidationBus;
  /** Registered OAuth clients beside the built-in one (none until client registration exists). */
  readonly clients?: ClientLookup;
  /** Told when work done after an answer (forgot-password, sign-in by email) failed. */
  readonly onBackgroundError?: (error: unknown) => void;
  /** Dependencies besides storage that /ready reports. */
  readonly dependencies?: readonly DependencyCheck[];
}

/** How long an upstream identity provider may take to answer one request (discovery, token, API). */
const UPSTREAM_TIMEOUT_MS = 10_000;

let common: ReadonlySet<string> | null = null;
/** Read once per process, however many service sets a test builds. */
function commonPasswords(): ReadonlySet<string> {
  return (common ??= loadCommonPasswords());
}

// Core is told plain settings, never the Config: these two map JWT_* into them.
function keySettings(config: Config): KeySettings {
  const { jwt } = config;
  return {
    algorithm: jwt.algorithm,
    algorithmExplicit: jwt.algorithmExplicit,
    secret: jwt.secret,
    timing: { propagationMs: config.keyPropagationMs, retentionMs: jwt.accessTokenTtlMs + jwt.clockLeewayMs },
  };
}

function accessTokenSettings({ jwt }: Config): AccessTokenSettings {
  return { issuer: jwt.issuer, audience: jwt.audience, ttlMs: jwt.accessTokenTtlMs, leewayMs: jwt.clockLeewayMs };
}

/**
 * What a cluster primary does to a freshly migrated database before it forks, without the rest of
 * the service graph: makes the first signing key (so workers starting together find one), and
 * refuses a JWT_ALGORITHM that contradicts the stored keys once here rather than in every worker,
 * which would be replaced and refused forever.
 */
export async function prepareStorage(config: Config, storage: Storage, clock: Clock = systemClock): Promise<void> {
  const keys = new KeyService(storage.keys, new AuditLog(storage.audit, clock), clock, keySettings(config));
  await keys.load();
  await keys.assertConfiguredAlgorithm();
}

/**
 * The keys that seal stored secrets: SECRETS_KEY when set (kept out of the database, so a copy of the
 * database alone opens nothing), else one generated on first start and kept in the database like the
 * signing keys. Each key's id is derived from the key, so a sealed value names the key that opens it.
 */
async function openSecretBox(config: Config, storage: Storage): Promise<SecretBox> {
  const keys = config.secretsKeys.length > 0 ? config.secretsKeys : [Buffer.from(await storage.settings.getOrCreate('secrets_key', randomToken(32)), 'base64url')];
  return new SecretBox(keys.map((key) => ({ id: createHash('sha256').update(key).digest('base64url').slice(0, 8), key })));
}

/** Wires the core services over a storage. */
export async function createServices(config: Config, storage: Storage, options: ServiceOptions = {}): Promise<Services> {
  const clock = options.clock ?? systemClock;
  const hasher = new PasswordHasher(options.argon2 ?? OWASP_ARGON2ID, hashSlots(config.workers));
  const audit = new AuditLog(storage.audit, clock, options.onAuditError, options.onAuditEvent);
  const counters = options.counters ?? new MemoryCounterStore();
  const bus = options.bus;
  const keys = new KeyService(storage.keys, audit, clock, keySettings(config), () => bus?.publish({ kind: 'keys' }));
  const tokens = new AccessTokens(await keys.load(), accessTokenSettings(config), clock);
  // Shared by every instance on this database, so any of them can recognise a successor.
  const rotationKey = Buffer.from(await storage.settings.getOrCreate('refresh_rotation_key', randomToken(32)), 'base64url');
  const secrets = await openSecretBox(config, storage);
  const clients = new ClientRegistry(options.clients ?? storage.clients);
  const sessions = new SessionService(storage.sessions, tokens, audit, clock, {
    refreshTtlMs: config.jwt.refreshTokenTtlMs,
    reuseGraceMs: config.refreshReuseGraceMs,
    rotationKey,
    principalCacheTtlMs: config.sessionCacheTtlMs,
    onEvent: (event) => {
      if (event.type === 'session.revoked') bus?.publish({ kind: 'sessions', ids: event.sessionIds });
      options.onSessionEvent?.(event);
    },
    // Read once per session load and cached with the session (third-party tokens stay off the API).
    findClient: (clientId) => clients.find(clientId),
    revokedClientTokens: storage.authorizations,
  });
  const policy = new PasswordPolicy(commonPasswords());
  const signInMethods = new SignInMethods();
  const passkeys = new PasskeyService(
    { factors: storage.factors, challenges: storage.challenges, users: storage.users, audit, clock, signInMethods, sessions },
    { rpId: config.mfa.rpId, rpName: config.ui.title, origins: config.mfa.origins },
  );
  const mfa = new MfaService(
    {
      factors: storage.factors,
      recoveryCodes: storage.recoveryCodes,
      challenges: storage.challenges,
      users: storage.users,
      secrets,
      sessions,
      audit,
      clock,
      budget: new MfaAttemptBudget(counters, clock),
      passkeys,
    },
    {
      issuer: config.ui.title,
      required: config.mfa.required,
      // Kept in the database like the email token key: every instance hashes codes alike.
      recoveryCodeKey: Buffer.from(await storage.settings.getOrCreate('recovery_code_key', randomToken(32)), 'base64url'),
    },
  );
  // Reads of users and items are cached by the same rule as sessions: dropped at once here, through
  // the bus elsewhere, and never older than SESSION_CACHE_TTL.
  const items = new ItemService(storage.items, clock, {
    cacheTtlMs: config.sessionCacheTtlMs,
    onItemsChanged: (names) => bus?.publish({ kind: 'items', names }),
  });
  const users = new UserService(
    storage.users,
    storage.sessions,
    hasher,
    policy,
    audit,
    clock,
    (userId) => {
      sessions.forgetUser(userId);
      // A deleted user's items are deleted with them.
      items.forgetOwner(userId);
      bus?.publish({ kind: 'user', id: userId });
    },
    config.sessionCacheTtlMs,
  );
  const mailListeners = new Set<() => void>();
  const email = new EmailService(
    {
      users: storage.users,
      tokens: storage.emailTokens,
      hasher,
      policy,
      sessions,
      gate: mfa,
      audit,
      clock,
      composer: new TemplateComposer(config.mail.templatesDir),
      budget: config.rateLimit ? new MailBudget(counters, clock) : null,
      // A token redeemed here changed the user row: every cached copy goes, here and elsewhere.
      userChanged: (userId) => {
        sessions.forgetUser(userId);
        users.forget(userId);
        bus?.publish({ kind: 'user', id: userId });
      },
      queued: () => mailListeners.forEach((listener) => listener()),
      backgroundError: options.onBackgroundError ?? ((error) => console.error('gatehouse: email flow failed:', error)),
    },
    {
      publicUrl: config.publicUrl,
      verification: config.mail.verification,
      signIn: config.mail.signIn,
      tokenTtlMs: config.mail.tokenTtlMs,
      // Shared by every instance on this database, like the rotation key.
      tokenKey: Buffer.from(await storage.settings.getOrCreate('email_token_key', randomToken(32)), 'base64url'),
      productName: config.mail.productName,
      messageIdHost: new URL(config.publicUrl).hostname || 'gatehouse.invalid',
    },
  );
  users.useMail({ created: (user) => email.verificationEffects(user), queued: () => email.afterQueued() });
  passkeys.useSignInCheck((user) => email.assertMaySignIn(user));
  // ID-02/04: rows from before the identifier rules (or from an older instance) are brought up to them.
  const lookAlikeUsers = await users.reindexLegacyUsers();
  const reloadKeys = async () => tokens.setKeyRing(await keys.load());
  // What another instance changed, this one forgets.
  bus?.subscribe((message) => {
    if (message.kind === 'sessions') sessions.forgetSessions(message.ids);
    else if (message.kind === 'user') {
      sessions.forgetUser(message.id);
      users.forget(message.id);
      items.forgetOwner(message.id);
    } else if (message.kind === 'items') items.forget(message.names);
    else void reloadKeys().catch(() => {});
  });
  const providers = new ProviderRegistry(config.ssoProviders, storage.providers, secrets, clock, UPSTREAM_TIMEOUT_MS);
  const federation = new FederationService(
    { users: storage.users, identities: storage.identities, providers, userService: users, sessions, audit, clock, secrets, counters, email, signInMethods },
    { publicUrl: config.publicUrl, reauthMaxAgeMs: config.mfa.reauthMaxAgeMs },
  );
  const consents = new ConsentService(storage.consents, sessions, audit, clock);
  const idTokens = new IdTokens(storage.idTokenKeys, clock, { issuer: config.jwt.issuer, ttlMs: config.jwt.accessTokenTtlMs }, () => tokens.keyRing);
  const oauth: OAuthServices = {
    clients: new ClientService(
      storage.clients,
      audit,
      clock,
      () => idTokens.algorithms(),
      (clientId) => sessions.forgetClient(clientId),
      (clientId) => sessions.endAllForClient(clientId),
    ),
    consents,
    idTokens,
    authorization: new AuthorizationService(
      storage.authorizations,
      clients,
      consents,
      clock,
      { issuer: config.jwt.issuer, codeTtlMs: CODE_TTL_MS, requestTtlMs: REQUEST_TTL_MS },
      // The browser's sign-in counts only while its session at Gatehouse's own pages is live.
      async (browser) => {
        const found = await storage.sessions.findWithUser(browser.sessionId);
        if (!found) return false;
        const { session, user } = found;
        return session.userId === browser.userId && session.clientId === FIRST_PARTY_CLIENT_ID && session.revokedAt === null && session.expiresAt > clock.now() && !user.disabled;
      },
    ),
    tokens: new OAuthTokenService(storage.authorizations, storage.users, sessions, tokens, idTokens, audit, clock),
    browserSessionKey: Buffer.from(await storage.settings.getOrCreate('browser_session_key', randomToken(32)), 'base64url'),
  };
  const services: Services = {
    config,
    storage,
    clock,
    tokens,
    sessions,
    users,
    auth: new AuthService(storage.users, users, sessions, hasher, policy, audit, config.rateLimit ? new LoginThrottle(counters, clock) : null, email, mfa),
    items,
    keys,
    audit,
    clients,
    oauth,
    counters,
    email,
    secrets,
    signInMethods,
    mfa,
    passkeys,
    federation,
    providers,
    onMailQueued: (listener) => void mailListeners.add(listener),
    reloadKeys,
    dependencies: options.dependencies ?? [],
    lookAlikeUsers,
    // The mail adapter's view of the outbox, for /ready and /metrics (which may not import the adapter).
    outboxHealth: () => outboxHealth(services),
  };
  return services;
}
