import type { FastifyInstance } from 'fastify';

/**
 * The security headers of every answer, fixed at start: they depend on nothing in the request, so
 * nothing about them is computed per request (helmet's middleware rebuilt its CSP string and ran a
 * dozen middleware functions on each one, about 12% of a cached GET's CPU profile).
 *
 * Gatehouse serves JSON, never documents, so the policy forbids everything a document could do;
 * the hosted docs (/docs) send their own Content-Security-Policy, which replaces this one there.
 */
/** A Content-Security-Policy header value from its directives (the API's, /docs' and /ui's). */
export function contentSecurityPolicy(directives: Readonly<Record<string, string>>): string {
  return Object.entries(directives)
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
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
  // Spectre-style cross-origin reads of our responses, and window handles kept by an opener.
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  // Legacy readers (Flash, old IE): no cross-domain policy, no auditor that could be abused.
  'x-permitted-cross-domain-policies': 'none',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-xss-protection': '0',
});

/**
 * Puts the security headers and the request id on every answer, errors and 404s included, in one
 * callback hook (an async hook's extra promise is measurable at this rate).
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header('x-request-id', request.id);
    done();
  });
}
