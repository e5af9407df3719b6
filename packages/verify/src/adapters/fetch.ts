import type { Verifier } from '../create-verifier.js';
import { bearerToken, check, refusal } from '../lib/respond.js';
import type { AccessTokenClaims, Requirement } from '../types.js';

/** The outcome of {@link authenticate}: the claims, or the response to send instead. */
export type AuthResult = { readonly ok: true; readonly auth: AccessTokenClaims } | { readonly ok: false; readonly response: Response };

/**
 * Verifies the bearer token of a Web `Request` (Hono's `c.req.raw`, Bun, Deno, workers) and checks
 * the requirements. A refusal comes back as a ready 401/403 `Response` with an RFC 6750
 * `WWW-Authenticate` header and a problem+json body; other errors are thrown.
 *
 * @example
 * ```ts
 * app.use('/api/*', async (c, next) => {
 *   const result = await authenticate(c.req.raw, verifier);
 *   if (!result.ok) return result.response;
 *   c.set('auth', result.auth);
 *   await next();
 * });
 * ```
 */
export async function authenticate(request: Request, verifier: Verifier, ...requirements: Requirement[]): Promise<AuthResult> {
  try {
    const claims = await verifier.verify(bearerToken(request.headers.get('authorization')));
    return { ok: true, auth: check(claims, requirements) };
  } catch (error) {
    const answer = refusal(error);
    if (answer === null) throw error;
    return { ok: false, response: new Response(JSON.stringify(answer.body), { status: answer.status, headers: answer.headers }) };
  }
}

/**
 * Wraps a fetch-style handler so that it runs only with a valid token (and the requirements met).
 *
 * @example
 * ```ts
 * export default { fetch: withAuth(verifier, (request, auth) => Response.json({ user: auth.sub })) };
 * ```
 */
export function withAuth(
  verifier: Verifier,
  handler: (request: Request, auth: AccessTokenClaims) => Response | Promise<Response>,
  ...requirements: Requirement[]
): (request: Request) => Promise<Response> {
  return async (request) => {
    const result = await authenticate(request, verifier, ...requirements);
    return result.ok ? handler(request, result.auth) : result.response;
  };
}
