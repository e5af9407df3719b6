import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_PASSWORD } from '../../src/core/auth/sign-in-methods.js';
import { buildTestApp, problemOf, type TestApp } from '../helpers/app.js';
import { flowCookieOf, signInThrough } from '../helpers/sso.js';

interface GitHubAccount {
  id: number;
  login: string;
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

/**
 * The GitHub preset against a local stand-in that speaks the shape of GitHub's OAuth app flow
 * (`/login/oauth/authorize`, `/login/oauth/access_token` answering JSON, with PKCE) and of its
 * REST API (`GET /user`, `GET /user/emails`). It is NOT GitHub: it is written from GitHub's
 * documentation, so it proves the preset speaks that shape, not that github.com answers so today.
 */
describe('GitHub preset (OAuth 2.0 + user and emails API), against a local GitHub-shaped server', () => {
  let server: Server;
  let base: string;
  let t: TestApp;
  const secret = randomBytes(16).toString('hex');
  let account: GitHubAccount;
  const codes = new Map<string, { challenge: string; redirectUri: string; account: GitHubAccount }>();
  const tokens = new Map<string, GitHubAccount>();
  const verifiers: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, base);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === '/login/oauth/authorize') {
        // The user approves at once.
        const code = randomBytes(10).toString('hex');
        codes.set(code, { challenge: url.searchParams.get('code_challenge')!, redirectUri: url.searchParams.get('redirect_uri')!, account });
        res.writeHead(302, { location: `${url.searchParams.get('redirect_uri')}?code=${code}&state=${url.searchParams.get('state')}` });
        return res.end();
      }
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const form = new URLSearchParams(body);
          const grant = codes.get(form.get('code') ?? '');
          codes.delete(form.get('code') ?? '');
          verifiers.push(form.get('code_verifier') ?? '');
          const pkce =
            grant &&
            createHash('sha256')
              .update(form.get('code_verifier') ?? '')
              .digest('base64url') === grant.challenge;
          // GitHub answers a bad code with 200 and an error member.
          if (!grant || !pkce || form.get('client_secret') !== secret || form.get('redirect_uri') !== grant.redirectUri) return json(200, { error: 'bad_verification_code' });
          const token = `gho_${randomBytes(12).toString('hex')}`;
          tokens.set(token, grant.account);
          json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
        });
        return;
      }
      const who = tokens.get(String(req.headers.authorization).replace(/^Bearer /, ''));
      if (!who) return json(401, { message: 'Bad credentials' });
      if (url.pathname === '/api/user') return json(200, { id: who.id, login: who.login, name: who.name, email: null });
      if (url.pathname === '/api/user/emails')
        return json(
          200,
          who.emails.map((e) => ({ ...e, visibility: null })),
        );
      json(404, { message: 'Not Found' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = {
      id: 'github',
      preset: 'github',
      client_id: 'Iv1.test',
      client_secret: secret,
      authorization_endpoint: `${base}/login/oauth/authorize`,
      token_endpoint: `${base}/login/oauth/access_token`,
      api_url: `${base}/api`,
    };
    t = await buildTestApp({ SSO_PROVIDERS: JSON.stringify([provider]) });
  });

  afterAll(async () => {
    await t?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('lists GitHub as a provider of type github', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/auth/providers' })).json()).toEqual({ items: [{ id: 'github', name: 'GitHub', type: 'github' }] });
  });

  it('FED-02: signs in with the verified address (never the unverified primary), the numeric id as subject, PKCE bound', async () => {
    account = {
      id: 583231,
      login: 'octocat',
      name: 'The Octocat',
      emails: [
        { email: 'octo@unverified.example', primary: true, verified: false },
        { email: 'octocat@verified.example', primary: false, verified: true },
      ],
    };
    const res = await signInThrough(t, 'github');
    expect(res.statusCode, res.body).toBe(200);
    const user = (await t.storage.users.findByEmail('octocat@verified.example'))!;
    expect(user).toMatchObject({ username: 'octocat', name: 'The Octocat', emailVerified: true, passwordHash: NO_PASSWORD });
    expect(await t.storage.users.findByEmail('octo@unverified.example')).toBeNull();
    expect((await t.storage.identities.findBySubject('github', `${base}/api`, '583231'))?.userId).toBe(user.id);
    expect(verifiers.at(-1)).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Renamed at GitHub: the numeric id still finds the same user.
    account = { ...account, login: 'octocat-renamed' };
    const again = await signInThrough(t, 'github');
    expect((again.json() as { user: { id: string } }).user.id).toBe(user.id);
  });

  it('MFA-05: a GitHub sign-in never counts as a recent sign-in (GitHub does not say when the user authenticated)', async () => {
    const res = await signInThrough(t, 'github');
    expect(res.statusCode, res.body).toBe(200);
    const { access_token, user } = res.json() as { access_token: string; user: { id: string } };
    const [identity] = await t.storage.identities.listForUser(user.id);
    const unlink = await t.app.inject({ method: 'DELETE', url: `/auth/identities/${identity!.id}`, headers: { authorization: `Bearer ${access_token}` } });
    expect(unlink.statusCode).toBe(401);
    expect(problemOf(unlink).code).toBe('ERR_AUTH_STEP_UP_REQUIRED');
    expect(String(unlink.headers['www-authenticate'])).toContain('insufficient_user_authentication');
  });

  it('FED-02: an account with no verified address is refused, and nothing is created', async () => {
    account = { id: 99, login: 'nomail', name: null, emails: [{ email: 'nomail@example.com', primary: true, verified: false }] };
    const res = await signInThrough(t, 'github');
    expect(res.statusCode).toBe(403);
    expect(problemOf(res).code).toBe('ERR_SSO_NO_EMAIL');
    expect(await t.storage.users.findByEmail('nomail@example.com')).toBeNull();
    expect(await t.storage.identities.findBySubject('github', `${base}/api`, '99')).toBeNull();
  });

  it('a code GitHub refuses (200 with an error member) is refused', async () => {
    account = { id: 7, login: 'seven', name: null, emails: [{ email: 'seven@example.com', primary: true, verified: true }] };
    const start = await t.app.inject({ method: 'GET', url: '/auth/sso/github/start' });
    const state = new URL(String(start.headers.location)).searchParams.get('state');
    const res = await t.app.inject({ method: 'GET', url: `/auth/sso/github/callback?code=made-up&state=${state}`, headers: { cookie: flowCookieOf(start) } });
    expect(res.statusCode).toBe(403);
    expect(problemOf(res).code).toBe('ERR_SSO_REFUSED');
    expect(await t.storage.users.findByEmail('seven@example.com')).toBeNull();
  });
});
