import type { FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';

// The security headers, fixed at start: they depend on nothing in the request, so nothing about
// them is computed per request (helmet's middleware rebuilt its CSP string and ran a dozen
// middleware functions on each one, about 12% of a cached GET's CPU profile).
//
// Most answers are JSON, and their policy forbids everything a document could do. The pages (/ui,
// /docs, the provider's error pages) send a Content-Security-Policy of their own and add
// DOCUMENT_HEADERS.

/** A Content-Security-Policy header value from its directives (the API's, /docs' and /ui's). */
export function contentSecurityPolicy(directives: Readonly<Record<string, string>>): string {
  return Object.entries(directives)
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');
}

/**
 * The headers every answer starts with, JSON or not: those OWASP's REST Security Cheat Sheet asks
 * of an API, plus Referrer-Policy, CORP and the request id. One object literal, which V8 makes from
 * one boilerplate with a fixed shape. Fastify keeps an answer's headers in an object of its own,
 * filled by `reply.header()`, which lower-cases the name and stores it through a megamorphic
 * store, nine times per answer; this replaces that object (still empty when the first onRequest
 * hook runs) with a ready one: +6% requests per CPU-second on `GET /auth/me` (geometric mean of six
 * fresh process pairs, each pinned to a core, alternating rounds; the pairs ranged from -1% to +18%).
 */
function answerHeaders(requestId: string): Record<string, string> {
  return {
    // Nothing may load, run, be framed or posted from a response of ours (XSS via a reflected body).
    'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    // Clickjacking, for browsers older than CSP frame-ancestors.
    'x-frame-options': 'DENY',
    // MIME sniffing: a JSON body is never run as script or rendered as HTML.
    'x-content-type-options': 'nosniff',
    // Downgrade and cookie theft over plain HTTP once a browser has seen us over TLS.
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    // URLs (which may carry item names, user ids) do not leak to other sites.
    'referrer-policy': 'no-referrer',
    // Spectre-style cross-origin reads of our responses (a no-cors <img> or <script> of the API).
    'cross-origin-resource-policy': 'same-origin',
    // What one caller may see must not be kept by a shared cache for the next. The answers that
    // may be cached (the JWKS, discovery, the pages' assets) say so themselves.
    'cache-control': 'no-store',
    'x-request-id': requestId,
  };
}

// Fastify's symbol for the object a reply keeps its headers in until they are written: internal,
// so test/http/security-headers.test.ts fails should a Fastify release rename or drop it.
const { kReplyHeaders } = createRequire(import.meta.url)('fastify/lib/symbols.js') as { readonly kReplyHeaders: symbol };

/** The security headers of every answer (not Cache-Control: pages and cacheable answers set theirs). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(answerHeaders('')).filter(([name]) => name !== 'x-request-id' && name !== 'cache-control')),
);

/**
 * What an answer carrying tokens, secrets or one-time material sends whatever the default: RFC 6749
 * §5.1 asks both of a token response, and it keeps saying so should the default ever change.
 */
export const NO_STORE: Readonly<Record<string, string>> = Object.freeze({ 'cache-control': 'no-store', pragma: 'no-cache' });

/**
 * What an HTML page carries on top (the hosted pages, /docs, the provider's error pages). Each of
 * these acts on a document a browser renders, never on a JSON body, so the API's answers go without
 * them: six header lines fewer to build and validate on every request.
 */
export const DOCUMENT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  // Window handles kept by an opener (tabnabbing, cross-window leaks).
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  // Legacy readers (Flash, Acrobat, old IE): no cross-domain policy, no auditor that could be abused.
  'x-permitted-cross-domain-policies': 'none',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-xss-protection': '0',
});

/**
 * Adds the document headers to every answer of `scope` (a plugin that serves pages), and the
 * pages' own Content-Security-Policy in place of the API's when `csp` is given.
 */
export function registerDocumentHeaders(scope: FastifyInstance, csp?: string): void {
  const headers = Object.freeze(csp === undefined ? DOCUMENT_HEADERS : { ...DOCUMENT_HEADERS, 'content-security-policy': csp });
  scope.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}

/**
 * Puts the security headers and the request id on every answer, errors and 404s included, in one
 * callback hook (an async hook's extra promise is measurable at this rate). app.ts registers it
 * before any other hook, so no header has been set yet; one that had would be kept.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const holder = reply as unknown as Record<symbol, Record<string, unknown>>;
    const earlier = holder[kReplyHeaders]!;
    holder[kReplyHeaders] = answerHeaders(request.id);
    for (const name in earlier) reply.header(name, earlier[name]);
    done();
  });
}
