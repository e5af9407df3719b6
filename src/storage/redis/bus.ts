import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Invalidation, InvalidationBus } from '../../core/ports.js';

/**
 * Invalidations over Redis pub/sub: a revocation on one instance reaches the others in
 * milliseconds. Each instance ignores its own messages (it has already acted on them).
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
  ) {
    this.subscriber = publisher.duplicate();
    this.subscriber.on('error', onError);
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

  /** Resolves once the subscription is live, so nothing published after start-up is missed. */
  async start(): Promise<void> {
    if (this.subscriber.status === 'wait') await this.subscriber.connect();
    await this.subscriber.subscribe(this.channel);
  }

  publish(message: Invalidation): void {
    const sent = this.publisher.publish(this.channel, JSON.stringify({ origin: this.origin, message })).catch(this.onError);
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.handlers.push(handler);
  }

  /** Waits for messages still on their way: a CLI command publishes and exits at once. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.subscriber.disconnect();
  }
}
