import type { Registry } from 'prom-client';
import type { Invalidation } from '../core/ports.js';

/**
 * The one protocol between a cluster primary and its workers (WORKERS=N), over node's IPC channel.
 * Every message is declared here, told apart by `tag`. A request carries an `id` that its reply
 * (`reply` or `failure`) repeats; a notice (`invalidate`) expects no answer. Anything else on the
 * channel (a message of another library, of an older or newer build) is ignored.
 */

/** A rate-limit window, as the CounterStore port returns it. */
export interface CounterWindow {
  readonly count: number;
  readonly resetAt: number;
}

/** One worker's metrics as prom-client JSON, which the primary sums with the others'. */
export type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Each request: the fields it carries, the result its reply carries, and who asks whom. */
export interface Calls {
  /** worker → primary: without Redis the primary keeps the counters, so all workers count one budget (ENUM-04). */
  'counter.increment': { fields: { key: string; windowMs: number; now: number }; result: CounterWindow };
  'counter.get': { fields: { key: string; now: number }; result: CounterWindow | null };
  'counter.delete': { fields: { keys: string[] }; result: null };
  /** worker → primary: a scrape, answered with every worker's metrics summed. */
  'metrics.cluster': { fields: object; result: string };
  /** primary → worker: this worker's part of a scrape. */
  'metrics.worker': { fields: object; result: WorkerMetrics };
}

export type CallTag = keyof Calls;
/** A request's body: its tag and fields (the id is the channel's business). */
export type Call<T extends CallTag = CallTag> = { [K in T]: { tag: K } & Calls[K]['fields'] }[T];
export type Result<T extends CallTag> = Calls[T]['result'];

export type Request = Call & { id: number };
export type Reply = { tag: 'reply'; id: number; result: unknown } | { tag: 'failure'; id: number; error: string };
/** Something one side tells the other without waiting for an answer. */
export type Notice = { tag: 'invalidate'; invalidation: Invalidation };
export type Message = Request | Reply | Notice;

/**
 * How long each request may wait for its answer. Counting is on the login path: past a second the
 * worker counts locally (see IpcCounterStore) rather than hold the request. A scrape may take a few
 * seconds (Prometheus waits 10 s by default); the primary gives each worker less than the worker
 * gives the primary, so a silent worker is named in the failure instead of the scrape timing out.
 */
export const REQUEST_TIMEOUT_MS: Readonly<Record<CallTag, number>> = {
  'counter.increment': 1000,
  'counter.get': 1000,
  'counter.delete': 1000,
  'metrics.cluster': 5000,
  'metrics.worker': 3000,
};

const CALL_TAGS = new Set<string>(Object.keys(REQUEST_TIMEOUT_MS));

/** The message in `raw` when it is one of ours and well formed; null for anything else. */
export function parseMessage(raw: unknown): Message | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  const hasId = typeof m.id === 'number' && Number.isSafeInteger(m.id);
  if (m.tag === 'reply') return hasId && 'result' in m ? (m as Reply) : null;
  if (m.tag === 'failure') return hasId && typeof m.error === 'string' ? (m as Reply) : null;
  if (m.tag === 'invalidate') return typeof m.invalidation === 'object' && m.invalidation !== null ? (m as Notice) : null;
  if (typeof m.tag === 'string' && CALL_TAGS.has(m.tag)) return hasId ? (m as Request) : null;
  return null;
}
