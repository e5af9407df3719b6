import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/index.js';
import { prepareStorage } from '../services.js';
import { openStorageAtStartup } from '../storage/open.js';
import { MemoryCounterStore } from '../storage/memory/counter-store.js';
import { Peer, type Answers } from './peer.js';
import type { Message } from './protocol.js';

const log = (level: 'info' | 'warn' | 'error', msg: string, extra: object = {}) =>
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, role: 'primary', msg, ...extra })}\n`);

/**
 * WORKERS=N: the primary prepares the database once (migrations, first signing key), forks N
 * workers that share the port, replaces a worker that dies, relays invalidations between workers,
 * and on SIGTERM lets every worker finish its requests before exiting.
 */
export async function runPrimary(config: Config): Promise<void> {
  // Waits for the database like a single process would (STARTUP_TIMEOUT), so workers are not
  // forked, and replaced, in a loop while it is away.
  const storage = await openStorageAtStartup(config.databaseUrl, { timeouts: config.timeouts, log: (level, msg, extra) => log(level, msg, extra) });
  try {
    await prepareStorage(config, storage);
  } finally {
    await storage.close();
  }

  // Without Redis, and while it is away, the workers count here, so all of them count once.
  const counters = new MemoryCounterStore();
  const peers = new Map<Worker, Peer>();
  // Workers that serve requests: a scrape asks only them (one still starting has nothing to add, and would not answer).
  const listening = new Set<Worker>();

  // Everything a worker may ask of the primary.
  const answers: Answers = {
    'counter.increment': ({ key, windowMs, now }) => counters.increment(key, windowMs, now),
    'counter.get': ({ key, now }) => counters.get(key, now),
    'counter.delete': async ({ keys }) => (await counters.delete(...keys), null),
    // Metrics of every worker, summed, whichever worker the scrape reached.
    'metrics.cluster': async () => {
      const parts = await Promise.all([...listening].map((worker) => peers.get(worker)!.request({ tag: 'metrics.worker' })));
      return AggregatorRegistry.aggregate(parts).metrics();
    },
  };

  let stopping = false;
  const fork = () => {
    const worker = cluster.fork();
    const peer = new Peer({ send: (message) => sendTo(worker, message), answers });
    // What one worker changed, the others forget.
    peer.onNotice((notice) => {
      for (const [other, theirs] of peers) if (other !== worker) theirs.notify(notice);
    });
    peers.set(worker, peer);
    worker.on('message', (raw: unknown) => peer.receive(raw));
    worker.once('listening', () => listening.add(worker));
    worker.once('exit', () => {
      peers.delete(worker);
      listening.delete(worker);
      peer.close('the worker exited');
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log('error', 'worker died; starting another', { worker: worker.process.pid, code, signal });
    setTimeout(fork, 1000).unref();
  });

  for (let i = 0; i < config.workers; i++) fork();
  log('info', `started ${config.workers} workers`);

  const stop = (signal: string) => {
    stopping = true;
    log('info', 'shutting down', { signal });
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let left = workers.length;
    if (left === 0) process.exit(0);
    for (const worker of workers) {
      worker.once('exit', () => {
        if (--left === 0) process.exit(0);
      });
      worker.process.kill('SIGTERM');
    }
    // Each worker has SHUTDOWN_TIMEOUT to finish its requests and close its storage.
    setTimeout(() => process.exit(1), config.timeouts.shutdownMs + 5000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Sends to a worker unless it is gone; a channel closing meanwhile is not an 'error' that ends the primary. */
function sendTo(worker: Worker, message: Message): boolean {
  if (!worker.isConnected()) return false;
  worker.send(message, undefined, {}, () => {});
  return true;
}
