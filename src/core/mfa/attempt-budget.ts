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

  /** Takes one attempt for the user or throws TooManyRequestsError. */
  async take(userId: string): Promise<void> {
    const now = this.clock.now();
    const { count, resetAt } = await this.counters.increment(`mfa:attempts:${userId}`, WINDOW_MS, now);
    if (count > MFA_ATTEMPTS) throw new TooManyRequestsError((resetAt - now) / 1000, 'Too many wrong codes: wait before trying again.');
  }

  async succeed(userId: string): Promise<void> {
    await this.counters.delete(`mfa:attempts:${userId}`);
  }
}
