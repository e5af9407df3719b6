import { TooManyRequestsError } from '../errors.js';
import type { Clock, CounterStore } from '../ports.js';

/** Wrong second-factor codes a user may send per window (MFA-02). */
export const MFA_ATTEMPTS = 5;
const WINDOW_MS = 15 * 60_000;

/**
 * MFA-02: a six-digit code falls to a million guesses, so guesses are budgeted per user. Each try
 * takes one attempt atomically before the code is compared (the counter store's increment is
 * atomic, shared across instances with Redis), so 50 concurrent wrong codes get MFA_ATTEMPTS
 * comparisons between them and the rest a 429. Success gives the budget back. Applied whatever
 * RATE_LIMIT says: it is part of what makes a code a second factor.
 */
export class MfaAttemptBudget {
  constructor(
    private readonly counters: CounterStore,
    private readonly clock: Clock,
  ) {}

  /** Takes one attempt from the budget `key` names (see budgetKey) or throws TooManyRequestsError. */
  async take(key: string): Promise<void> {
    const now = this.clock.now();
    const { count, resetAt } = await this.counters.increment(key, WINDOW_MS, now);
    if (count > MFA_ATTEMPTS) throw new TooManyRequestsError((resetAt - now) / 1000, 'Too many wrong codes: wait before trying again.');
  }

  async succeed(key: string): Promise<void> {
    await this.counters.delete(key);
  }
}

/**
 * Whose budget a code spends. Sign-in and enrolment: the user's. Reauthentication: the session's,
 * so one stolen access token spending wrong codes cannot use up the owner's sign-in budget and
 * lock them out; the thief's own budget is as small (MFA-02 still holds per session).
 */
export function budgetKey(of: { userId: string } | { sessionId: string }): string {
  return 'sessionId' in of ? `mfa:reauth:${of.sessionId}` : `mfa:attempts:${of.userId}`;
}
