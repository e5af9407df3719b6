import { Redis } from 'ioredis';
import type { Timeouts } from '../../config/index.js';
import type { CounterStore, DependencyCheck, InvalidationBus } from '../../core/ports.js';
import { Circuit } from '../circuit.js';
import { MemoryCounterStore } from '../memory/counter-store.js';
import { RedisBus } from './bus.js';
import { RedisCounterStore } from './counter-store.js';

export interface SharedState {
  readonly counters?: CounterStore;
  readonly bus?: InvalidationBus;
  /** Redis's circuit: open while it is away or too slow and the local fallbacks serve. */
  readonly circuit?: Circuit;
  /** For /ready: Redis is reported, never required (the service falls back without it). */
  readonly check?: DependencyCheck;
  close(): Promise<void>;
}

export interface SharedOptions {
  readonly prefix?: string;
  readonly timeouts?: Pick<Timeouts, 'redisConnectMs' | 'redisCommandMs' | 'dependencyRetryMs'>;
  /** What counts and carries invalidations while Redis is away; this process's memory, nothing by default. */
  readonly fallbackCounters?: CounterStore;
  readonly fallbackBus?: InvalidationBus;
  readonly onCircuitChange?: (circuit: Circuit) => void;
}

const DEFAULTS = { redisConnectMs: 2000, redisCommandMs: 500, dependencyRetryMs: 2000 };

/**
 * With REDIS_URL: rate-limit counters and invalidations shared by every instance. Without it, a
 * single process keeps its own (and caches rely on their short TTLs across processes).
 *
 * Redis is never waited for longer than its deadlines: start-up goes on without it (it is
 * connected to in the background, and retried for ever), every command has a timeout, and while
 * its circuit is open counters and invalidations go to the local fallbacks at once. A ping every
 * DEPENDENCY_RETRY_INTERVAL finds out when it is back.
 */
export async function connectShared(redisUrl: string | null, onError: (error: unknown) => void, prefixOrOptions: string | SharedOptions = {}): Promise<SharedState> {
  const options = typeof prefixOrOptions === 'string' ? { prefix: prefixOrOptions } : prefixOrOptions;
  if (!redisUrl) return { close: async () => {} };
  const prefix = options.prefix ?? 'gatehouse:';
  const t = options.timeouts ?? DEFAULTS;
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    // A command while disconnected fails at once (and falls back) instead of queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: t.redisConnectMs,
    commandTimeout: t.redisCommandMs,
    // Reconnect for ever, never more than a few seconds apart.
    retryStrategy: (times) => Math.min(times * 200, Math.max(t.dependencyRetryMs, 200)),
  });
  const circuit = new Circuit('redis', t.dependencyRetryMs, options.onCircuitChange);
  const available = () => circuit.state === 'closed' && redis.status === 'ready';
  const failed = (error: unknown) => {
    circuit.fail(error);
    onError(error);
  };
  redis.on('error', failed);
  // The 'error' before it, if any, says why; a close alone (Redis restarting) opens the circuit too.
  redis.on('close', () => circuit.state === 'closed' && circuit.fail(new Error('connection closed')));
  redis.on('ready', () => circuit.succeed());
  // Until the first connection, Redis counts as away (the fallbacks serve).
  circuit.fail(new Error('not connected yet'));

  // A black-holed Redis stays "ready" to ioredis; only a command that answers closes the circuit.
  const probe = setInterval(() => {
    if (circuit.state === 'closed' || redis.status !== 'ready') return;
    redis.ping().then(
      () => circuit.succeed(),
      (error: unknown) => circuit.fail(error),
    );
  }, t.dependencyRetryMs);
  probe.unref();

  const connected = redis.connect().then(
    () => true,
    () => false,
  );
  await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, t.redisConnectMs).unref())]);
  const bus = new RedisBus(redis, `${prefix}invalidations`, failed, options.fallbackBus, available);
  await bus.start(redis.status === 'ready' ? t.redisConnectMs : 0);
  return {
    counters: new RedisCounterStore(redis, prefix, failed, options.fallbackCounters ?? new MemoryCounterStore(), available),
    bus,
    circuit,
    check: {
      name: 'redis',
      required: false,
      check: async () => (available() ? { up: true } : { up: false, detail: `${circuit.lastError ?? redis.status}; rate limits and invalidations are local until it is back` }),
    },
    close: async () => {
      clearInterval(probe);
      await bus.close();
      redis.disconnect();
    },
  };
}
