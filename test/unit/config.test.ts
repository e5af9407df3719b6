import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeWeakSecret, loadConfig } from '../../src/config/index.js';
import { smtpOptions } from '../../src/mail/smtp-transport.js';

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
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:3000',
      databaseUrl: 'sqlite:data/gatehouse.db',
      workers: 1,
      rateLimit: true,
      trustProxy: false,
    });
    expect(config.jwt).toMatchObject({
      algorithm: 'EdDSA',
      algorithmExplicit: false,
      issuer: 'http://localhost:3000',
      audience: 'gatehouse',
      accessTokenTtlMs: 900_000,
      refreshTokenTtlMs: 30 * 86_400_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every problem at once, flags and proxies included', () => {
    const problems = problemsOf({ PORT: 'x', RATE_LIMIT: 'of', REFRESH_COOKIE: 'ture', TRUST_PROXY: 'of', ACCESS_TOKEN_TTL: 'soon', WORKERS: '0', LOG_LEVEL: 'loud' });
    for (const name of ['PORT', 'RATE_LIMIT', 'REFRESH_COOKIE', 'TRUST_PROXY', 'ACCESS_TOKEN_TTL', 'WORKERS', 'LOG_LEVEL']) {
      expect(
        problems.some((p) => p.startsWith(name)),
        name,
      ).toBe(true);
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
    for (const weak of [
      'short',
      'a'.repeat(64),
      'abcdefghijklmnopabcdefghijklmnop',
      'f'.repeat(63),
      Buffer.alloc(24, 7).toString('base64'),
      'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
      'passwordpasswordpasswordpassword',
    ]) {
      expect(describeWeakSecret(weak), weak).not.toBeNull();
    }
    // 24 random bytes in base64 are 32 characters but only 192 bits.
    expect(describeWeakSecret('q8Zr1mX0vKp3TbW9yLc2NfHd5sGj7Ue4')).not.toBeNull();
    for (const strong of [
      'Wq3x9mZpL0aV7tYbN2cKfR8sHdJ1uE5gT4wXoI6yBlM=',
      '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'k7#Qz!pL2@vX9$mN4^bR6&tY8*wE1(aS3)dF5_gH0+jKk',
    ]) {
      expect(describeWeakSecret(strong), strong).toBeNull();
    }
    expect(problemsOf({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'Wq3x9mZpL0aV7tYbN2cKfR8sHdJ1uE5gT4wXoI6yBlM=' })).toEqual([]);
  });

  it('JWT-12: guessable text is refused whatever its length: word lists, keyboard walks, alphabet runs, repeats', () => {
    const human = [
      'my-super-secret-jwt-key-for-production-2024!',
      'my-super-secret-jwt-key-for-production-2024!-my-super-secret-jwt-key-for-production-2025!',
      'ThisIsMyVeryLongAndSecureSecretKeyForSigningTokens2024',
      'supersecretkeythatnobodywillguessbecauseitislong',
      'correct-horse-battery-staple-ostrich-flamboyant-gazebo-tuesday-mountain-river',
      'qwertyuiopasdfghjklzxcvbnm1234567890qwertyuiopasdfghjkl',
      "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/-['=]1qaz2wsx3edc",
      'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
      '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'changeme-changeme-changeme-changeme-changeme-changeme',
      'Xk9#Xk9#Xk9#Xk9#Xk9#Xk9#Xk9#Xk9#Xk9#Xk9#Xk9#Xk9#',
      'the quick brown fox jumps over the lazy dog and then runs away again',
      'gatehouse-jwt-secret-key-change-me-in-production-please',
      'P@ssw0rd!P@ssw0rd!P@ssw0rd!P@ssw0rd!P@ssw0rd!',
      // Text someone chose, then encoded: judged by what it decodes to.
      Buffer.from('my-super-secret-jwt-key-for-production-2024!').toString('base64'),
      Buffer.from('my-super-secret-jwt-key-for-production-2024!').toString('hex'),
      // A short random part padded to length: about 144 random bits, not 256.
      'V9SEM-QILyZNbwvRT6zoWgWDAAAAAAAAAAAAAAAAAAA',
      ...Array.from({ length: 10 }, () => randomBytes(18).toString('base64url') + 'A'.repeat(19)),
    ];
    const accepted = human.filter((secret) => describeWeakSecret(secret) === null);
    expect(accepted).toEqual([]);
    const [problem] = problemsOf({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'my-super-secret-jwt-key-for-production-2024!' });
    expect(problem).toMatch(/^JWT_SECRET is guessable text/);
    expect(problem).toContain('openssl rand -base64 48');
  });

  it('JWT-12: 100 random secrets of each encoding (hex, base64, base64url of 32 and 48 bytes) are accepted', () => {
    const refused: string[] = [];
    for (const encoding of ['hex', 'base64', 'base64url'] as const) {
      for (let i = 0; i < 100; i++) {
        const secret = randomBytes(i % 2 === 0 ? 32 : 48).toString(encoding);
        if (describeWeakSecret(secret) !== null) refused.push(`${encoding} ${secret}: ${describeWeakSecret(secret)}`);
      }
    }
    expect(refused).toEqual([]);
  }, 60_000);

  it('PUBLIC_URL: defaults to http://localhost:PORT, is the default issuer, is normalised and validated', () => {
    expect(loadConfig({ PORT: '8080' })).toMatchObject({ publicUrl: 'http://localhost:8080', jwt: { issuer: 'http://localhost:8080' } });
    const behindProxy = loadConfig({ HOST: '0.0.0.0', PUBLIC_URL: 'https://auth.example.com/' });
    expect(behindProxy.publicUrl).toBe('https://auth.example.com');
    expect(behindProxy.jwt.issuer).toBe('https://auth.example.com');
    expect(loadConfig({ PUBLIC_URL: 'https://example.com/auth/', JWT_ISSUER: 'https://issuer.example.com' })).toMatchObject({
      publicUrl: 'https://example.com/auth',
      jwt: { issuer: 'https://issuer.example.com' },
    });
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) expect(problemsOf({ HOST: host }), host).toEqual([]);
    // A non-loopback HOST without PUBLIC_URL is listed with the other problems.
    const problems = problemsOf({ HOST: '0.0.0.0', PORT: 'x' });
    expect(problems.some((p) => p.startsWith('PUBLIC_URL is required when HOST is not a loopback address'))).toBe(true);
    expect(problems.some((p) => p.startsWith('PORT'))).toBe(true);
    expect(problemsOf({ HOST: '::' })[0]).toMatch(/^PUBLIC_URL/);
    for (const bad of [
      'auth.example.com',
      'ftp://auth.example.com',
      'https://auth.example.com/?x=1',
      'https://auth.example.com/#top',
      'https://user:pw@auth.example.com',
      '/relative',
    ]) {
      expect(problemsOf({ PUBLIC_URL: bad }), bad).toHaveLength(1);
    }
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
      expect(
        problems.some((p) => p.startsWith(name)),
        name,
      ).toBe(true);
    }
  });
});

describe('mail configuration', () => {
  it("defaults: development outbox, verification optional, sign-in off, 1h links, From at PUBLIC_URL's host", () => {
    const { mail } = loadConfig({ PUBLIC_URL: 'https://auth.example.com' });
    expect(mail).toMatchObject({ smtpUrl: null, verification: 'optional', signIn: false, tokenTtlMs: 3_600_000, from: 'no-reply@auth.example.com', giveUpAfterMs: 86_400_000 });
  });

  it('lists every mail problem at once', () => {
    const problems = problemsOf({
      SMTP_URL: 'http://mail.example.com',
      SMTP_USER: 'u',
      EMAIL_VERIFICATION: 'sometimes',
      EMAIL_SIGN_IN: 'maybe',
      EMAIL_TOKEN_TTL: 'soon',
      MAIL_FROM: 'x\r\nBcc: y@example.com',
    });
    for (const name of ['SMTP_URL', 'SMTP_USER', 'EMAIL_VERIFICATION', 'EMAIL_SIGN_IN', 'EMAIL_TOKEN_TTL', 'MAIL_FROM']) {
      expect(
        problems.some((p) => p.startsWith(name)),
        `${name} in ${problems.join('; ')}`,
      ).toBe(true);
    }
  });

  it('SMTP_URL: smtps is TLS on 465, smtp STARTTLS on 587; credentials from the URL or SMTP_USER/SMTP_PASSWORD', () => {
    expect(smtpOptions({ smtpUrl: 'smtps://a%40b:p%2Fw@mail.example.com', smtpUser: null, smtpPassword: null })).toMatchObject({
      host: 'mail.example.com',
      port: 465,
      secure: true,
      auth: { user: 'a@b', pass: 'p/w' },
    });
    expect(smtpOptions({ smtpUrl: 'smtp://mail.example.com?starttls=required', smtpUser: 'u', smtpPassword: 'p' })).toMatchObject({
      port: 587,
      secure: false,
      requireTLS: true,
      auth: { user: 'u', pass: 'p' },
    });
    expect(smtpOptions({ smtpUrl: 'smtp://relay:25', smtpUser: null, smtpPassword: null })).not.toHaveProperty('auth');
  });
});

describe('second factors and step-up configuration', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ DATABASE_URL: 'sqlite::memory:', ...env });
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('MFA_REQUIRED, REAUTH_MAX_AGE and WEBAUTHN_RP_ID have their defaults and are validated with the rest', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:', PUBLIC_URL: 'https://auth.example.com' }).mfa).toEqual({
      required: 'off',
      reauthMaxAgeMs: 300_000,
      rpId: 'auth.example.com',
      origins: ['https://auth.example.com'],
    });
    const set = loadConfig({
      DATABASE_URL: 'sqlite::memory:',
      PUBLIC_URL: 'https://auth.example.com',
      MFA_REQUIRED: 'admins',
      REAUTH_MAX_AGE: '10m',
      WEBAUTHN_RP_ID: 'example.com',
    }).mfa;
    expect(set).toMatchObject({ required: 'admins', reauthMaxAgeMs: 600_000, rpId: 'example.com' });
    expect(problems({ MFA_REQUIRED: 'sometimes' })[0]).toMatch(/^MFA_REQUIRED must be off, admins or all/);
    expect(problems({ REAUTH_MAX_AGE: '0s' })[0]).toMatch(/^REAUTH_MAX_AGE/);
    expect(problems({ REAUTH_MAX_AGE: '2d' })[0]).toMatch(/^REAUTH_MAX_AGE/);
    // WebAuthn: the RP ID is the origin's host or a parent domain of it, nothing else.
    expect(problems({ PUBLIC_URL: 'https://auth.example.com', WEBAUTHN_RP_ID: 'evil.com' })[0]).toMatch(/^WEBAUTHN_RP_ID/);
    expect(problems({ PUBLIC_URL: 'https://auth.example.com', WEBAUTHN_RP_ID: 'ample.com' })[0]).toMatch(/^WEBAUTHN_RP_ID/);
    expect(problems({ MFA_REQUIRED: 'x', REAUTH_MAX_AGE: 'soon', PORT: '-1' })).toHaveLength(3);
  });
});
