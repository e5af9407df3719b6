import type { CounterStore } from '../core/ports.js';
import { MemoryCounterStore } from '../storage/memory/counter-store.js';
import type { Peer } from './peer.js';

/**
 * Rate-limit counters of a cluster worker without Redis, kept by the primary: every worker counts
 * against the same budgets, as one process would. One IPC round trip per count, and only on the
 * routes that have a budget.
 *
 * When the primary does not answer within the request's deadline (or is gone), this worker counts
 * in its own memory instead: the budgets still hold, per worker, rather than the request waiting
 * on the primary or going uncounted (ENUM-04 must not fail open).
 */
export class IpcCounterStore implements CounterStore {
  private readonly local = new MemoryCounterStore();

  constructor(
    private readonly primary: Peer,
    /** Told when a count fell back to this worker's memory. */
    private readonly onFallback: (error: unknown) => void = () => {},
  ) {}

  increment(key: string, windowMs: number, now: number) {
    return this.primary.request({ tag: 'counter.increment', key, windowMs, now }).catch((error: unknown) => {
      this.onFallback(error);
      return this.local.increment(key, windowMs, now);
    });
  }

  get(key: string, now: number) {
    return this.primary.request({ tag: 'counter.get', key, now }).catch((error: unknown) => {
      this.onFallback(error);
      return this.local.get(key, now);
    });
  }

  async delete(...keys: string[]) {
    // Both places, so that a window counted locally while the primary was silent goes too.
    await this.local.delete(...keys);
    await this.primary.request({ tag: 'counter.delete', keys }).catch(this.onFallback);
  }
}
