import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Verifier } from '../create-verifier.js';
import { TokenMissingError } from '../errors.js';
import { bearerToken, check, refusal } from '../lib/respond.js';
import type { AccessTokenClaims, Requirement } from '../types.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified access token's claims, set by the `gatehouse` middleware. */
      auth?: AccessTokenClaims;
    }
  }
}

/** The request and response as Express 4/5 (and connect, and plain node:http) pass them. */
type Req = IncomingMessage & { auth?: AccessTokenClaims };
type Next = (error?: unknown) => void;
/** An Express-style middleware. */
export type Middleware = (req: Req, res: ServerResponse, next: Next) => void;

/** Options of the {@link gatehouse} Express middleware. */
export interface GatehouseMiddlewareOptions {
  /** Made by `createVerifier`. */
  readonly verifier: Verifier;
  /** Requirements every request must meet (`requireRole`, `requireScope`). */
  readonly require?: readonly Requirement[];
}

function send(res: ServerResponse, next: Next, error: unknown): void {
  const answer = refusal(error);
  if (answer === null) return next(error);
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.end(JSON.stringify(answer.body));
}

/**
 * Express middleware: requests need a valid access token; the claims are on `req.auth`. Refusals
 * are 401/403 with an RFC 6750 `WWW-Authenticate` header and a problem+json body; other errors go
 * to `next(error)`.
 *
 * @example
 * ```ts
 * app.use('/api', gatehouse({ verifier }));
 * app.get('/api/me', (req, res) => res.json({ user: req.auth!.sub }));
 * ```
 */
export function gatehouse(options: GatehouseMiddlewareOptions): Middleware {
  const { verifier, require: requirements = [] } = options;
  if (typeof verifier?.verify !== 'function') throw new TypeError('@gatehouse/verify/express: the verifier option is required');
  return (req, res, next) => {
    let token: string;
    try {
      token = bearerToken(req.headers.authorization);
    } catch (error) {
      return send(res, next, error);
    }
    verifier.verify(token).then(
      (claims) => {
        try {
          req.auth = check(claims, requirements);
        } catch (error) {
          return send(res, next, error);
        }
        next();
      },
      (error: unknown) => send(res, next, error),
    );
  };
}

/**
 * Middleware for one route with more requirements, after {@link gatehouse}.
 *
 * @example
 * ```ts
 * app.delete('/api/items/:id', authorize(requireRole('admin')), handler);
 * ```
 */
export function authorize(...requirements: Requirement[]): Middleware {
  return (req, res, next) => {
    try {
      if (req.auth === undefined) throw new TokenMissingError();
      check(req.auth, requirements);
    } catch (error) {
      return send(res, next, error);
    }
    next();
  };
}
