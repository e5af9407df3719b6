import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/index.js';
import { createServices } from '../services.js';
import { openStorageAtStartup } from '../storage/open.js';
import { MemoryCounterStore } from '../storage/memory/counter-store.js';
import { answerCounterRequest } from './ipc-counter-store.js';
import { IPC_TAG } from './ipc-bus.js';

export const METRICS_REQUEST = 'gatehouse:metrics-request';
export const METRICS_REPLY = 'gatehouse:metrics-reply';

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
  const services = await createServices(config, storage);
  // Refused once here rather than by every worker, which would be replaced and refused forever.
  try {
    await services.keys.assertConfiguredAlgorithm();
  } finally {
    await storage.close();
  }

  const aggregator = new AggregatorRegistry();
  // Without Redis the primary keeps the rate-limit counters, so all workers count once.
  const counters = new MemoryCounterStore();
  let stopping = false;
  const fork = () => cluster.fork();

  cluster.on('message', (worker: Worker, raw: { tag?: string; id?: number }) => {
    // Without Redis, and while it is away, workers count here.
    void answerCounterRequest(counters, raw).then((reply) => reply && worker.isConnected() && worker.send(reply));
    if (raw?.tag === IPC_TAG) {
      for (const other of Object.values(cluster.workers ?? {})) if (other && other !== worker) other.send(raw);
    } else if (raw?.tag === METRICS_REQUEST) {
      // Metrics of every worker, summed, whichever worker the scrape reached.
      aggregator.clusterMetrics().then(
        (text) => worker.send({ tag: METRICS_REPLY, id: raw.id, text }),
        (error: unknown) => worker.send({ tag: METRICS_REPLY, id: raw.id, error: String(error) }),
      );
    }
  });
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
