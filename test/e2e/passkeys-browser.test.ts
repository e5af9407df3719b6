import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/server.js';
import { CHROMIUM, hasChromium, SCREENSHOTS, startWithChromium } from '../helpers/chromium.js';

const PASSWORD = 'correct horse battery staple';
const ADMIN = { username: 'mfa_admin', email: 'mfa_admin@example.com', password: 'admin passphrase for the mfa e2e' };

if (!hasChromium && !process.env.CI) console.warn(`Passkey browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium). In CI they fail instead.`);

/**
 * Passkeys and TOTP in the hosted pages, in Debian's Chromium with the DevTools protocol's virtual
 * authenticator (CTAP2, internal transport, resident keys, user verification): what a person with
 * a phone or a laptop's screen lock does, from a fresh start. One browser for the file.
 */
describe.skipIf(!hasChromium && !process.env.CI)('passkeys and second factors in Chromium (MFA-01, MFA-03, MFA-04, MFA-06)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-passkeys-'));
  let server: ServerProcess;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI needs ${CHROMIUM} for the browser tests: .ci/run installs the Debian chromium package.`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const port = await freePort();
    base = `http://localhost:${port}`;
    [server, browser] = await startWithChromium(dir, port, {
      RATE_LIMIT: 'off',
      BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function api(path: string, { method = 'GET', body, token }: { method?: string; body?: unknown; token?: string } = {}) {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    return fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  async function audited(type: string, userId: string): Promise<{ details: Record<string, unknown> }[]> {
    const login = (await (await api('/auth/login', { method: 'POST', body: { login: ADMIN.username, password: ADMIN.password } })).json()) as { access_token: string };
    return ((await (await api(`/admin/audit?type=${type}&user=${userId}`, { token: login.access_token })).json()) as { items: { details: Record<string, unknown> }[] }).items;
  }

  /** A device with a platform authenticator: CTAP2, internal, resident keys, user verification. */
  async function device(): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string; errors: string[] }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    // A step that cannot happen fails with its own message, well within the test's time.
    page.setDefaultTimeout(8000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return { context, page, cdp, authenticatorId, errors };
  }
  const signedIn = (page: Page) => page.getByRole('heading', { name: 'Your account' }).waitFor();
  async function passwordStep(page: Page, login: string) {
    await page.goto(`${base}/ui/login`);
    await page.getByLabel('Username or email').fill(login);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }
  async function signOut(page: Page) {
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  it('MFA-06: register a passkey and an authenticator app from a fresh start; sign in with no username; use each as the second factor; refused without user verification', async () => {
    const username = 'pia';
    expect((await api('/auth/register', { method: 'POST', body: { username, email: 'pia@example.com', password: PASSWORD } })).status).toBe(201);
    const { context, page, cdp, authenticatorId, errors } = await device();
    try {
      await passwordStep(page, username);
      await signedIn(page);

      // A passkey on this device.
      await page.getByLabel('Name for the passkey').fill('This laptop');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.locator('#passkeys').getByText('Passkey added.').waitFor();
      await expect(page.locator('#passkeys').getByText('This laptop').isVisible()).resolves.toBe(true);
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toHaveLength(1);
      expect(credentials[0]!.isResidentCredential).toBe(true);

      // An authenticator app: the QR code, its key, a first code (made with otpauth), the recovery codes.
      await page.getByRole('button', { name: 'Add an authenticator app' }).click();
      await page.locator('.qr svg').waitFor();
      const secret = (await page.locator('#totp-secret').textContent())!;
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      await page.screenshot({ path: join(SCREENSHOTS, 'mfa-totp-enrolment.png'), fullPage: true });
      const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 });
      await page.getByLabel('Code from the app').fill(totp.generate());
      await page.getByRole('button', { name: 'Confirm', exact: true }).click();
      await page.locator('#recovery-codes').waitFor();
      const codes = await page.locator('#recovery-codes li').allTextContents();
      expect(codes).toHaveLength(10);
      await page.screenshot({ path: join(SCREENSHOTS, 'mfa-recovery-codes.png'), fullPage: true });

      // Sign in with the passkey alone: no username typed.
      await signOut(page);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await signedIn(page);
      await expect(page.getByLabel('Username', { exact: true }).inputValue()).resolves.toBe(username);

      // Password, then the passkey as the second factor.
      await signOut(page);
      await passwordStep(page, username);
      await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, 'mfa-second-step.png'), fullPage: true });
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await signedIn(page);

      // Password, then a recovery code (each works once).
      await signOut(page);
      await passwordStep(page, username);
      await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
      await page.getByLabel('Recovery code').fill(codes[0]!);
      await page.getByRole('button', { name: 'Verify' }).click();
      await signedIn(page);
      await signOut(page);
      await passwordStep(page, username);
      await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
      await page.getByLabel('Recovery code').fill(codes[0]!);
      await page.getByRole('button', { name: 'Verify' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/not right, or was used already/);

      // MFA-06: with user verification failing, the passkey signs nobody in.
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
      await page.goto(`${base}/ui/login`);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByRole('alert').waitFor();
      await expect(page.getByRole('heading', { name: 'Your account' }).count()).resolves.toBe(0);
      expect(errors).toEqual([]);
    } catch (error) {
      await page.screenshot({ path: join(SCREENSHOTS, 'mfa-failure.png'), fullPage: true });
      throw error;
    } finally {
      await context.close();
    }
  });

  it('MFA-06: a replayed or regressed sign counter is refused and audited; a page on another origin cannot use the passkey', async () => {
    const username = 'quinn';
    const created = (await (await api('/auth/register', { method: 'POST', body: { username, email: 'quinn@example.com', password: PASSWORD } })).json()) as { id: string };
    const { context, page, cdp, authenticatorId } = await device();
    try {
      await passwordStep(page, username);
      await signedIn(page);
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.locator('#passkeys').getByText('Passkey added.').waitFor();
      await signOut(page);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await signedIn(page);
      await signOut(page);

      // The same key with its counter put back: what a cloned authenticator would present.
      const [credential] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      expect(credential!.signCount).toBeGreaterThan(0);
      await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credential!.credentialId });
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential!, signCount: 0 } });
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/passkey could not be used/);
      const regressed = await audited('passkey.counter_regressed', created.id);
      expect(regressed).toHaveLength(1);

      // Another origin (127.0.0.1 is not the relying party's localhost): the browser or the service refuses.
      await page.goto(`${server.url}/ui/login`);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByRole('alert').waitFor();
      await expect(page.getByRole('heading', { name: 'Your account' }).count()).resolves.toBe(0);
    } finally {
      await context.close();
    }
  });

  it('MFA-05: a change that wants a recent sign-in asks to confirm it is you, then goes through', async () => {
    // A server of its own whose window is three seconds, so a sign-in is "old" after a short wait. (One
    // second was flaky: auth_time is in whole seconds, so a fresh confirmation could be 0.1 s from old.)
    const port = await freePort();
    const origin = `http://localhost:${port}`;
    const strict = await startServerProcess({
      PORT: String(port),
      PUBLIC_URL: origin,
      DATABASE_URL: `sqlite:${join(dir, 'step-up.db')}`,
      REFRESH_COOKIE: 'true',
      RATE_LIMIT: 'off',
      REAUTH_MAX_AGE: '3s',
    });
    const { context, page } = await device();
    try {
      expect(
        (
          await fetch(`${strict.url}/auth/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: 'rhea', email: 'rhea@example.com', password: PASSWORD }),
          })
        ).status,
      ).toBe(201);
      await page.goto(`${origin}/ui/login`);
      await page.getByLabel('Username or email').fill('rhea');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await signedIn(page);
      // auth_time is in whole seconds: past 4 s it is older than the 3 s window.
      await new Promise((resolve) => setTimeout(resolve, 4100));
      const change = async () => {
        await page.locator('#current_password').fill(PASSWORD);
        await page.locator('#new_password').fill('a new and longer passphrase');
        await page.locator('#confirm_password').fill('a new and longer passphrase');
        await page.getByRole('button', { name: 'Change password' }).click();
      };
      await change();
      await page.locator('#step-up').waitFor();
      await expect(page.getByRole('alert').first().textContent()).resolves.toMatch(/needs a recent sign-in/);
      await page.screenshot({ path: join(SCREENSHOTS, 'mfa-step-up.png'), fullPage: true });
      await page.locator('#step-up-password').fill(PASSWORD);
      await page.locator('#step-up').getByRole('button', { name: 'Confirm', exact: true }).click();
      await page.locator('#step-up').getByText('Confirmed. Try the change again.').waitFor();
      await change();
      await page.getByText('Password changed. Your other sessions were signed out.').waitFor();
    } finally {
      await context.close();
      await strict.stop();
    }
  });
});
