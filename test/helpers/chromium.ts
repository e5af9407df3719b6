import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startServerProcess, type ServerProcess } from './server.js';

/** Debian's chromium, driven by playwright-core (`npx playwright install` cannot work here). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
/** Browser suites skip without it locally and fail in CI (`.ci/run` installs it). */
export const hasChromium = existsSync(CHROMIUM);
/** Where browser suites leave screenshots for CI to keep. */
export const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? join(import.meta.dirname, '../../.ci/artifacts/screenshots');

/**
 * Gatehouse in browser mode (the refresh cookie) at http://localhost:`port` on a SQLite file in
 * `dir`, and Chromium, started together; `env` adds to or overrides those settings.
 */
export function startWithChromium(dir: string, port: number, env: Record<string, string> = {}): Promise<[ServerProcess, Browser]> {
  return Promise.all([
    startServerProcess({
      PORT: String(port),
      PUBLIC_URL: `http://localhost:${port}`,
      DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`,
      REFRESH_COOKIE: 'true',
      ...env,
    }),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
  ]);
}
