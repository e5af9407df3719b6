import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { Config } from '../../config/index.js';
import { AUDIT_TYPES } from '../../core/model.js';
import type { Services } from '../../services.js';
import { contentSecurityPolicy, registerDocumentHeaders } from '../security-headers.js';
import { problem, sendProblem } from '../plugins/errors.js';

/** Where the build step (scripts/build-if-needed.mjs, Vite) puts the pages: <repo>/dist/web. */
export const WEB_ROOT = fileURLToPath(new URL('../../../dist/web', import.meta.url));

/** The page paths; each is the same document, which shows the page its path names. */
export const UI_PAGES = ['/ui', '/ui/', '/ui/login', '/ui/register', '/ui/account', '/ui/admin', '/ui/forgot', '/ui/reset', '/ui/verify', '/ui/consent'] as const;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly gzip: Buffer | null;
  readonly br: Buffer | null;
}

/**
 * WEB-02: the pages run only their own files. No inline script (script-src 'self' and
 * script-src-attr 'none'), no eval, no framing (clickjacking of the sign-in and admin forms), forms
 * post nowhere else. No upgrade-insecure-requests: a deployment reached over plain http on purpose
 * would have every asset sent to an https port that does not exist. The logo may live elsewhere.
 */
export function uiContentSecurityPolicy(config: Config): string {
  const logo = config.ui.logoUrl && /^https?:/.test(config.ui.logoUrl) ? ` ${new URL(config.ui.logoUrl).origin}` : '';
  const directives: Record<string, string> = {
    'default-src': "'self'",
    'base-uri': "'none'",
    'connect-src': "'self'",
    'form-action': "'self'",
    'frame-ancestors': "'none'",
    'img-src': `'self' data:${logo}`,
    'object-src': "'none'",
    'script-src': "'self'",
    'script-src-attr': "'none'",
    'style-src': "'self'",
  };
  return contentSecurityPolicy(directives);
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The document with the service's settings in it: in a meta tag and the title (escaped), never
 * in an inline script, so the CSP above can forbid those.
 */
function renderDocument(template: string, config: Config): string {
  const settings = {
    title: config.ui.title,
    logoUrl: config.ui.logoUrl,
    refreshCookie: config.refreshCookie,
    redirectOrigins: config.corsOrigins,
    auditTypes: AUDIT_TYPES,
  };
  let html = template
    .replace(/<meta name="gatehouse-ui" content="[^"]*"\s*\/?>/, `<meta name="gatehouse-ui" content="${escapeHtml(JSON.stringify(settings))}" />`)
    .replace(/<title>[^<]*<\/title>/, `<title>${escapeHtml(config.ui.title)}</title>`);
  // After the built stylesheet, so the configured colour wins.
  if (config.ui.primaryColor) html = html.replace('</head>', '    <link rel="stylesheet" href="/ui/theme.css" />\n  </head>');
  return html;
}

/** The colour, and a text colour that reads on it (WCAG relative luminance). */
export function themeCss(primary: string | null): string {
  if (!primary) return ':root {}\n';
  const hex = primary.length === 4 ? primary.replace(/[0-9a-f]/gi, (c) => c + c) : primary;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast with white is 1.05 / (L + 0.05), with near-black (L≈0.01) (L + 0.05) / 0.06.
  const onPrimary = 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.06 ? '#ffffff' : '#111111';
  return `:root:root { --primary: ${hex}; --on-primary: ${onPrimary}; }\n`;
}

const compressed = new Map<string, Asset>();
/** Assets are read once per process (and compressed then): they are immutable per build. */
function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = join(root, 'assets');
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const key = `${path}:${statSync(path).mtimeMs}`;
    let asset = compressed.get(key);
    if (!asset) {
      const body = readFileSync(path);
      const type = TYPES[extname(name)] ?? 'application/octet-stream';
      const text = type.startsWith('text/') || type.includes('json') || type.includes('svg');
      asset = {
        body,
        type,
        gzip: text && body.length > 1024 ? gzipSync(body, { level: 9 }) : null,
        br: text && body.length > 1024 ? brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 10 } }) : null,
      };
      compressed.set(key, asset);
    }
    assets.set(name, asset);
  }
  return assets;
}

function sendAsset(reply: FastifyReply, asset: Asset, acceptEncoding: string): FastifyReply {
  reply.header('content-type', asset.type).header('vary', 'accept-encoding');
  // Hashed names: a new build is a new name, so a year and immutable is safe.
  reply.header('cache-control', 'public, max-age=31536000, immutable');
  if (asset.br && /\bbr\b/.test(acceptEncoding)) return reply.header('content-encoding', 'br').send(asset.br);
  if (asset.gzip && /\bgzip\b/.test(acceptEncoding)) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

/**
 * The hosted pages under /ui (UI=off removes them): sign-in, sign-up, account and admin, served
 * from the same origin as the API so that they use it with the refresh cookie in browser mode.
 */
export const uiRoutes: FastifyPluginAsync<{ services: Services; webRoot?: string }> = async (app, { services, webRoot = WEB_ROOT }) => {
  const { config } = services;
  if (!config.ui.enabled) return;
  const indexPath = join(webRoot, 'index.html');
  const built = existsSync(indexPath);
  if (!built) app.log.warn(`hosted pages are not built (${indexPath} is missing): run npm run build; /ui answers 503 until then`);
  else if (!config.refreshCookie) {
    app.log.info('hosted pages at /ui keep a sign-in in the page only (REFRESH_COOKIE is off): a reload signs out; set REFRESH_COOKIE=true for sessions that last');
  }
  const html = built ? renderDocument(readFileSync(indexPath, 'utf8'), config) : '';
  const assets = built ? loadAssets(webRoot) : new Map<string, Asset>();
  const csp = uiContentSecurityPolicy(config);
  const theme = themeCss(config.ui.primaryColor);

  // Every answer of this plugin carries the pages' policy instead of the API's default-src 'none'.
  registerDocumentHeaders(app, csp);

  for (const path of UI_PAGES) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      if (!built) return sendProblem(reply, problem('ERR_UI_NOT_BUILT', 'The hosted pages are not built: run npm run build.'));
      // no-cache: revalidated each time, so a new build's asset names are picked up at once.
      return reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
    });
  }

  app.get('/ui/theme.css', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'no-cache').send(theme),
  );

  app.get<{ Params: { file: string } }>('/ui/assets/:file', { schema: { hide: true } }, async (request, reply) => {
    // Only names the build produced: nothing else on disk is reachable from here.
    const asset = assets.get(request.params.file);
    if (!asset) return sendProblem(reply, problem('ERR_NOT_FOUND', 'No such asset.'));
    return sendAsset(reply, asset, String(request.headers['accept-encoding'] ?? ''));
  });
};
