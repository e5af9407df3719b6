import { describe, expect, it } from 'vitest';
import { ConfigError, describeWeakSecret, loadConfig } from '../../src/config/index.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
};

describe('configuration', () => {
  it('defaults to a working single instance on SQLite with EdDSA', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', databaseUrl: 'sqlite:data/gatehouse.db', workers: 1, rateLimit: true, trustProxy: false });
    expect(config.jwt).toMatchObject({ algorithm: 'EdDSA', issuer: 'http://127.0.0.1:3000', audience: 'gatehouse', accessTokenTtlMs: 900_000, refreshTokenTtlMs: 30 * 86_400_000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every problem at once, flags and proxies included', () => {
    const problems = problemsOf({ PORT: 'x', RATE_LIMIT: 'of', REFRESH_COOKIE: 'ture', TRUST_PROXY: 'of', ACCESS_TOKEN_TTL: 'soon', WORKERS: '0', LOG_LEVEL: 'loud' });
    for (const name of ['PORT', 'RATE_LIMIT', 'REFRESH_COOKIE', 'TRUST_PROXY', 'ACCESS_TOKEN_TTL', 'WORKERS', 'LOG_LEVEL']) {
      expect(problems.some((p) => p.startsWith(name)), name).toBe(true);
    }
  });

  it('TRUST_PROXY: addresses, CIDRs and hop counts; never "believe everyone"', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16, ::1' }).trustProxy).toEqual(['10.0.0.1', '192.168.0.0/16', '::1']);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(problemsOf({ TRUST_PROXY: 'on' })[0]).toMatch(/any client/);
    expect(problemsOf({ TRUST_PROXY: '10.0.0.0/33' })).toHaveLength(1);
  });

  it('JWT-07: HS256 needs at least 256 random bits', () => {
    expect(problemsOf({ JWT_ALGORITHM: 'HS256' })[0]).toMatch(/JWT_SECRET is required/);
    for (const weak of ['short', 'a'.repeat(64), 'abcdefghijklmnopabcdefghijklmnop', 'f'.repeat(63), Buffer.alloc(24, 7).toString('base64'), 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', 'passwordpasswordpasswordpassword']) {
      expect(describeWeakSecret(weak), weak).not.toBeNull();
    }
    // 24 random bytes in base64 are 32 characters but only 192 bits.
    expect(describeWeakSecret('q8Zr1mX0vKp3TbW9yLc2NfHd5sGj7Ue4')).not.toBeNull();
    for (const strong of ['Wq3x9mZpL0aV7tYbN2cKfR8sHdJ1uE5gT4wXoI6yBlM=', '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'k7#Qz!pL2@vX9$mN4^bR6&tY8*wE1(aS3)dF5_gH0+jKk']) {
      expect(describeWeakSecret(strong), strong).toBeNull();
    }
    expect(problemsOf({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'Wq3x9mZpL0aV7tYbN2cKfR8sHdJ1uE5gT4wXoI6yBlM=' })).toEqual([]);
  });

  it('refuses a random port for a cluster', () => {
    expect(problemsOf({ PORT: '0', WORKERS: '2' })[0]).toMatch(/PORT=0/);
  });

  it('dependency deadlines: defaults, milliseconds, and every bad value listed', () => {
    expect(loadConfig({}).timeouts).toEqual({
      dbConnectMs: 5000,
      dbStatementMs: 5000,
      dbIdleInTransactionMs: 10_000,
      redisConnectMs: 2000,
      redisCommandMs: 500,
      dependencyRetryMs: 2000,
      startupMs: 60_000,
      shutdownMs: 10_000,
      requestHeadersMs: 10_000,
      requestMs: 30_000,
    });
    expect(loadConfig({ DB_STATEMENT_TIMEOUT: '250ms', STARTUP_TIMEOUT: '2m' }).timeouts).toMatchObject({ dbStatementMs: 250, startupMs: 120_000 });
    const problems = problemsOf({ DB_CONNECT_TIMEOUT: 'never', REDIS_COMMAND_TIMEOUT: '0', SHUTDOWN_TIMEOUT: '-1s', REQUEST_HEADERS_TIMEOUT: '1m', REQUEST_TIMEOUT: '30s' });
    for (const name of ['DB_CONNECT_TIMEOUT', 'REDIS_COMMAND_TIMEOUT', 'SHUTDOWN_TIMEOUT', 'REQUEST_HEADERS_TIMEOUT']) {
      expect(problems.some((p) => p.startsWith(name)), name).toBe(true);
    }
  });
});
