import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientBucket } from '../../src/core/net.js';
import { PASSWORD, buildTestApp, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';

describe('rate limits and login throttling (ENUM-04)', () => {
  let t: TestApp;
  let victim: TestUser;
  beforeEach(async () => {
    t = await buildTestApp({ RATE_LIMIT: 'on' });
    victim = await signUp(t);
  });
  afterEach(() => t.close());

  const login = (login: string, password: string, ip = '203.0.113.7') => t.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: ip, payload: { login, password } });

  it('per client: the 21st login within a minute gets 429 with Retry-After and RateLimit headers', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await login(`nobody${i}`, 'wrong password!', '198.51.100.1');
      expect(res.statusCode).toBe(401);
      expect(res.headers['ratelimit-limit']).toBe('20');
      expect(res.headers['ratelimit-remaining']).toBe(String(19 - i));
    }
    const limited = await login('nobody', 'wrong password!', '198.51.100.1');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(problemOf(limited).code).toBe('ERR_RATE_LIMITED');
    // Another client is unaffected, and the window passes.
    expect((await login(victim.username, PASSWORD, '198.51.100.2')).statusCode).toBe(200);
    t.clock.advance(61_000);
    expect((await login(victim.username, PASSWORD, '198.51.100.1')).statusCode).toBe(200);
  });

  it('IPv6 clients are counted by /64', () => {
    expect(clientBucket('2001:db8:1:2:aaaa::1')).toBe(clientBucket('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(clientBucket('2001:db8:1:2::1')).not.toBe(clientBucket('2001:db8:1:3::1'));
    expect(clientBucket('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('per network and account: the wait doubles after 5 failures, and success resets it', async () => {
    for (let i = 0; i < 5; i++) expect((await login(victim.username, 'wrong password!')).statusCode).toBe(401);
    expect((await login(victim.username, 'wrong password!')).statusCode).toBe(401); // 6th: counted, starts a 2 s lock
    const locked = await login(victim.username, PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBe('2');
    t.clock.advance(2_000);
    expect((await login(victim.username, 'wrong password!')).statusCode).toBe(401); // 7th: 4 s
    expect((await login(victim.username, PASSWORD)).headers['retry-after']).toBe('4');
    t.clock.advance(4_000);
    expect((await login(victim.username, PASSWORD)).statusCode).toBe(200);
    // Reset: five more free failures.
    for (let i = 0; i < 5; i++) expect((await login(victim.username, 'wrong password!')).statusCode).toBe(401);
  });

  it("the owner on another network is not locked out by one network's failures", async () => {
    for (let i = 0; i < 8; i++) {
      t.clock.advance(20 * 60_000); // outwait each lock, stay under the per-client budget
      await login(victim.username, 'wrong password!', '203.0.113.66');
    }
    expect((await login(victim.username, PASSWORD, '203.0.113.66')).statusCode).toBe(429);
    expect((await login(victim.username, PASSWORD, '192.0.2.10')).statusCode).toBe(200);
  });

  it("guessing spread over many networks locks the account for unknown networks, never for the owner's own, and never past 15 minutes", async () => {
    // The owner logged in from home before (signUp did, from 127.0.0.1).
    for (let i = 0; i < 30; i++) await login(victim.username, `guess number ${i}`, `198.18.${i}.1`);
    const stranger = await login(victim.username, PASSWORD, '198.18.200.1');
    expect(stranger.statusCode).toBe(429);
    expect(Number(stranger.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    expect((await login(victim.username, PASSWORD, '127.0.0.1')).statusCode).toBe(200);
    // The owner's success cleared the account's counters for everyone.
    expect((await login(victim.username, PASSWORD, '198.18.200.1')).statusCode).toBe(200);
  });

  it('ENUM-01: unknown accounts are throttled exactly like real ones', async () => {
    const answers = async (name: string, ip: string) => {
      const out: string[] = [];
      for (let i = 0; i < 7; i++) {
        const res = await login(name, 'wrong password!', ip);
        out.push(`${res.statusCode} ${res.headers['retry-after'] ?? ''} ${res.body}`);
      }
      return out;
    };
    expect(await answers('no-such-user-anywhere', '203.0.113.20')).toEqual(await answers(victim.username, '203.0.113.21'));
  });

  it('ENUM-04: a burst of concurrent guesses gets no more checks than sequential ones', async () => {
    const burst = await Promise.all(Array.from({ length: 20 }, () => login(victim.username, 'wrong password!', '203.0.113.40')));
    const checked = burst.filter((r) => r.statusCode === 401).length;
    expect(checked).toBe(6); // the 5 free failures and the one that opens the first lock
    expect(burst.filter((r) => r.statusCode === 429)).toHaveLength(14);
  });

  it('ENUM-01: a locked username says nothing about which email belongs to it', async () => {
    for (let i = 0; i < 6; i++) await login(victim.username, 'wrong password!', '203.0.113.50');
    expect((await login(victim.username, 'wrong password!', '203.0.113.50')).statusCode).toBe(429);
    expect((await login(victim.email, 'wrong password!', '203.0.113.50')).statusCode).toBe(401);
    expect((await login('someone-else@example.com', 'wrong password!', '203.0.113.50')).statusCode).toBe(401);
  });

  it('LOG-01: guessing the current password with a stolen token is throttled and audited', async () => {
    const change = () =>
      t.app.inject({
        method: 'POST',
        url: '/auth/password',
        remoteAddress: '203.0.113.60',
        headers: victim.auth,
        payload: { current_password: 'a guess at it', new_password: 'whatever new passphrase' },
      });
    const answers: number[] = [];
    for (let i = 0; i < 7; i++) answers.push((await change()).statusCode);
    expect(answers).toEqual([400, 400, 400, 400, 400, 400, 429]);
    const failed = await t.services.audit.list({ limit: 10, type: 'password.change_failed' });
    expect(failed.items).toHaveLength(6);
  });

  it('the lockout is audited', async () => {
    for (let i = 0; i < 6; i++) await login(victim.username, 'wrong password!');
    const page = await t.services.audit.list({ limit: 5, type: 'login.throttled' });
    expect(page.items[0]).toMatchObject({ subjectId: victim.id, details: { scope: 'network', seconds: 2 } });
  });

  it('register and /oauth/token have budgets too', async () => {
    for (let i = 0; i < 10; i++) {
      await t.app.inject({ method: 'POST', url: '/auth/register', remoteAddress: '198.51.100.9', payload: { username: `x${i}`, email: 'bad' } });
    }
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: '198.51.100.9',
      payload: { username: 'late', email: 'late@example.com', password: PASSWORD },
    });
    expect(res.statusCode).toBe(429);
    for (let i = 0; i < 20; i++)
      await t.app.inject({ method: 'POST', url: '/oauth/token', remoteAddress: '198.51.100.10', payload: { grant_type: 'password', username: 'x', password: 'y' } });
    const token = await t.app.inject({ method: 'POST', url: '/oauth/token', remoteAddress: '198.51.100.10', payload: { grant_type: 'password', username: 'x', password: 'y' } });
    expect(token.statusCode).toBe(429);
    // RFC 6749 §5.2 has no throttling code; slow_down belongs to the device flow (RFC 8628).
    expect(token.json().error).toBe('invalid_request');
    expect(token.headers['retry-after']).toBeDefined();
  });

  it('TRUST_PROXY off: X-Forwarded-For does not buy a fresh budget', async () => {
    for (let i = 0; i < 21; i++) {
      await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: '198.51.100.30',
        headers: { 'x-forwarded-for': `10.0.0.${i}` },
        payload: { login: 'x', password: 'wrong password!' },
      });
    }
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: '198.51.100.30',
      headers: { 'x-forwarded-for': '10.9.9.9' },
      payload: { login: 'x', password: 'wrong password!' },
    });
    expect(res.statusCode).toBe(429);
  });
});

describe('TRUST_PROXY with a listed proxy', () => {
  it('believes X-Forwarded-For only from that proxy', async () => {
    const t = await buildTestApp({ RATE_LIMIT: 'on', TRUST_PROXY: '198.51.100.77' });
    try {
      const viaProxy = (client: string) =>
        t.app.inject({
          method: 'POST',
          url: '/auth/login',
          remoteAddress: '198.51.100.77',
          headers: { 'x-forwarded-for': client },
          payload: { login: 'x', password: 'wrong password!' },
        });
      for (let i = 0; i < 20; i++) await viaProxy('192.0.2.50');
      expect((await viaProxy('192.0.2.50')).statusCode).toBe(429);
      expect((await viaProxy('192.0.2.51')).statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });
});
