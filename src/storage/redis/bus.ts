import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Invalidation, InvalidationBus } from '../../core/ports.js';

/**
 * Invalidations over Redis pub/sub: a revocation on one instance reaches the others in
 * milliseconds. Each instance ignores its own messages (it has already acted on them). While Redis
 * is away (`available` says no), messages go to `fallback` (a cluster's workers relay through their
 * primary), and caches elsewhere rely on their short TTLs (SESSION_CACHE_TTL).
 */
export class RedisBus implements InvalidationBus {
  private readonly origin = randomUUID();
  private readonly subscriber: Redis;
  private readonly handlers: ((message: Invalidation) => void)[] = [];
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly publisher: Redis,
    private readonly channel = 'gatehouse:invalidations',
    private readonly onError: (error: unknown) => void = () => {},
    private readonly fallback?: InvalidationBus,
    private readonly available: () => boolean = () => true,
  ) {
    // The subscription is queued until Redis answers, and renewed after every reconnection.
    this.subscriber = publisher.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_channel: string, raw: string) => {
      let parsed: { origin?: string; message?: Invalidation };
      try {
        parsed = JSON.parse(raw);
      } catch {
        return;
      }
      if (parsed.origin === this.origin || !parsed.message) return;
      for (const handler of this.handlers) handler(parsed.message);
    });
  }

  /**
   * Resolves once the subscription is live, so nothing published after start-up is missed, or
   * after `waitMs` when Redis is not there (the subscription then follows when it is).
   */
  async start(waitMs: number): Promise<void> {
    if (this.subscriber.status === 'wait') this.subscriber.connect().catch(() => {});
    const subscribed = this.subscriber.subscribe(this.channel).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([subscribed, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  publish(message: Invalidation): void {
    if (!this.available()) {
      this.fallback?.publish(message);
      return;
    }
    const sent = this.publisher.publish(this.channel, JSON.stringify({ origin: this.origin, message })).catch((error: unknown) => {
      this.onError(error);
      this.fallback?.publish(message);
    });
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.handlers.push(handler);
    this.fallback?.subscribe(handler);
  }

  /** Waits for messages still on their way: a CLI command publishes and exits at once. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.subscriber.disconnect();
    await this.fallback?.close();
  }
}
