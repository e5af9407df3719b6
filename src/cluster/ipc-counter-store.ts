import type { CounterStore } from '../core/ports.js';
import type { MemoryCounterStore } from '../storage/memory/counter-store.js';

export const COUNTER_REQUEST = 'gatehouse:counter-request';
export const COUNTER_REPLY = 'gatehouse:counter-reply';

type Operation =
  | { op: 'increment'; key: string; windowMs: number; now: number }
  | { op: 'get'; key: string; now: number }
  | { op: 'delete'; keys: string[] };

interface Request {
  tag: typeof COUNTER_REQUEST;
  id: number;
  operation: Operation;
}

/**
 * Rate-limit counters of a cluster worker without Redis, kept by the primary: every worker counts
 * against the same budgets, as one process would. One IPC round trip per count, and only on the
 * routes that have a budget.
 */
export class IpcCounterStore implements CounterStore {
  private nextId = 0;
  private readonly pending = new Map<number, (result: unknown) => void>();

  constructor() {
    process.on('message', (raw: { tag?: string; id?: number; result?: unknown }) => {
      if (raw?.tag !== COUNTER_REPLY || raw.id === undefined) return;
      this.pending.get(raw.id)?.(raw.result);
      this.pending.delete(raw.id);
    });
  }

  private ask<T>(operation: Operation): Promise<T> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve as (result: unknown) => void);
      process.send!({ tag: COUNTER_REQUEST, id, operation } satisfies Request);
    });
  }

  increment(key: string, windowMs: number, now: number) {
    return this.ask<{ count: number; resetAt: number }>({ op: 'increment', key, windowMs, now });
  }

  get(key: string, now: number) {
    return this.ask<{ count: number; resetAt: number } | null>({ op: 'get', key, now });
  }

  async delete(...keys: string[]) {
    await this.ask<null>({ op: 'delete', keys });
  }
}

/** The primary's side: answers a worker's counter request from its own store. */
export async function answerCounterRequest(store: MemoryCounterStore, raw: unknown): Promise<{ tag: string; id: number; result: unknown } | null> {
  const request = raw as Partial<Request>;
  if (request?.tag !== COUNTER_REQUEST || request.id === undefined || !request.operation) return null;
  const o = request.operation;
  const result =
    o.op === 'increment' ? await store.increment(o.key, o.windowMs, o.now) : o.op === 'get' ? await store.get(o.key, o.now) : (await store.delete(...o.keys), null);
  return { tag: COUNTER_REPLY, id: request.id, result };
}
