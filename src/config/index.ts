import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseDuration } from './duration.js';
import { loadMailConfig, type MailConfig } from './mail.js';
import { describeWeakSecret } from './secret-strength.js';

export { describeWeakSecret };
import { loadUiConfig, type UiConfig } from './ui.js';
import { loadSsoProviders, type SsoProviderConfig } from './sso.js';
import { loadMfaConfig, type MfaConfig } from './mfa.js';

export type JwtAlgorithm = 'EdDSA' | 'ES256' | 'RS256' | 'HS256';
export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly port: number;
  /** Processes serving on this machine (node:cluster); 1 runs in this process. */
  readonly workers: number;
  readonly host: string;
  /**
   * Where users and clients reach the service (PUBLIC_URL), without a trailing slash: the default
   * issuer, and the base of every URL in discovery documents, links and redirects.
   */
  readonly publicUrl: string;
  readonly databaseUrl: string;
  readonly redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several deployments can share one Redis. */
  readonly redisPrefix: string;
  readonly jwt: {
    readonly algorithm: JwtAlgorithm;
    /**
     * Whether JWT_ALGORITHM was set. The algorithm belongs to the deployment's stored keys; the
     * setting only picks the first key's and, when set, must agree with them (see KeyService).
     */
    readonly algorithmExplicit: boolean;
    readonly secret: string | null;
    readonly issuer: string;
    readonly audience: string;
    readonly accessTokenTtlMs: number;
    readonly refreshTokenTtlMs: number;
    readonly clockLeewayMs: number;
  };
  readonly refreshReuseGraceMs: number;
  /** How stale another process's revocation or user change may look here (SESSION_CACHE_TTL). */
  readonly sessionCacheTtlMs: number;
  /** How often a running instance re-reads the signing keys (KEY_RELOAD_INTERVAL). */
  readonly keyReloadIntervalMs: number;
  /** How long a rotated key is published before it signs (see JWKS_MAX_AGE_SECONDS). */
  readonly keyPropagationMs: number;
  /** Browser mode: the refresh token is also set as an HttpOnly cookie (REFRESH_COOKIE). */
  readonly refreshCookie: boolean;
  readonly rateLimit: boolean;
  /** USER_DIRECTORY: whether signed-in users who are not admins may list users. */
  readonly userDirectory: boolean;
  readonly bootstrapAdmin: { readonly username: string; readonly email: string; readonly password: string } | null;
  /** Whose X-Forwarded-For is believed: nobody's, these proxies' (addresses/CIDRs), or that many hops. */
  readonly trustProxy: false | string[] | number;
  readonly corsOrigins: readonly string[];
  readonly logLevel: LogLevel;
  /** When set, /metrics wants `Authorization: Bearer <METRICS_TOKEN>`. */
  readonly metricsToken: string | null;
  readonly bodyLimitBytes: number;
  readonly mail: MailConfig;
  /** Hosted pages under /ui (see ui.ts). */
  readonly ui: UiConfig;
  /** Second factors, passkeys and step-up (see mfa.ts). */
  readonly mfa: MfaConfig;
  /**
   * SECRETS_KEY: keys (32 bytes each) that seal stored secrets such as TOTP seeds; the first seals,
   * all open. Empty: one key is generated and kept in the database, like the signing keys.
   */
  readonly secretsKeys: readonly Buffer[];
  /** SSO_PROVIDERS: upstream identity providers from the environment (see sso.ts). */
  readonly ssoProviders: readonly SsoProviderConfig[];

  // --- Dependency deadlines, start-up and shutdown (issue 9) ---
  readonly timeouts: Timeouts;
}

/** How long anything may wait for a dependency or a client; see README "Operations". */
export interface Timeouts {
  /** Opening a database connection, and waiting for a free one in the pool (DB_CONNECT_TIMEOUT). */
  readonly dbConnectMs: number;
  /** One statement; for SQLite, how long a write waits for another process's lock (DB_STATEMENT_TIMEOUT). */
  readonly dbStatementMs: number;
  /** A transaction left open without work is ended by Postgres (DB_IDLE_IN_TRANSACTION_TIMEOUT). */
  readonly dbIdleInTransactionMs: number;
  readonly redisConnectMs: number;
  /** One Redis command; past it the local fallback answers (REDIS_COMMAND_TIMEOUT). */
  readonly redisCommandMs: number;
  /** How long a failed dependency is left alone before it is tried again (DEPENDENCY_RETRY_INTERVAL). */
  readonly dependencyRetryMs: number;
  /** How long start-up keeps retrying the database before it gives up (STARTUP_TIMEOUT). */
  readonly startupMs: number;
  /** How long requests in flight may take to finish after SIGTERM (SHUTDOWN_TIMEOUT). */
  readonly shutdownMs: number;
  /** A client must send its headers within this (REQUEST_HEADERS_TIMEOUT), and the whole request within REQUEST_TIMEOUT. */
  readonly requestHeadersMs: number;
  readonly requestMs: number;
}

/**
 * How long verifiers may cache the JWKS. A rotated key is published for two reload intervals plus
 * this long before it signs, so that every instance and every verifier honouring the cache header
 * knows it before they meet a token it signed.
 */
export const JWKS_MAX_AGE_SECONDS = 60;

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the whole configuration once. Every problem is collected so that an operator
 * fixes them in one go; the result is frozen.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const text = (name: string, fallback: string): string => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? fallback : value.trim();
  };
  const duration = (name: string, fallback: string): number => {
    const raw = text(name, fallback);
    const ms = parseDuration(raw);
    if (ms === null || ms <= 0) {
      problems.push(`${name} must be a duration such as 900s, 15m or 30d (got "${raw}")`);
      return parseDuration(fallback)!;
    }
    return ms;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = text(name, fallback ? 'on' : 'off').toLowerCase();
    if (['on', 'true', '1', 'yes'].includes(raw)) return true;
    if (['off', 'false', '0', 'no'].includes(raw)) return false;
    problems.push(`${name} must be on or off (got "${raw}")`);
    return fallback;
  };

  const port = Number(text('PORT', '3000'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be an integer 0..65535 (got "${env.PORT}")`);
  const host = text('HOST', '127.0.0.1');
  const workersText = text('WORKERS', '1');
  const workers = workersText === 'auto' ? availableParallelism() : Number(workersText);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) problems.push(`WORKERS must be auto or a whole number 1..64 (got "${workersText}")`);
  // Each worker would listen on a random port of its own: nothing could reach them as one service.
  if (workers > 1 && port === 0) problems.push('PORT=0 (a random port) cannot be used with WORKERS above 1');

  const databaseUrl = text('DATABASE_URL', 'sqlite:data/gatehouse.db');
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    problems.push('DATABASE_URL must be sqlite:<path>, sqlite::memory: or postgres://…');
  }
  const redisUrl = env.REDIS_URL?.trim() || null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss://');

  const algorithm = text('JWT_ALGORITHM', 'EdDSA') as JwtAlgorithm;
  if (!JWT_ALGORITHMS.includes(algorithm)) problems.push(`JWT_ALGORITHM must be one of ${JWT_ALGORITHMS.join(', ')} (got "${algorithm}")`);
  const secret = env.JWT_SECRET ?? null;
  if (algorithm === 'HS256') {
    const weakness = secret === null ? 'is required when JWT_ALGORITHM=HS256' : describeWeakSecret(secret);
    if (weakness) problems.push(`JWT_SECRET ${weakness}; it must be random bytes, encoded: generate one with  openssl rand -base64 48`);
  }
  const publicUrl = parsePublicUrl(env.PUBLIC_URL?.trim() || null, host, Number.isInteger(port) ? port : 3000, problems);
  const issuer = text('JWT_ISSUER', publicUrl);
  const audience = text('JWT_AUDIENCE', 'gatehouse');

  const accessTokenTtlMs = duration('ACCESS_TOKEN_TTL', '15m');
  const refreshTokenTtlMs = duration('REFRESH_TOKEN_TTL', '30d');
  if (accessTokenTtlMs > 24 * 3_600_000) problems.push('ACCESS_TOKEN_TTL must be at most 24h: access tokens cannot be recalled by verifiers that work offline');
  const clockLeewayMs = duration('JWT_CLOCK_LEEWAY', '30s');
  if (clockLeewayMs > 60_000) problems.push('JWT_CLOCK_LEEWAY must be at most 60s');
  const refreshReuseGraceMs = duration('REFRESH_REUSE_GRACE', '10s');
  if (refreshReuseGraceMs > 120_000) problems.push('REFRESH_REUSE_GRACE must be at most 120s');

  const sessionCacheTtlMs = env.SESSION_CACHE_TTL?.trim() === '0' ? 0 : duration('SESSION_CACHE_TTL', '1s');
  if (sessionCacheTtlMs > 60_000) problems.push('SESSION_CACHE_TTL must be at most 60s');

  const keyReloadIntervalMs = duration('KEY_RELOAD_INTERVAL', '5s');
  if (keyReloadIntervalMs > 300_000) problems.push('KEY_RELOAD_INTERVAL must be at most 5m');

  const bootstrapParts = ['BOOTSTRAP_ADMIN_USERNAME', 'BOOTSTRAP_ADMIN_EMAIL', 'BOOTSTRAP_ADMIN_PASSWORD'].map((n) => env[n]?.trim() || '');
  let bootstrapAdmin: Config['bootstrapAdmin'] = null;
  if (bootstrapParts.some(Boolean)) {
    if (bootstrapParts.every(Boolean)) {
      bootstrapAdmin = { username: bootstrapParts[0]!, email: bootstrapParts[1]!, password: env.BOOTSTRAP_ADMIN_PASSWORD! };
    } else {
      problems.push('BOOTSTRAP_ADMIN_USERNAME, BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together');
    }
  }

  const logLevel = text('LOG_LEVEL', 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const corsOrigins = text('CORS_ORIGINS', '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`CORS_ORIGINS entry "${origin}" must be an origin such as https://app.example.com`);
  }

  const bodyLimitBytes = 64 * 1024;
  const mail = loadMailConfig(env, publicUrl, problems);

  // Read before the check below, so that their problems are listed with the others.
  const refreshCookie = flag('REFRESH_COOKIE', false);
  const rateLimit = flag('RATE_LIMIT', true);
  const userDirectory = flag('USER_DIRECTORY', true);
  const trustProxy = parseTrustProxy(text('TRUST_PROXY', 'off'), problems);
  const ui = loadUiConfig(env, flag, problems);
  const mfa = loadMfaConfig(env, publicUrl, problems);

  const timeouts = readTimeouts(duration, problems);
  const secretsKeys = parseSecretsKeys(env.SECRETS_KEY?.trim() || null, problems);
  const ssoProviders = loadSsoProviders(env.SSO_PROVIDERS, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    workers,
    host,
    publicUrl,
    databaseUrl,
    redisUrl,
    redisPrefix: text('REDIS_PREFIX', 'gatehouse:'),
    jwt: Object.freeze({
      algorithm,
      algorithmExplicit: Boolean(env.JWT_ALGORITHM?.trim()),
      secret: algorithm === 'HS256' ? secret : null,
      issuer,
      audience,
      accessTokenTtlMs,
      refreshTokenTtlMs,
      clockLeewayMs,
    }),
    refreshReuseGraceMs,
    sessionCacheTtlMs,
    keyReloadIntervalMs,
    keyPropagationMs: 2 * keyReloadIntervalMs + JWKS_MAX_AGE_SECONDS * 1000,
    refreshCookie,
    rateLimit,
    userDirectory,
    bootstrapAdmin: bootstrapAdmin && Object.freeze(bootstrapAdmin),
    trustProxy,
    corsOrigins: Object.freeze(corsOrigins),
    logLevel,
    metricsToken: env.METRICS_TOKEN?.trim() || null,
    bodyLimitBytes,
    mail,
    timeouts,
    ui,
    mfa,
    secretsKeys: Object.freeze(secretsKeys),
    ssoProviders,
  });
}

/** Addresses that only this machine can reach: a service bound to one is not reachable by others. */
function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare.endsWith('.localhost') || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare) || bare === '::ffff:127.0.0.1';
}

/**
 * PUBLIC_URL: an absolute http(s) URL without query or fragment, trailing slash removed. Its default
 * is http://localhost:PORT, right only for a service bound to loopback: bound to any other address
 * (0.0.0.0 in a container), the service is reached under a name it cannot know, and guessing one
 * would put an unreachable or wrong issuer (http://0.0.0.0:3000) into every token and document.
 */
function parsePublicUrl(raw: string | null, host: string, port: number, problems: string[]): string {
  const fallback = `http://localhost:${port}`;
  if (raw === null) {
    if (!isLoopback(host)) problems.push(`PUBLIC_URL is required when HOST is not a loopback address (HOST=${host}): set it to the URL clients use, e.g. https://auth.example.com`);
    return fallback;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`PUBLIC_URL must be an absolute http(s) URL such as https://auth.example.com (got "${raw}")`);
    return fallback;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`PUBLIC_URL must start with http:// or https:// (got "${raw}")`);
  else if (url.search !== '' || url.hash !== '' || raw.includes('?') || raw.includes('#')) problems.push(`PUBLIC_URL must not have a query or fragment (got "${raw}")`);
  else if (url.username !== '' || url.password !== '') problems.push('PUBLIC_URL must not carry credentials');
  return url.href.replace(/\/+$/, '');
}

// --- Dependency deadlines, start-up and shutdown (issue 9) ---
function readTimeouts(duration: (name: string, fallback: string) => number, problems: string[]): Timeouts {
  const timeouts: Timeouts = Object.freeze({
    dbConnectMs: duration('DB_CONNECT_TIMEOUT', '5s'),
    dbStatementMs: duration('DB_STATEMENT_TIMEOUT', '5s'),
    dbIdleInTransactionMs: duration('DB_IDLE_IN_TRANSACTION_TIMEOUT', '10s'),
    redisConnectMs: duration('REDIS_CONNECT_TIMEOUT', '2s'),
    redisCommandMs: duration('REDIS_COMMAND_TIMEOUT', '500ms'),
    dependencyRetryMs: duration('DEPENDENCY_RETRY_INTERVAL', '2s'),
    startupMs: duration('STARTUP_TIMEOUT', '60s'),
    shutdownMs: duration('SHUTDOWN_TIMEOUT', '10s'),
    requestHeadersMs: duration('REQUEST_HEADERS_TIMEOUT', '10s'),
    requestMs: duration('REQUEST_TIMEOUT', '30s'),
  });
  if (timeouts.requestHeadersMs > timeouts.requestMs) problems.push('REQUEST_HEADERS_TIMEOUT must not exceed REQUEST_TIMEOUT');
  return timeouts;
}

/** SECRETS_KEY: comma-separated keys of 32 random bytes each, base64 or base64url (`openssl rand -base64 32`). */
function parseSecretsKeys(raw: string | null, problems: string[]): Buffer[] {
  if (raw === null) return [];
  const keys = raw.split(',').map((part) => Buffer.from(part.trim(), 'base64url'));
  if (keys.some((key) => key.length !== 32))
    problems.push('SECRETS_KEY must be one or more comma-separated keys of 32 random bytes, base64-encoded: generate one with  openssl rand -base64 32');
  return keys;
}

function parseTrustProxy(raw: string, problems: string[]): Config['trustProxy'] {
  const lower = raw.toLowerCase();
  if (['off', 'false', '0', 'no'].includes(lower)) return false;
  if (['on', 'true', 'yes'].includes(lower)) {
    // Believing every X-Forwarded-For would let any client pick the address it is counted as.
    problems.push("TRUST_PROXY=on would believe X-Forwarded-For from any client; give the proxies' addresses or CIDRs, or the number of proxy hops (e.g. 1)");
    return false;
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 10) problems.push('TRUST_PROXY hop count must be 1..10');
    return hops;
  }
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = '', bits, ...rest] = entry.split('/');
    const version = isIP(address);
    const maxBits = version === 6 ? 128 : 32;
    if (version === 0 || rest.length > 0 || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
      problems.push(`TRUST_PROXY must be on, off, or a comma-separated list of proxy addresses or CIDRs (got "${entry}")`);
    }
  }
  return entries;
}
