import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { themeCss, UI_PAGES, WEB_ROOT } from '../../src/http/routes/ui.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

// dist/web is built by the suite's global setup (test/helpers/build-web.ts).
const assetNames = () => readdirSync(join(WEB_ROOT, 'assets'));

describe('hosted pages under /ui', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const get = (url: string, headers: Record<string, string> = {}) => t!.app.inject({ method: 'GET', url, headers });

  it('WEB-02: every page is one document with a strict CSP: no inline script, no eval, no framing, no upgrade-insecure-requests', async () => {
    t = await buildTestApp({ JWT_ISSUER: 'http://gatehouse.test' });
    for (const path of UI_PAGES) {
      const res = await get(path);
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toMatch(/(^|; )default-src 'self'(;|$)/);
      expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/);
      expect(csp).toMatch(/(^|; )script-src-attr 'none'(;|$)/);
      expect(csp).toMatch(/(^|; )style-src 'self'(;|$)/);
      expect(csp).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|upgrade-insecure-requests|\*/);
      // Every script is a file of ours; no inline script or style, no event-handler attributes.
      const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attributes, content] of scripts) {
        expect(attributes).toMatch(/src="\/ui\/assets\/[\w-]+\.js"/);
        expect(content!.trim()).toBe('');
      }
      expect(res.body).not.toMatch(/<style|\son\w+=|style="/i);
      expect(res.body).not.toMatch(/https?:\/\/(?!gatehouse\.test)/);
    }
  });

  it('WEB-02: hashed assets are immutable for a year and compressed when asked; only built names are served', async () => {
    t = await buildTestApp();
    const script = assetNames().find((n) => n.endsWith('.js'))!;
    const plain = await get(`/ui/assets/${script}`);
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.vary).toMatch(/accept-encoding/i);
    const br = await get(`/ui/assets/${script}`, { 'accept-encoding': 'gzip, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length);
    const style = assetNames().find((n) => n.endsWith('.css'))!;
    expect((await get(`/ui/assets/${style}`)).headers['content-type']).toBe('text/css; charset=utf-8');

    for (const path of ['/ui/assets/nope.js', '/ui/assets/..%2f..%2fpackage.json', '/ui/assets/%2e%2e%2findex.html', '/ui/index.html', '/ui/unknown']) {
      const res = await get(path);
      expect(res.statusCode, path).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it("WEB-02: branding reaches the page as data, escaped, never as script; the logo's origin alone is added to img-src", async () => {
    t = await buildTestApp({
      UI_TITLE: 'Acme "sign-in" </title><script>alert(1)</script>',
      UI_LOGO_URL: 'https://cdn.acme.example/logo.svg?v=1&x=2',
      UI_PRIMARY_COLOR: '#FFCC00',
      CORS_ORIGINS: 'https://app.acme.example',
      REFRESH_COOKIE: 'true',
    });
    const res = await get('/ui/login');
    expect(res.body).not.toContain('<script>alert');
    expect(res.body).toContain('<title>Acme &#34;sign-in&#34; &#60;/title&#62;&#60;script&#62;alert(1)&#60;/script&#62;</title>');
    const meta = /<meta name="gatehouse-ui" content="([^"]*)"/.exec(res.body)![1]!;
    const settings = JSON.parse(meta.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))));
    expect(settings).toMatchObject({
      title: 'Acme "sign-in" </title><script>alert(1)</script>',
      logoUrl: 'https://cdn.acme.example/logo.svg?v=1&x=2',
      refreshCookie: true,
      redirectOrigins: ['https://app.acme.example'],
    });
    expect(settings.auditTypes).toContain('user.role_changed');
    expect(res.headers['content-security-policy']).toMatch(/img-src 'self' data: https:\/\/cdn\.acme\.example(;|$)/);
    expect(res.body).toContain('<link rel="stylesheet" href="/ui/theme.css" />');
    const theme = await get('/ui/theme.css');
    expect(theme.headers['content-type']).toBe('text/css; charset=utf-8');
    // A light colour gets dark text on it.
    expect(theme.body).toBe(':root:root { --primary: #ffcc00; --on-primary: #111111; }\n');
  });

  it('text on the primary colour keeps WCAG AA contrast: white on dark colours, near-black on light ones', () => {
    expect(themeCss('#2f55c8')).toContain('--on-primary: #ffffff');
    expect(themeCss('#000')).toContain('--primary: #000000; --on-primary: #ffffff');
    expect(themeCss('#fff')).toContain('--on-primary: #111111');
    expect(themeCss(null)).toBe(':root {}\n');
  });

  it('UI=off removes every /ui route; the pages are not in the OpenAPI document', async () => {
    t = await buildTestApp({ UI: 'off' });
    for (const path of [...UI_PAGES, '/ui/theme.css', `/ui/assets/${assetNames()[0]}`]) expect((await get(path)).statusCode, path).toBe(404);
    await t.close();
    t = await buildTestApp();
    const doc = (await get('/openapi.json')).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
  });

  it('UI_TITLE, UI_LOGO_URL and UI_PRIMARY_COLOR are validated with the rest of the configuration', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ DATABASE_URL: 'sqlite::memory:', ...env });
        return [];
      } catch (error) {
        return (error as { problems: string[] }).problems;
      }
    };
    expect(problems({ UI_PRIMARY_COLOR: 'red; } body { display: none' })[0]).toMatch(/^UI_PRIMARY_COLOR must be a hex colour/);
    expect(problems({ UI_PRIMARY_COLOR: '#12345' })[0]).toMatch(/^UI_PRIMARY_COLOR/);
    for (const logo of [
      'javascript:alert(1)',
      '//evil.example/logo.png',
      'data:image/svg+xml,<svg/>',
      'https://user:pass@example.com/l.png',
      '/logo.png" onerror="x',
      'logo.png',
    ]) {
      expect(problems({ UI_LOGO_URL: logo })[0], logo).toMatch(/^UI_LOGO_URL must be/);
    }
    expect(problems({ UI_TITLE: 'x'.repeat(61) })[0]).toMatch(/^UI_TITLE/);
    expect(problems({ UI: 'maybe' })[0]).toMatch(/^UI must be on or off/);
    // All at once, with the others.
    expect(problems({ UI_PRIMARY_COLOR: 'blue', UI_LOGO_URL: 'ftp://x', PORT: '-1' })).toHaveLength(3);
    const ok = loadConfig({ DATABASE_URL: 'sqlite::memory:', UI_PRIMARY_COLOR: '#AbC', UI_LOGO_URL: '/static/logo.svg', UI_TITLE: 'Acme' }).ui;
    expect(ok).toEqual({ enabled: true, title: 'Acme', logoUrl: '/static/logo.svg', primaryColor: '#abc' });
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).ui).toEqual({ enabled: true, title: 'Gatehouse', logoUrl: null, primaryColor: null });
  });
});
