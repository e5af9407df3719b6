import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('PUBLIC_URL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ PUBLIC_URL: 'https://auth.example.com/', JWT_ISSUER: 'urn:example:gatehouse' });
  });
  afterAll(() => t.close());

  it('is the base of every URL in the discovery document, whatever the issuer string is', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<Record<string, unknown>>();
    expect(doc.issuer).toBe('urn:example:gatehouse');
    expect(doc.jwks_uri).toBe('https://auth.example.com/.well-known/jwks.json');
    expect(doc.token_endpoint).toBe('https://auth.example.com/oauth/token');
  });

  it('is the default issuer of the tokens', async () => {
    const other = await buildTestApp({ PUBLIC_URL: 'https://login.example.org/' });
    try {
      expect(other.config.jwt.issuer).toBe('https://login.example.org');
      const token = await other.services.tokens.issue({
        userId: 'u1',
        sessionId: 's1',
        role: 'user',
        clientId: 'gatehouse',
        scope: '',
        authTime: other.clock.now(),
        notAfter: other.clock.now() + 3_600_000,
      });
      expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).iss).toBe('https://login.example.org');
    } finally {
      await other.close();
    }
  });
});
