import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server.js';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../helpers/chromium.js';

const PAGES = join(import.meta.dirname, 'browser');
const PASSWORD = 'correct horse battery staple';
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

if (!hasChromium && !process.env.CI) console.warn(`Chromium tests skipped: ${CHROMIUM} is missing (apt-get install chromium). In CI they fail instead.`);

/** The test pages, as a static origin of their own. */
function servePages(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    if (!/^[\w-]+\.(html|js)$/.test(name) || !existsSync(join(PAGES, name))) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(name)]! }).end(readFileSync(join(PAGES, name)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

type StepResult = { status: number; json: Record<string, unknown> | null; headers: Record<string, string | null>; documentCookie: string };
type Gatehouse = Record<'register' | 'login' | 'refresh' | 'me' | 'logout', (...args: string[]) => Promise<StepResult>>;

describe.skipIf(!hasChromium && !process.env.CI)('Chromium: a single-page app in browser mode (WEB-01, WEB-04)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  const shots = process.env.SCREENSHOT_DIR ?? join(dir, 'screenshots');
  let api: ServerProcess;
  let pages: { server: Server; port: number };
  let csrfPages: { server: Server; port: number };
  let browser: Browser;
  let apiUrl: string;
  let appOrigin: string;

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI needs ${CHROMIUM} for the browser tests: .ci/run installs the Debian chromium package.`);
    mkdirSync(shots, { recursive: true });
    [pages, csrfPages] = await Promise.all([servePages(), servePages()]);
    // localhost:<pages> and localhost:<api> are two origins of one site: the SameSite=Strict cookie
    // goes along with credentials: 'include'. 127.0.0.1 is another site altogether.
    appOrigin = `http://localhost:${pages.port}`;
    [api, browser] = await Promise.all([
      startServerProcess({ DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, REFRESH_COOKIE: 'true', CORS_ORIGINS: appOrigin }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    apiUrl = api.url.replace('127.0.0.1', 'localhost');
  });
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    pages?.server.close();
    csrfPages?.server.close();
    if (!process.env.SCREENSHOT_DIR) rmSync(dir, { recursive: true, force: true });
  });

  // The whole jar: the cookie's Path is /auth/refresh, so a filter by the API's root URL would miss it.
  const refreshCookie = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === 'gatehouse_refresh');
  const step = (page: Page, name: keyof Gatehouse, ...args: string[]) =>
    page.evaluate(([n, a]) => (globalThis as unknown as { gatehouse: Gatehouse }).gatehouse[n as keyof Gatehouse](...(a as string[])), [name, args] as const);

  it('WEB-04: logs in, refreshes by cookie, calls /auth/me, logs out; a refresh after logout is 401', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${appOrigin}/app.html?api=${encodeURIComponent(apiUrl)}`);

      const register = await step(page, 'register', 'spa_user', PASSWORD);
      expect(register.status).toBe(201);
      // Exposed to the page: where the account lives and the request id.
      expect(register.headers.location).toMatch(/^\/users\//);
      expect(register.headers['x-request-id']).toBeTruthy();

      const login = await step(page, 'login', 'spa_user', PASSWORD);
      expect(login.status).toBe(200);
      expect(login.json).not.toHaveProperty('refresh_token');
      // HttpOnly: the page's script cannot read the cookie, but the browser keeps it.
      expect(login.documentCookie).not.toContain('gatehouse_refresh');
      const first = await refreshCookie(context);
      expect(first).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth/refresh' });

      const refresh = await step(page, 'refresh');
      expect(refresh.status).toBe(200);
      expect(refresh.json).not.toHaveProperty('refresh_token');
      expect(refresh.json!.access_token).not.toBe(login.json!.access_token);
      // Rotated: the browser now holds the new refresh token.
      expect((await refreshCookie(context))?.value).not.toBe(first!.value);

      const me = await step(page, 'me');
      expect(me.status).toBe(200);
      expect(me.json!.username).toBe('spa_user');

      const logout = await step(page, 'logout');
      expect(logout.status).toBe(204);
      expect(await refreshCookie(context)).toBeUndefined();

      const after = await step(page, 'refresh');
      expect(after.status).toBe(401);
      expect(after.json!.code).toBe('ERR_AUTH_INVALID_REFRESH_TOKEN');
      // Exposed, so client code can tell why.
      expect(after.headers['www-authenticate']).toMatch(/^Bearer/);

      await page.screenshot({ path: join(shots, 'spa-flow.png') });
    } finally {
      await context.close();
    }
  });

  it('WEB-01: a form on another site that auto-submits a login gets no cookie into the browser', async () => {
    // The attacker's own account, whose session the victim's browser would end up in.
    const register = await fetch(`${apiUrl}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'attacker', email: 'attacker@example.com', password: PASSWORD }),
    });
    expect(register.status).toBe(201);
    const csrf = (origin: string) => `${origin}/csrf.html?${new URLSearchParams({ api: apiUrl, login: 'attacker', password: PASSWORD })}`;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // The attack: a page on another site (127.0.0.1 is not localhost's site).
      const refused = page.waitForResponse((res) => res.url() === `${apiUrl}/auth/login`);
      await page.goto(csrf(`http://127.0.0.1:${csrfPages.port}`));
      const response = await refused;
      expect(response.status()).toBe(403);
      expect(await response.json()).toMatchObject({ code: 'ERR_FORBIDDEN_ORIGIN' });
      expect(await refreshCookie(context)).toBeUndefined();
      await page.screenshot({ path: join(shots, 'csrf-refused.png') });

      // The control: the same form from the allow-listed app origin does get the cookie, so the
      // browser would have kept the attacker's session had the server not refused it.
      const accepted = page.waitForResponse((res) => res.url() === `${apiUrl}/auth/login`);
      await page.goto(csrf(appOrigin));
      expect((await accepted).status()).toBe(200);
      expect(await refreshCookie(context)).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    } finally {
      await context.close();
    }
  });
});
