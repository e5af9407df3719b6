import { Redis } from 'ioredis';
import type { CounterStore, InvalidationBus } from '../../core/ports.js';
import { RedisBus } from './bus.js';
import { RedisCounterStore } from './counter-store.js';

export interface SharedState {
  readonly counters?: CounterStore;
  readonly bus?: InvalidationBus;
  close(): Promise<void>;
}

/**
 * With REDIS_URL: rate-limit counters and invalidations shared by every instance. Without it, a
 * single process keeps its own (and caches rely on their short TTLs across processes).
 */
export async function connectShared(redisUrl: string | null, onError: (error: unknown) => void, prefix = 'gatehouse:'): Promise<SharedState> {
  if (!redisUrl) return { close: async () => {} };
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', onError);
  await redis.connect();
  const bus = new RedisBus(redis, `${prefix}invalidations`, onError);
  await bus.start();
  return {
    counters: new RedisCounterStore(redis, prefix, onError),
    bus,
    close: async () => {
      await bus.close();
      redis.disconnect();
    },
  };
}
