import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSmtpServer, tokenIn } from '../helpers/mail.js';
import { freePort, type ServerProcess } from '../helpers/server.js';
import { hasChromium, startWithChromium } from '../helpers/chromium.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a new and longer passphrase';

/**
 * The email pages in a real Chromium against the real server process, with a real SMTP server
 * receiving what the server's own outbox sender delivers.
 */
describe.skipIf(!hasChromium && !process.env.CI)('email pages in Chromium (EMAIL-01/04)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mail-ui-'));
  let smtp: TestSmtpServer;
  let server: ServerProcess;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    const port = await freePort();
    base = `http://localhost:${port}`;
    [server, browser] = await startWithChromium(dir, port, { SMTP_URL: smtp.url, MAIL_FROM: 'no-reply@example.com' });
    const res = await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'walker', email: 'walker@example.com', password: PASSWORD }),
    });
    expect(res.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const waitForMail = async (to: string, subject: RegExp) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = smtp.to(to).find((m) => subject.test(m.parsed.subject ?? ''));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no mail "${subject}" to ${to}; got ${smtp.received.map((m) => m.parsed.subject).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('EMAIL-01: the verification link from the sign-up mail confirms the address on /ui/verify, once', { timeout: 60_000 }, async () => {
    const mail = await waitForMail('walker@example.com', /Confirm your email address/);
    const link = /(http:\/\/\S+\/ui\/verify#token=\S+)/.exec(mail.parsed.text!)![1]!;
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(link);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'confirmed' }).textContent()).resolves.toMatch(/Your email address is confirmed/);
    // The token left the address bar once read.
    expect(page.url()).not.toContain('#token=');
    // The same link again, in a fresh tab: refused.
    const again = await context.newPage();
    await again.goto(link);
    await again.getByRole('button', { name: 'Confirm' }).click();
    await expect(again.getByRole('alert').textContent()).resolves.toMatch(/invalid or has expired/);
    await context.close();
  });

  it('EMAIL-04: forgot → mail → reset page → sign in with the new password; the old one is refused', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/ui/login`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(/\/ui\/forgot$/);
    await page.getByLabel('Email').fill('walker@example.com');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'on its way' }).textContent()).resolves.toMatch(/If an account uses this address/);

    const mail = await waitForMail('walker@example.com', /Reset your/);
    const token = tokenIn(mail.parsed.text!);
    expect(mail.parsed.html).toContain(`href="${base}/ui/reset#token=${token}"`);
    await page.goto(`${base}/ui/reset#token=${token}`);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set the password' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'signed out' }).textContent()).resolves.toMatch(/Your password was changed/);
    await waitForMail('walker@example.com', /password was changed/);

    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(/\/ui\/login/);
    await page.getByLabel('Username or email').fill('walker');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/not right/);
    await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/ui\/account$/);
    // The account page's email section says the address is verified (following the reset link proved it).
    await expect(page.locator('#email').textContent()).resolves.toMatch(/walker@example\.com is verified/);
    await context.close();
  });
});
