import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebApp } from '../../examples/oidc-web-app/app.js';
import { startInvoiceApi } from '../../examples/machine-to-machine/invoice-api.js';
import { runJob } from '../../examples/machine-to-machine/job.js';
import { freePort, runCli, startServerProcess, type ServerProcess } from '../helpers/server.js';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium, SCREENSHOTS } from '../helpers/chromium.js';

const PASSWORD = 'correct horse battery staple';
if (!hasChromium && !process.env.CI) console.warn(`OpenID provider browser tests skipped: ${CHROMIUM} is missing. In CI they fail instead.`);

/**
 * Gatehouse as an OpenID provider, end to end: clients registered with the CLI, the example web app
 * (openid-client) signing a user in through the hosted pages in Chromium, and the example machine
 * job (oauth4webapi, client_credentials) calling the example API (@gatehouse/verify).
 */
describe.skipIf(!hasChromium && !process.env.CI)('OpenID provider with real relying parties', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-oidc-'));
  const env = { DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, REFRESH_COOKIE: 'true' };
  let server: ServerProcess;
  let browser: Browser;
  let issuer: string;
  let app: Awaited<ReturnType<typeof startWebApp>>;
  let api: Awaited<ReturnType<typeof startInvoiceApi>>;
  let job: { id: string; secret: string };

  const created = (stdout: string) => ({ id: /client_id: (\S+)/.exec(stdout)![1]!, secret: /client_secret: (\S+)/.exec(stdout)![1]! });

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI needs ${CHROMIUM} for the browser tests.`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const [appPort, apiPort, port] = await Promise.all([freePort(), freePort(), freePort()]);
    issuer = `http://localhost:${port}`;
    const cliEnv = { ...env, PUBLIC_URL: issuer };
    // Clients come from the CLI, as an operator would register them; each secret is printed once.
    const web = runCli(
      [
        'clients',
        'create',
        '--name',
        'Example app',
        '--type',
        'confidential',
        '--redirect-uri',
        `http://127.0.0.1:${appPort}/callback`,
        '--post-logout-redirect-uri',
        `http://127.0.0.1:${appPort}/`,
        '--scope',
        'offline_access',
      ],
      cliEnv,
    );
    expect(web.status, web.stderr).toBe(0);
    const machine = runCli(
      ['clients', 'create', '--name', 'Billing job', '--type', 'confidential', '--grant', 'client_credentials', '--scope', 'invoices.read', '--scope', 'invoices.write'],
      cliEnv,
    );
    expect(machine.status, machine.stderr).toBe(0);
    job = created(machine.stdout);
    const listed = runCli(['clients', 'list'], cliEnv);
    expect(listed.stdout).toContain('Example app');
    expect(listed.stdout).not.toContain(job.secret);
    const admin = { BOOTSTRAP_ADMIN_USERNAME: 'root_admin', BOOTSTRAP_ADMIN_EMAIL: 'root@example.com', BOOTSTRAP_ADMIN_PASSWORD: PASSWORD };
    [server, browser] = await Promise.all([startServerProcess({ ...cliEnv, ...admin, PORT: String(port) }), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })]);
    const register = await fetch(`${issuer}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ada', email: 'ada@example.com', password: PASSWORD }),
    });
    expect(register.status).toBe(201);
    const webClient = created(web.stdout);
    [app, api] = await Promise.all([startWebApp({ issuer, clientId: webClient.id, clientSecret: webClient.secret, port: appPort }), startInvoiceApi({ issuer, port: apiPort })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([browser?.close(), server?.stop(), app?.close(), api?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const status = (page: Page) => page.locator('#status').innerText();
  /** Back on the app's home page (after a logout it carries `?state=`). */
  const atApp = (url: URL) => url.origin === app.url && url.pathname === '/';

  it('OIDC-01/04/07: openid-client signs a user in (discovery, code + PKCE, ID token validated), userinfo, refresh, revocation, RP-initiated logout', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/login`);
    // The hosted sign-in page, then the consent page for this third-party app.
    await page.getByLabel('Username or email').fill('ada');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page
      .locator('#consent-allow')
      .waitFor({ timeout: 5000 })
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)} at ${page.url()}: ${await page.locator('body').innerText()}`);
      });
    expect(await page.locator('#consent-scopes li').allInnerTexts()).toEqual([
      'Know who you are (your account id)',
      'See your name and username',
      'See your email address',
      'Stay signed in when you are away',
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'oidc-consent.png') });
    await page.locator('#consent-allow').click();
    await page.waitForURL(atApp);
    expect(await status(page)).toContain('Signed in as ada');
    expect(await page.locator('#email').innerText()).toBe('ada@example.com');
    expect(await page.locator('#amr').innerText()).toBe('["pwd"]');

    // Refresh through the library.
    await page.locator('#refresh').click();
    expect(await status(page)).toContain('Signed in as ada');

    // Signed in at Gatehouse and consent given: a second sign-in passes without any page.
    const seen: string[] = [];
    page.on('framenavigated', (frame) => frame === page.mainFrame() && seen.push(new URL(frame.url()).pathname));
    await page.goto(`${app.url}/login?prompt=none`);
    await page.waitForURL(atApp);
    expect(await status(page)).toContain('Signed in as ada');
    expect(seen.some((p) => p.startsWith('/ui'))).toBe(false);

    // Sign out: revocation, then RP-initiated logout back to the app.
    await page.locator('#logout').click();
    await page.waitForURL(atApp);
    expect(await status(page)).toContain('Signed out');
    // The Gatehouse sign-in ended too: prompt=none now fails with login_required.
    await page.goto(`${app.url}/login?prompt=none`);
    await page.waitForURL(atApp);
    expect(await page.locator('#error').innerText()).toBe('login_required');
    await context.close();
  });

  it('OIDC-07: consent denied comes back to the app as access_denied', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const bob = await fetch(`${issuer}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', email: 'bob@example.com', password: PASSWORD }),
    });
    expect(bob.status).toBe(201);
    await page.goto(`${app.url}/login`);
    await page.getByLabel('Username or email').fill('bob');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('#consent-deny').click();
    await page.waitForURL(atApp);
    expect(await page.locator('#error').innerText()).toBe('access_denied');
    await context.close();
  });

  async function signIn(page: Page, login: string, next: string) {
    await page.goto(`${issuer}/ui/login?redirect_to=${encodeURIComponent(next)}`);
    await page.getByLabel('Username or email').fill(login);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  it('the admin console registers a client (secret shown once); the account page lists connected apps and withdraws consent', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, 'root_admin', '/ui/admin');
    await page.locator('#oauth-clients').getByText('Example app').waitFor();
    await page.locator('#client-name').fill('Console-made app');
    await page.locator('#client-redirect').fill('https://console.example/cb');
    await page.getByRole('button', { name: 'Register a client' }).click();
    const shownSecret = await page.locator('#client-secret').innerText();
    expect(shownSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.locator('#oauth-clients').getByText('Console-made app').waitFor();
    await page.locator('#oauth-clients').screenshot({ path: join(SCREENSHOTS, 'oidc-admin-clients.png') });
    await context.close();

    // ada agreed to the example app in the first test: her account page lists it, and withdrawing ends it.
    const ada = await browser.newContext();
    const account = await ada.newPage();
    await signIn(account, 'ada', '/ui/account');
    const apps = account.locator('#connected-apps');
    await apps.getByText('Example app').waitFor();
    await account.getByRole('button', { name: 'Withdraw access: Example app' }).click();
    await apps.getByText('No application has access to your account.').waitFor();
    await ada.close();
  });

  it('client_credentials: the example job (oauth4webapi) calls the example API, which verifies with @gatehouse/verify and checks the scope', async () => {
    const ok = await runJob({ issuer, clientId: job.id, clientSecret: job.secret, apiUrl: api.url });
    expect(ok).toEqual({ status: 200, body: { caller: job.id, client_id: job.id, invoices: [{ id: 1, total: 42 }] } });
    const narrow = await runJob({ issuer, clientId: job.id, clientSecret: job.secret, apiUrl: api.url, scope: 'invoices.write' });
    expect(narrow).toEqual({ status: 403, body: { code: 'ERR_INSUFFICIENT_SCOPE' } });
    await expect(runJob({ issuer, clientId: job.id, clientSecret: job.secret, apiUrl: api.url, scope: 'admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
    // invalid_client comes as a 401 with a Basic challenge, which oauth4webapi reports as such.
    await expect(runJob({ issuer, clientId: job.id, clientSecret: 'not the secret', apiUrl: api.url })).rejects.toMatchObject({
      status: 401,
      cause: [expect.objectContaining({ scheme: 'basic' })],
    });
    // RFC 8414 and OIDC discovery as oauth4webapi validates them.
    const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oidc', [oauth.allowInsecureRequests]: true }));
    expect(as.grant_types_supported).toContain('client_credentials');
  });
});
