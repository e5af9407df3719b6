import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { thenOrNow, type NowOrLater } from '../../core/now-or-later.js';
import { TooManyRequestsError } from '../../core/errors.js';
import { clientBucket } from '../../core/net.js';
import type { Services } from '../../services.js';

export interface RateRule {
  /** Routes with the same name share one budget. */
  readonly name: string;
  readonly max: number;
  readonly windowMs: number;
}

/** Per-client budgets of the public auth routes (clients counted by IPv4 address or IPv6 /64). */
export const RATE_RULES = {
  login: { name: 'login', max: 20, windowMs: 60_000 },
  register: { name: 'register', max: 10, windowMs: 3_600_000 },
  refresh: { name: 'refresh', max: 60, windowMs: 60_000 },
  // The token endpoint's numbers, its own budget: a logout must not cost a login.
  revoke: { name: 'revoke', max: 20, windowMs: 60_000 },
  profile: { name: 'profile', max: 30, windowMs: 3_600_000 },
  // EMAIL-03: mail asked for by one client (forgot-password, sign-in, resend), before anything is queued.
  emailSend: { name: 'email-send', max: 10, windowMs: 3_600_000 },
  // Links and codes presented: a code's own 5 tries are the tighter bound (EMAIL-07).
  emailRedeem: { name: 'email-redeem', max: 30, windowMs: 60_000 },
  // Per signed-in caller, not per address: looking up others is what a harvester does at scale.
  directory: { name: 'directory', max: 300, windowMs: 3_600_000 },
} satisfies Record<string, RateRule>;

/** Who a budget belongs to: by default the client's address (see clientBucket). */
export type BucketOf = (request: FastifyRequest) => string | null;
const byClient: BucketOf = (request) => clientBucket(request.ip);

/**
 * An onRequest hook that spends one unit of the budget `bucketOf` names (none when it names none),
 * before the body is even read, and answers 429 with Retry-After once it is gone. RateLimit-*
 * headers follow the IETF draft. With RATE_LIMIT=off there is no hook at all, rather than one that
 * returns at once on every request: spread the answer into the route's onRequest list.
 */
export function rateLimit(services: Services, rule: RateRule, bucketOf: BucketOf = byClient): onRequestHookHandler[] {
  if (!services.config.rateLimit) return [];
  // Callback style: with the counters in this process's memory the hook answers in the same tick.
  const hook: onRequestHookHandler = (request, reply, done) => {
    let counted: NowOrLater<{ count: number; resetAt: number }> | null;
    const now = services.clock.now();
    try {
      const bucket = bucketOf(request);
      counted = bucket === null ? null : services.counters.increment(`rate:${rule.name}:${bucket}`, rule.windowMs, now);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (counted === null) {
      done();
      return;
    }
    const spend = ({ count, resetAt }: { count: number; resetAt: number }) => {
      const resetSeconds = Math.max(0, Math.ceil((resetAt - now) / 1000));
      reply.headers({
        'ratelimit-limit': String(rule.max),
        'ratelimit-remaining': String(Math.max(0, rule.max - count)),
        'ratelimit-reset': String(resetSeconds),
      });
      done(count > rule.max ? new TooManyRequestsError(resetSeconds, 'Too many requests from this client. Try again later.') : undefined);
    };
    void thenOrNow(counted, spend, done);
  };
  RATE_LIMIT_HOOKS.add(hook);
  return [hook];
}

// The hooks made above, so the OpenAPI document can declare 429 on exactly the routes that use one.
const RATE_LIMIT_HOOKS = new WeakSet<object>();

/** Whether a route hook is a rate limit made by `rateLimit`. */
export function isRateLimit(hook: unknown): boolean {
  return typeof hook === 'function' && RATE_LIMIT_HOOKS.has(hook);
}
