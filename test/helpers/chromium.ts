import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's chromium, driven by playwright-core (`npx playwright install` cannot work here). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
/** Browser suites skip without it locally and fail in CI (`.ci/run` installs it). */
export const hasChromium = existsSync(CHROMIUM);
/** Where browser suites leave screenshots for CI to keep. */
export const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? join(import.meta.dirname, '../../.ci/artifacts/screenshots');
