import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../helpers/forge.js';
import { startOidcUpstream, type OidcUpstream } from '../helpers/oidc-upstream.js';
import { freePort, type ServerProcess } from '../helpers/server.js';
import { CHROMIUM, hasChromium, SCREENSHOTS, startWithChromium } from '../helpers/chromium.js';

const PASSWORD = 'correct horse battery staple';
const ADMIN = { username: 'sso_admin', email: 'sso-admin@example.com', password: 'admin passphrase for the sso e2e' };

if (!hasChromium && !process.env.CI) console.warn(`Federated sign-in browser tests skipped: ${CHROMIUM} is missing. In CI they fail instead.`);

/**
 * Federated sign-in in a real Chromium against the real server in browser mode, with a real
 * upstream OpenID provider (oidc-provider) on its own port: the sign-in page's button, the round
 * trip, Gatehouse's own session at the end, linking and unlinking on the account page, and the
 * clear page when the provider refuses or is away. One browser for the file.
 */
describe.skipIf(!hasChromium && !process.env.CI)('sign-in with another identity provider in Chromium (FED-01..03)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sso-'));
  let server: ServerProcess;
  let upstream: OidcUpstream;
  let browser: Browser;
  let base: string;
  let adminToken: string;

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI needs ${CHROMIUM} for the browser tests.`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const port = await freePort();
    base = `http://localhost:${port}`;
    upstream = await startOidcUpstream({
      accounts: [
        { id: 'up-ada', email: 'ada@upstream.example', emailVerified: true, name: 'Ada Upstream', preferredUsername: 'ada' },
        { id: 'up-mallory', email: 'victim@example.com', emailVerified: false, preferredUsername: 'mallory' },
        { id: 'up-bob', email: 'bob-elsewhere@example.com', emailVerified: true },
        { id: 'up-late', email: 'late@example.com', emailVerified: true, preferredUsername: 'late' },
      ],
      redirectUris: [`${base}/auth/sso/idp/callback`],
    });
    [server, browser] = await startWithChromium(dir, port, {
      RATE_LIMIT: 'off',
      BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      SSO_PROVIDERS: JSON.stringify([{ id: 'idp', name: 'Test IdP', issuer: upstream.issuer, client_id: upstream.clientId, client_secret: upstream.clientSecret }]),
    });
    adminToken = ((await (await api('/auth/login', { method: 'POST', body: { login: ADMIN.username, password: ADMIN.password } })).json()) as { access_token: string })
      .access_token;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function api(path: string, { method = 'GET', body, token }: { method?: string; body?: unknown; token?: string } = {}) {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token ?? adminToken) headers.authorization = `Bearer ${token ?? adminToken}`;
    return fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  const usersNamed = async (q: string) => ((await (await api(`/users?q=${encodeURIComponent(q)}&limit=100`)).json()) as { items: { id: string; username: string }[] }).items;

  /** The session the page holds, as Gatehouse's own access token (refreshed through the cookie). */
  const accessTokenOf = (page: Page) =>
    page.evaluate(async () => {
      const res = await fetch('/auth/refresh', { method: 'POST', credentials: 'include' });
      return res.ok ? ((await res.json()) as { access_token: string }).access_token : null;
    });

  async function continueWith(page: Page, query = '') {
    await page.goto(`${base}/ui/login${query}`);
    await page.getByRole('link', { name: 'Continue with Test IdP' }).click();
  }

  it('FED-01: the button on /ui/login leads through the provider to Gatehouse’s own session, on redirect_to, with a stable sub', async () => {
    const subs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        upstream.signInAs('up-ada');
        await continueWith(page, '?redirect_to=%2Fui%2Faccount%3Ffrom%3Dsso');
        await page.waitForURL(`${base}/ui/account?from=sso`);
        await expect(page.getByLabel('Username', { exact: true }).inputValue()).resolves.toBe('ada');
        if (i === 0) await page.screenshot({ path: join(SCREENSHOTS, 'sso-signed-in-account.png'), fullPage: true });
        const token = await accessTokenOf(page);
        expect(token).toBeTruthy();
        const claims = decode(token!.split('.')[1]!);
        expect(claims.iss).toBe(base);
        subs.push(String(claims.sub));
      } finally {
        await context.close();
      }
    }
    expect(subs[0]).toBe(subs[1]);
    expect((await usersNamed('ada')).map((u) => u.id)).toEqual([subs[0]]);
  });

  it('FED-02: the unverified upstream address of a local account never signs into it; the page says why', async () => {
    expect((await api('/auth/register', { method: 'POST', body: { username: 'victim', email: 'victim@example.com', password: PASSWORD }, token: '' })).status).toBe(201);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      upstream.signInAs('up-mallory');
      await continueWith(page);
      // Refused as if no account had that address (no oracle).
      await page.waitForURL(/\/ui\/login\?sso_error=ERR_SSO_NO_EMAIL$/);
      await expect(page.locator('#sso-error').textContent()).resolves.toMatch(/did not give a verified email address/);
      await page.screenshot({ path: join(SCREENSHOTS, 'sso-unverified-refused.png'), fullPage: true });
      expect(await accessTokenOf(page)).toBeNull();
    } finally {
      await context.close();
    }
  });

  it('links another provider’s account from /ui/account and unlinks it', async () => {
    expect((await api('/auth/register', { method: 'POST', body: { username: 'bob', email: 'bob@example.com', password: PASSWORD }, token: '' })).status).toBe(201);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${base}/ui/login`);
      await page.getByLabel('Username or email').fill('bob');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(`${base}/ui/account`);
      upstream.signInAs('up-bob');
      await page.getByRole('button', { name: 'Link Test IdP' }).click();
      await page.waitForURL(`${base}/ui/account?linked=idp`);
      const identities = page.locator('#identities');
      await expect(identities.getByRole('status').first().textContent()).resolves.toContain('Test IdP is linked');
      await expect(page.locator('#identity-list').textContent()).resolves.toContain('bob-elsewhere@example.com');
      await identities.screenshot({ path: join(SCREENSHOTS, 'sso-account-linked.png') });
      await page.getByRole('button', { name: 'Unlink Test IdP (bob-elsewhere@example.com)' }).click();
      await expect(identities.getByText('Unlinked.').textContent()).resolves.toBe('Unlinked.');
      await expect(page.locator('#identity-list').count()).resolves.toBe(0);
    } finally {
      await context.close();
    }
  });

  it('FED-03: the provider down at the callback: a clear error page, no session, no half-made user', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      upstream.signInAs('up-late');
      // The provider goes away right after the user approved, as the browser comes back.
      upstream.failAfterNextCode();
      await continueWith(page);
      await page.waitForURL(/\/ui\/login\?sso_error=ERR_SSO_UNAVAILABLE$/);
      await expect(page.locator('#sso-error').textContent()).resolves.toBe('The other service is not answering right now. Nothing was changed; try again in a few minutes.');
      await page.screenshot({ path: join(SCREENSHOTS, 'sso-provider-down.png'), fullPage: true });
      expect(await accessTokenOf(page)).toBeNull();
      expect(await usersNamed('late')).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
