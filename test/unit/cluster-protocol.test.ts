import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IpcBus } from '../../src/cluster/ipc-bus.js';
import { IpcCounterStore } from '../../src/cluster/ipc-counter-store.js';
import { IpcRequestError, Peer, type Answers } from '../../src/cluster/peer.js';
import { REQUEST_TIMEOUT_MS, parseMessage, type Message } from '../../src/cluster/protocol.js';
import type { Invalidation } from '../../src/core/ports.js';
import { MemoryCounterStore } from '../../src/storage/memory/counter-store.js';

/**
 * Two peers joined as node's IPC joins a worker to its primary: every message is JSON-serialised and
 * arrives later, never in the same tick. `cut()` makes one side stop listening, as a stuck process.
 */
function pair(primaryAnswers: Answers, workerAnswers: Answers = {}) {
  let primarySilent = false;
  const deliver = (to: () => Peer, silent: () => boolean) => (message: Message) => {
    const wire = JSON.stringify(message);
    queueMicrotask(() => silent() || to().receive(JSON.parse(wire)));
    return true;
  };
  const sentToPrimary: unknown[] = [];
  const worker: Peer = new Peer({
    send: (m) => (
      sentToPrimary.push(m),
      deliver(
        () => primary,
        () => primarySilent,
      )(m)
    ),
    answers: workerAnswers,
  });
  const primary: Peer = new Peer({
    send: deliver(
      () => worker,
      () => false,
    ),
    answers: primaryAnswers,
  });
  return { worker, primary, sentToPrimary, cut: () => (primarySilent = true) };
}

const counterAnswers = (counters: MemoryCounterStore): Answers => ({
  'counter.increment': ({ key, windowMs, now }) => counters.increment(key, windowMs, now),
  'counter.get': ({ key, now }) => counters.get(key, now),
  'counter.delete': async ({ keys }) => (await counters.delete(...keys), null),
});

afterEach(() => {
  vi.useRealTimers();
});

describe('cluster protocol: one typed primary↔worker channel', () => {
  it('declares a deadline for every request it knows', () => {
    for (const [tag, ms] of Object.entries(REQUEST_TIMEOUT_MS)) {
      expect(ms, tag).toBeGreaterThan(0);
      expect(parseMessage({ tag, id: 1 }), tag).not.toBeNull();
    }
    // The primary asks a worker for less time than the worker waits for the primary's sum.
    expect(REQUEST_TIMEOUT_MS['metrics.worker']).toBeLessThan(REQUEST_TIMEOUT_MS['metrics.cluster']);
  });

  it('carries a request to the other side and its typed answer back', async () => {
    const { worker } = pair(counterAnswers(new MemoryCounterStore()));
    expect(await worker.request({ tag: 'counter.increment', key: 'rate:a', windowMs: 60_000, now: 1000 })).toEqual({ count: 1, resetAt: 61_000 });
    expect(await worker.request({ tag: 'counter.increment', key: 'rate:a', windowMs: 60_000, now: 2000 })).toEqual({ count: 2, resetAt: 61_000 });
    expect(await worker.request({ tag: 'counter.get', key: 'rate:b', now: 2000 })).toBeNull();
    expect(await worker.request({ tag: 'counter.delete', keys: ['rate:a'] })).toBeNull();
    expect(await worker.request({ tag: 'counter.get', key: 'rate:a', now: 3000 })).toBeNull();
  });

  it('ENUM-04: two workers count one budget in the primary', async () => {
    const counters = new MemoryCounterStore();
    const a = new IpcCounterStore(pair(counterAnswers(counters)).worker);
    const b = new IpcCounterStore(pair(counterAnswers(counters)).worker);
    await a.increment('rate:login', 60_000, 0);
    await a.increment('rate:login', 60_000, 0);
    expect(await b.increment('rate:login', 60_000, 0)).toEqual({ count: 3, resetAt: 60_000 });
  });

  it('fails a request the other side does not answer at its deadline, not before, and ignores the late answer', async () => {
    vi.useFakeTimers();
    const { worker, cut } = pair(counterAnswers(new MemoryCounterStore()));
    cut();
    let outcome: unknown = 'pending';
    void worker.request({ tag: 'counter.get', key: 'k', now: 0 }).then(
      (r) => (outcome = r),
      (e: unknown) => (outcome = e),
    );
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS['counter.get'] - 1);
    expect(outcome).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBeInstanceOf(IpcRequestError);
    expect(outcome).toMatchObject({ reason: 'timeout', tag: 'counter.get' });
    // The answer arriving after the deadline settles nothing and throws nothing.
    expect(() => worker.receive({ tag: 'reply', id: 1, result: { count: 9, resetAt: 9 } })).not.toThrow();
  });

  it('a worker whose primary does not answer counts locally after the deadline (ENUM-04 does not fail open)', async () => {
    vi.useFakeTimers();
    const { worker, cut } = pair(counterAnswers(new MemoryCounterStore()));
    cut();
    const fallbacks: unknown[] = [];
    const store = new IpcCounterStore(worker, (error) => fallbacks.push(error));
    const first = store.increment('rate:login', 60_000, 0);
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS['counter.increment']);
    expect(await first).toEqual({ count: 1, resetAt: 60_000 });
    const second = store.increment('rate:login', 60_000, 0);
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS['counter.increment']);
    expect(await second).toEqual({ count: 2, resetAt: 60_000 });
    expect(fallbacks).toHaveLength(2);
    expect(fallbacks[0]).toMatchObject({ reason: 'timeout' });
  });

  it('ignores messages that are not its own or not well formed, and keeps serving', async () => {
    const { worker, primary, sentToPrimary } = pair(counterAnswers(new MemoryCounterStore()));
    const answer = worker.request({ tag: 'counter.increment', key: 'k', windowMs: 1000, now: 0 });
    const strangers = [
      null,
      undefined,
      42,
      'counter.get',
      [],
      {},
      { type: 'prom-client:getMetricsReq', requestId: 1 },
      { cmd: 'NODE_CLUSTER', ack: 1 },
      { tag: 'counter.nuke', id: 5 },
      { tag: 'counter.get', key: 'k', now: 0 },
      { tag: 'counter.get', id: 'x', key: 'k', now: 0 },
      { tag: 'reply', result: 1 },
      { tag: 'reply', id: 1 },
      { tag: 'failure', id: 1, error: 42 },
      { tag: 'invalidate' },
      { tag: 'reply', id: 12345, result: 'to a request never made' },
    ];
    for (const raw of strangers) {
      expect(() => worker.receive(raw)).not.toThrow();
      expect(() => primary.receive(raw)).not.toThrow();
    }
    expect(await answer).toEqual({ count: 1, resetAt: 1000 });
    // None of them was answered: the worker sent its one request and nothing else.
    await new Promise((resolve) => setImmediate(resolve));
    expect(sentToPrimary).toHaveLength(1);
  });

  it('answers a request this side does not serve, or whose handler fails, with a failure', async () => {
    const { worker, primary } = pair({ 'counter.get': () => Promise.reject(new Error('store broke')) });
    await expect(worker.request({ tag: 'counter.delete', keys: [] })).rejects.toMatchObject({ reason: 'failed', message: 'counter.delete: no handler for counter.delete' });
    await expect(worker.request({ tag: 'counter.get', key: 'k', now: 0 })).rejects.toMatchObject({ reason: 'failed', message: 'counter.get: store broke' });
    // The worker serves no counters either.
    await expect(primary.request({ tag: 'counter.get', key: 'k', now: 0 })).rejects.toMatchObject({ reason: 'failed' });
  });

  it('fails at once, not at the deadline, when the other side is gone', async () => {
    vi.useFakeTimers();
    const { worker, cut } = pair({});
    cut();
    const waiting = worker.request({ tag: 'metrics.cluster' });
    worker.close('the primary is gone');
    await expect(waiting).rejects.toMatchObject({ reason: 'gone' });
    await expect(worker.request({ tag: 'metrics.cluster' })).rejects.toMatchObject({ reason: 'gone' });
    const unsent = new Peer({ send: () => false });
    await expect(unsent.request({ tag: 'counter.get', key: 'k', now: 0 })).rejects.toMatchObject({ reason: 'gone' });
  });

  it('relays invalidations as notices that need no answer', async () => {
    const { worker, primary } = pair({});
    const heard: Invalidation[] = [];
    new IpcBus(worker).subscribe((m) => heard.push(m));
    primary.notify({ tag: 'invalidate', invalidation: { kind: 'sessions', ids: ['s1'] } });
    primary.notify({ tag: 'invalidate', invalidation: { kind: 'keys' } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual([{ kind: 'sessions', ids: ['s1'] }, { kind: 'keys' }]);
  });
});

describe('cluster protocol over a real IPC channel (a forked process)', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  async function forkWorker(env: Record<string, string> = {}) {
    const child = fork(fileURLToPath(new URL('../helpers/ipc-worker.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env } });
    children.push(child);
    const deleted: string[][] = [];
    const peer = new Peer({
      send: (message) => (child.connected ? (child.send(message, undefined, {}, () => {}), true) : false),
      answers: { 'counter.delete': ({ keys }) => (deleted.push(keys), null) },
      timeouts: { 'metrics.worker': 1000 },
    });
    child.on('message', (raw) => peer.receive(raw));
    child.once('exit', () => peer.close('the worker exited'));
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    return { child, peer, deleted };
  }

  it('answers across processes, ignores strangers, and passes notices on', async () => {
    const { child, peer, deleted } = await forkWorker();
    child.send({ type: 'prom-client:getMetricsReq', requestId: 1 });
    child.send({ tag: 'no-such-message', id: 1 });
    child.send('just a string');
    const metrics = await peer.request({ tag: 'metrics.worker' });
    expect(metrics).toEqual([expect.objectContaining({ name: 'forked_total', values: [{ value: 7, labels: {} }] })]);
    peer.notify({ tag: 'invalidate', invalidation: { kind: 'user', id: 'u1' } });
    await vi.waitFor(() => expect(deleted).toEqual([[JSON.stringify({ kind: 'user', id: 'u1' })]]));
  }, 20_000);

  it('times out on a live process that does not answer, and fails at once when it exits', async () => {
    const { child, peer } = await forkWorker({ IPC_WORKER_SILENT: '1' });
    const started = Date.now();
    await expect(peer.request({ tag: 'metrics.worker' })).rejects.toMatchObject({ reason: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    const waiting = peer.request({ tag: 'metrics.worker' });
    child.kill('SIGKILL');
    await expect(waiting).rejects.toMatchObject({ reason: 'gone' });
  }, 20_000);
});
