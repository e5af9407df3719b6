import { TooManyRequestsError } from '../errors.js';
import type { Clock, CounterStore } from '../ports.js';

/**
 * EMAIL-03: how much mail one address may be sent. Counted when a message is asked for, before
 * anything is queued, so past the budget no SMTP transaction happens at all. The key is the
 * address as asked for, known or not, so a 429 says nothing about whether it has an account.
 */
export class MailBudget {
  constructor(
    private readonly counters: CounterStore,
    private readonly clock: Clock,
    private readonly perAddress = { max: 5, windowMs: 3_600_000 },
  ) {}

  async spend(address: string): Promise<void> {
    const now = this.clock.now();
    const { count, resetAt } = await this.counters.increment(`mail:address:${address}`, this.perAddress.windowMs, now);
    if (count > this.perAddress.max) throw new TooManyRequestsError((resetAt - now) / 1000, 'Too many messages to this address. Try again later.');
  }
}
