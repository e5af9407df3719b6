import type { Invalidation, InvalidationBus } from '../core/ports.js';
import type { Peer } from './peer.js';

/**
 * Invalidations between the workers of one machine when there is no Redis: each worker tells the
 * primary, which passes the notice on to every other worker.
 */
export class IpcBus implements InvalidationBus {
  constructor(private readonly primary: Peer) {}

  publish(invalidation: Invalidation): void {
    this.primary.notify({ tag: 'invalidate', invalidation });
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.primary.onNotice((notice) => handler(notice.invalidation));
  }

  async close(): Promise<void> {}
}
