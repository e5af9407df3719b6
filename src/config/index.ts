import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseDuration } from './duration.js';
import { loadMailConfig, type MailConfig } from './mail.js';

export type JwtAlgorithm = 'EdDSA' | 'ES256' | 'RS256' | 'HS256';
export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly port: number;
  /** Processes serving on this machine (node:cluster); 1 runs in this process. */
  readonly workers: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several deployments can share one Redis. */
  readonly redisPrefix: string;
  readonly jwt: {
    readonly algorithm: JwtAlgorithm;
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
  readonly bootstrapAdmin: { readonly username: string; readonly email: string; readonly password: string } | null;
  /** Whose X-Forwarded-For is believed: nobody's, these proxies' (addresses/CIDRs), or that many hops. */
  readonly trustProxy: false | string[] | number;
  readonly corsOrigins: readonly string[];
  readonly logLevel: LogLevel;
  /** When set, /metrics wants `Authorization: Bearer <METRICS_TOKEN>`. */
  readonly metricsToken: string | null;
  readonly bodyLimitBytes: number;
  /** Where users reach the service (PUBLIC_URL), without a trailing slash: the base of every link. */
  readonly publicUrl: string;
  readonly mail: MailConfig;
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
    if (weakness) problems.push(`JWT_SECRET ${weakness}; generate one with: openssl rand -base64 48`);
  }
  const defaultIssuer = `http://${host.includes(':') ? `[${host}]` : host}:${Number.isInteger(port) ? port : 3000}`;
  const issuer = text('JWT_ISSUER', defaultIssuer);
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
  const publicUrl = text('PUBLIC_URL', issuer).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(publicUrl)) problems.push(`PUBLIC_URL must be an absolute http(s) URL without query or fragment (got "${publicUrl}")`);
  const mail = loadMailConfig(env, publicUrl, problems);

  // Read before the check below, so that their problems are listed with the others.
  const refreshCookie = flag('REFRESH_COOKIE', false);
  const rateLimit = flag('RATE_LIMIT', true);
  const trustProxy = parseTrustProxy(text('TRUST_PROXY', 'off'), problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    workers,
    host,
    databaseUrl,
    redisUrl,
    redisPrefix: text('REDIS_PREFIX', 'gatehouse:'),
    jwt: Object.freeze({ algorithm, secret: algorithm === 'HS256' ? secret : null, issuer, audience, accessTokenTtlMs, refreshTokenTtlMs, clockLeewayMs }),
    refreshReuseGraceMs,
    sessionCacheTtlMs,
    keyReloadIntervalMs,
    keyPropagationMs: 2 * keyReloadIntervalMs + JWKS_MAX_AGE_SECONDS * 1000,
    refreshCookie,
    rateLimit,
    bootstrapAdmin: bootstrapAdmin && Object.freeze(bootstrapAdmin),
    trustProxy,
    corsOrigins: Object.freeze(corsOrigins),
    logLevel,
    metricsToken: env.METRICS_TOKEN?.trim() || null,
    bodyLimitBytes,
    publicUrl,
    mail,
  });
}

function parseTrustProxy(raw: string, problems: string[]): Config['trustProxy'] {
  const lower = raw.toLowerCase();
  if (['off', 'false', '0', 'no'].includes(lower)) return false;
  if (['on', 'true', 'yes'].includes(lower)) {
    // Believing every X-Forwarded-For would let any client pick the address it is counted as.
    problems.push('TRUST_PROXY=on would believe X-Forwarded-For from any client; give the proxies\' addresses or CIDRs, or the number of proxy hops (e.g. 1)');
    return false;
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 10) problems.push('TRUST_PROXY hop count must be 1..10');
    return hops;
  }
  const entries = raw.split(',').map((s) => s.trim()).filter(Boolean);
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

/**
 * JWT-07: an HMAC secret must carry at least 256 random bits. What a string carries is estimated
 * from how it is written: hex holds 4 bits a character, base64 6, other printable text about 6.5;
 * repetitions and a small alphabet give it away as not random.
 */
export function describeWeakSecret(secret: string): string | null {
  if (/^(.{1,16})\1+$/s.test(secret)) return 'repeats a short pattern';
  if (new Set(secret).size < 16) return 'has too few distinct characters to be random';
  const bits = /^[0-9a-f]+$/i.test(secret)
    ? secret.length * 4
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(secret)
      ? secret.replace(/=+$/, '').length * 6
      : Math.floor(secret.length * Math.log2(95));
  if (bits < 256) return `carries about ${bits} bits; at least 256 random bits are required (e.g. 43 base64 or 64 hex characters)`;
  return null;
}
