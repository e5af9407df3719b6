import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { CounterStore } from '../../src/core/ports.js';
import { MemoryCounterStore } from '../../src/storage/memory/counter-store.js';
import { RedisCounterStore } from '../../src/storage/redis/counter-store.js';

const redisUrl = process.env.TEST_REDIS_URL;
const clients: Redis[] = [];
const stores: [string, () => CounterStore][] = [['memory', () => new MemoryCounterStore()]];
if (redisUrl) {
  stores.push([
    'redis',
    () => {
      const redis = new Redis(redisUrl);
      clients.push(redis);
      return new RedisCounterStore(redis, `gh_test_${randomBytes(5).toString('hex')}:`);
    },
  ]);
}
afterAll(() => clients.forEach((c) => c.disconnect()));

// The same rules for every counter store: what the rate limits and the login throttle rely on.
describe.each(stores)('counter store: %s', (_name, make) => {
  const now = Date.now();

  it('counts within a window that starts with the first event', async () => {
    const store = make();
    expect(await store.increment('k', 60_000, now)).toEqual({ count: 1, resetAt: expect.any(Number) });
    const second = await store.increment('k', 60_000, now + 10);
    expect(second.count).toBe(2);
    expect(second.resetAt).toBeGreaterThan(now + 59_000);
    expect(second.resetAt).toBeLessThanOrEqual(now + 60_010);
    expect((await store.get('k', now + 20))?.count).toBe(2);
  });

  it('keeps keys apart and deletes several at once', async () => {
    const store = make();
    await store.increment('a', 60_000, now);
    await store.increment('b', 60_000, now);
    await store.increment('c', 60_000, now);
    await store.delete('a', 'b');
    expect(await store.get('a', now)).toBeNull();
    expect(await store.get('b', now)).toBeNull();
    expect((await store.get('c', now))?.count).toBe(1);
    expect(await store.get('never', now)).toBeNull();
  });
});

describe('memory counter store', () => {
  it('ENUM-04: a flood of request budgets does not evict a live lock', async () => {
    const store = new MemoryCounterStore(100);
    const now = Date.now();
    await store.increment('lock:net:203.0.113.1:login:victim', 900_000, now);
    await store.increment('known:login:victim:192.0.2.1', 86_400_000, now);
    for (let i = 0; i < 1000; i++) await store.increment(`rate:login:198.51.${i >> 8}.${i & 255}`, 60_000, now);
    expect(await store.get('lock:net:203.0.113.1:login:victim', now)).not.toBeNull();
    expect(await store.get('known:login:victim:192.0.2.1', now)).not.toBeNull();
  });

  it('forgets a window once it has passed and stays bounded', async () => {
    const store = new MemoryCounterStore(100);
    const now = Date.now();
    await store.increment('k', 1000, now);
    expect(await store.get('k', now + 1000)).toBeNull();
    expect((await store.increment('k', 1000, now + 1000)).count).toBe(1);
    for (let i = 0; i < 500; i++) await store.increment(`flood-${i}`, 60_000, now);
    expect((store as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThanOrEqual(100);
  });
});

describe('counter store in memory', () => {
  it('counts at once, without a promise: a rate-limited route answers in the tick it arrived in', () => {
    const store = new MemoryCounterStore();
    expect(store.increment('k', 60_000, 1_000)).toEqual({ count: 1, resetAt: 61_000 });
    expect(store.increment('k', 60_000, 2_000)).toEqual({ count: 2, resetAt: 61_000 });
  });
});
