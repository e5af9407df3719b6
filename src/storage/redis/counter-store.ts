import { Redis } from 'ioredis';
import type { CounterStore } from '../../core/ports.js';
import { MemoryCounterStore } from '../memory/counter-store.js';

// One round trip, atomic: count, start the window on the first event, report its remaining time.
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { count, redis.call('PTTL', KEYS[1]) }`;

/**
 * Counters in Redis, so every instance counts once (ENUM-04 across a fleet). Windows expire by
 * Redis's own clock. While Redis is away or too slow (`available` says no: its circuit is open),
 * counting goes at once to `fallback` (this process's memory, or a cluster primary's), so limits
 * weaken to per-instance rather than vanish, and no request waits on Redis; a command that fails
 * tells `onError`, which opens the circuit.
 */
export class RedisCounterStore implements CounterStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'gatehouse:',
    private readonly onError: (error: unknown) => void = () => {},
    private readonly fallback: CounterStore = new MemoryCounterStore(),
    private readonly available: () => boolean = () => true,
  ) {}

  async increment(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    if (!this.available()) return this.fallback.increment(key, windowMs, now);
    try {
      const [count, ttl] = (await this.redis.eval(INCREMENT, 1, this.prefix + key, windowMs)) as [number, number];
      return { count, resetAt: now + (ttl > 0 ? ttl : windowMs) };
    } catch (error) {
      this.onError(error);
      return this.fallback.increment(key, windowMs, now);
    }
  }

  async get(key: string, now: number): Promise<{ count: number; resetAt: number } | null> {
    if (!this.available()) return this.fallback.get(key, now);
    try {
      const [count, ttl] = (await this.redis
        .multi()
        .get(this.prefix + key)
        .pttl(this.prefix + key)
        .exec())!.map(([, v]) => v) as [string | null, number];
      return count === null || ttl <= 0 ? null : { count: Number(count), resetAt: now + ttl };
    } catch (error) {
      this.onError(error);
      return this.fallback.get(key, now);
    }
  }

  async delete(...keys: string[]): Promise<void> {
    await this.fallback.delete(...keys);
    if (!this.available()) return;
    try {
      if (keys.length > 0) await this.redis.del(...keys.map((k) => this.prefix + k));
    } catch (error) {
      this.onError(error);
    }
  }
}
