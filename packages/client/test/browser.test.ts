import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, newAccount, startGatehouse, type LiveGatehouse } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const PAGES = join(import.meta.dirname, 'browser');
const TTL_MS = 5_000;
const RUN_MS = 60_000;
const CALL_EVERY_MS = 200;

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && !process.env.CI) console.warn(`@gatehouse/client browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium). In CI they fail instead.`);

/** The app's origin: the test pages, and the built client under /client/. */
function serveApp(clientDir: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.startsWith('/client/') ? join(clientDir, path.slice('/client/'.length)) : join(PAGES, path);
    if (path.includes('..') || !/\.(html|js)$/.test(path) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': extname(file) === '.html' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

interface TabStats {
  ok: number;
  unauthorized: number;
  other: number[];
  errors: string[];
  events: { event: string; how: string | null; reason: string | null; fromOtherTab: boolean | null }[];
}
interface Tab {
  readonly page: Page;
  /** Every POST /auth/refresh this tab sent, with the status it got. */
  readonly refreshes: { at: number; status: number }[];
}
type TabApi = { signIn(l: string, p: string): Promise<string>; once(): Promise<number | string>; start(ms: number): void; stop(): void; stats(): TabStats; user(): string | null };
const call = <T>(tab: Tab, fn: (api: TabApi, arg: unknown) => T, arg?: unknown) =>
  tab.page.evaluate(([source, a]) => new Function('api', 'arg', `return (${source})(api, arg)`)((globalThis as unknown as { tab: TabApi }).tab, a), [
    fn.toString(),
    arg,
  ] as const) as Promise<Awaited<T>>;

describe.skipIf(!hasChromium && !process.env.CI)('@gatehouse/client in Chromium: three tabs, one session, one refresh at a time (SES-02, WEB-01, WEB-04)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-client-browser-'));
  let gatehouse: LiveGatehouse;
  let app: { server: Server; port: number };
  let browser: Browser;
  let context: BrowserContext;
  let apiUrl: string;
  let appOrigin: string;
  let account: { username: string; password: string };
  const tabs: Tab[] = [];

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`CI needs ${CHROMIUM} for the browser tests: .ci/run installs the Debian chromium package.`);
    const built = buildClient(join(dir, 'client'));
    app = await serveApp(join(dir, 'client'));
    // localhost:<app> and localhost:<api> are two origins of one site, so the SameSite=Strict
    // refresh cookie goes along with credentials: 'include'.
    appOrigin = `http://localhost:${app.port}`;
    [gatehouse, browser] = await Promise.all([
      // No grace for a rotated refresh token presented again: two tabs refreshing one cookie at
      // once would show as reuse (and end the session) instead of being forgiven.
      startGatehouse({ ACCESS_TOKEN_TTL: `${TTL_MS / 1000}s`, REFRESH_COOKIE: 'true', CORS_ORIGINS: appOrigin, REFRESH_REUSE_GRACE: '1ms' }),
      chromium.launch({ executablePath: CHROMIUM, args: ARGS }),
      built,
    ]);
    apiUrl = gatehouse.url.replace('127.0.0.1', 'localhost');
    account = await newAccount(gatehouse.url);
    context = await browser.newContext();
  });
  afterAll(async () => {
    await browser?.close();
    await gatehouse?.stop();
    app?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function openTab(options: { sleeper?: boolean } = {}): Promise<Tab> {
    const page = await context.newPage();
    if (options.sleeper) await page.addInitScript({ content: readFileSync(join(PAGES, 'sleep.js'), 'utf8') });
    const tab: Tab = { page, refreshes: [] };
    page.on('response', (res) => {
      if (res.request().method() === 'POST' && res.url() === `${apiUrl}/auth/refresh`) tab.refreshes.push({ at: Date.now(), status: res.status() });
    });
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(`${appOrigin}/tab.html?api=${encodeURIComponent(apiUrl)}`);
    await page.waitForFunction(() => 'tab' in globalThis);
    tabs.push(tab);
    return tab;
  }
  const sleep = (tab: Tab, ms: number) => tab.page.evaluate((m) => (globalThis as unknown as { sleepFor(ms: number): void }).sleepFor(m), ms);
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const refreshesSince = (at: number, tab?: Tab) => (tab ? [tab] : tabs).flatMap((t) => t.refreshes.filter((r) => r.at >= at));

  it(
    'a minute of calls from three tabs: no 401 reaches the app, no reuse, about one refresh per token lifetime; a tab whose clock jumped an hour refreshes once',
    async () => {
      const first = await openTab();
      expect(await call(first, (api, a) => api.signIn((a as string[])[0]!, (a as string[])[1]!), [account.username, account.password])).toBe('signed-in');
      const second = await openTab();
      const sleeper = await openTab({ sleeper: true });
      // The tabs that opened later were handed the token by the first: signed in without a refresh.
      expect(await call(second, (api) => api.once())).toBe(200);
      expect(await call(sleeper, (api) => api.once())).toBe(200);
      expect(refreshesSince(0)).toEqual([]);

      const before = { refreshes: await gatehouse.refreshes(), unauthorized: await gatehouse.answers('GET', '/auth/me', 401) };
      const started = Date.now();
      for (const tab of tabs) await call(tab, (api, ms) => api.start(ms as number), CALL_EVERY_MS);

      // Two thirds in, the third tab's clock jumps an hour (a laptop that slept): its token is long
      // expired on its clock, so it refreshes, once, and hands the token to the others.
      await wait((RUN_MS * 2) / 3);
      const jumped = Date.now();
      await sleep(sleeper, 3_600_000);
      await wait(2_500);
      const afterJump = refreshesSince(jumped, sleeper);
      expect(afterJump.map((r) => r.status)).toEqual([200]);
      // ...and the other tabs took its token instead of refreshing (nothing else was due so soon after).
      expect(refreshesSince(jumped).length).toBeLessThanOrEqual(2);

      await wait(started + RUN_MS - Date.now());
      for (const tab of tabs) await call(tab, (api) => api.stop());
      const elapsed = Date.now() - started;
      await wait(500); // calls still in flight
      const stats = await Promise.all(tabs.map((tab) => call(tab, (api) => api.stats())));
      const refreshed = (await gatehouse.refreshes()) - before.refreshes;
      console.log(
        `client browser run: ${elapsed} ms, calls ok per tab ${stats.map((s) => s.ok).join('/')}, refreshes ${refreshed} (per tab ${tabs.map((t) => refreshesSince(started, t).length).join('/')}), token lifetime ${TTL_MS} ms`,
      );

      for (const s of stats) {
        expect(s.unauthorized).toBe(0);
        expect(s.errors).toEqual([]);
        expect(s.other).toEqual([]);
        // Calls went on all minute (an interval of 200 ms; background tabs are not throttled here).
        expect(s.ok).toBeGreaterThan((elapsed / CALL_EVERY_MS) * 0.5);
      }
      // Nor did any 401 reach the server: tokens were replaced before they expired.
      expect((await gatehouse.answers('GET', '/auth/me', 401)) - before.unauthorized).toBe(0);
      // SES-02: never two refreshes of one refresh token.
      expect(await gatehouse.audited('refresh.reused')).toBe(0);
      expect(await gatehouse.audited('refresh.retried')).toBe(0);
      // About one refresh per token lifetime for the three tabs together (a refresh falls due when a
      // fifth of the lifetime is left, and the jump adds one), where uncoordinated tabs would spend three.
      const lifetimes = elapsed / TTL_MS;
      expect(refreshed).toBeGreaterThanOrEqual(Math.floor(lifetimes) - 1);
      expect(refreshed).toBeLessThanOrEqual(Math.ceil(elapsed / (TTL_MS * 0.8)) + 2);
      // Every refresh the tabs sent is one the server granted.
      expect(refreshesSince(started).every((r) => r.status === 200)).toBe(true);
      expect(refreshesSince(started)).toHaveLength(refreshed);
    },
    RUN_MS + 30_000,
  );

  it('SES-03: a tab that wakes after its session ended elsewhere refreshes once, signs out cleanly with every tab, and does not retry', async () => {
    const [first, second, sleeper] = tabs as [Tab, Tab, Tab];
    // The user signs out everywhere from another device.
    const elsewhere = await fetch(`${gatehouse.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: account.username, password: account.password }),
    });
    const { access_token } = (await elsewhere.json()) as { access_token: string };
    const logout = await fetch(`${gatehouse.url}/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'global' }),
    });
    expect(logout.status).toBe(204);

    const woke = Date.now();
    await sleep(sleeper, 3_600_000);
    expect(await call(sleeper, (api) => api.once())).toBe('ERR_CLIENT_SIGNED_OUT');
    // The app keeps calling for a while: nothing more is sent to /auth/refresh, from any tab.
    await call(sleeper, (api) => api.start(100));
    await wait(1_500);
    await call(sleeper, (api) => api.stop());
    expect(await call(first, (api) => api.once())).toBe('ERR_CLIENT_SIGNED_OUT');
    expect(await call(second, (api) => api.once())).toBe('ERR_CLIENT_SIGNED_OUT');

    expect(refreshesSince(woke, sleeper).map((r) => r.status)).toEqual([401]);
    expect(refreshesSince(woke)).toHaveLength(1);
    const events = await Promise.all(tabs.map((tab) => call(tab, (api) => api.stats().events.filter((e) => e.event === 'signed-out'))));
    expect(events[2]).toEqual([{ event: 'signed-out', how: null, reason: 'session-ended', fromOtherTab: null }]);
    // The other tabs heard it from the one that found out, rather than each finding out by a refresh.
    expect(events[0]).toEqual([{ event: 'signed-out', how: null, reason: 'other-tab', fromOtherTab: null }]);
    expect(events[1]).toEqual([{ event: 'signed-out', how: null, reason: 'other-tab', fromOtherTab: null }]);
    for (const tab of tabs) expect(await call(tab, (api) => api.user())).toBeNull();
    expect(await gatehouse.audited('refresh.reused')).toBe(0);
  });
});
