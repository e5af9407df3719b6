import type { Invalidation, InvalidationBus } from '../core/ports.js';

export const IPC_TAG = 'gatehouse:invalidate';

/**
 * Invalidations between the workers of one machine when there is no Redis: each worker tells the
 * primary, which passes the message on to every other worker.
 */
export class IpcBus implements InvalidationBus {
  private readonly handlers: ((message: Invalidation) => void)[] = [];

  constructor() {
    process.on('message', (raw: { tag?: string; message?: Invalidation }) => {
      if (raw?.tag !== IPC_TAG || !raw.message) return;
      for (const handler of this.handlers) handler(raw.message);
    });
  }

  publish(message: Invalidation): void {
    process.send?.({ tag: IPC_TAG, message });
  }

  subscribe(handler: (message: Invalidation) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {}
}
