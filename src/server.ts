import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { buildApp } from './http/app.js';
import { Metrics } from './metrics.js';
import cluster from 'node:cluster';
import { IpcBus } from './cluster/ipc-bus.js';
import { IpcCounterStore } from './cluster/ipc-counter-store.js';
import { openStorage } from './storage/open.js';
import { connectShared } from './storage/redis/connect.js';
import { createServices, type Services } from './services.js';
import { createMailSender } from './mail/create-sender.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly services: Services;
  /** Where it listens, such as http://127.0.0.1:3000 */
  readonly url: string;
  close(): Promise<void>;
}

/** The composition root: configuration → storage → services → HTTP, then listen. */
export async function startServer(config: Config): Promise<RunningServer> {
  const worker = cluster.isWorker;
  const storage = await openStorage(config.databaseUrl);
  // Errors of the shared store are logged once the app's logger exists; until then, to stderr.
  let report = (error: unknown) => console.error('redis:', error instanceof Error ? error.message : error);
  const shared = await connectShared(config.redisUrl, (error) => report(error), config.redisPrefix);
  const metrics = new Metrics();
  // A worker without Redis hears of its siblings' changes through the primary.
  const bus = shared.bus ?? (worker ? new IpcBus() : undefined);
  // ...and counts its rate limits in the primary, with its siblings.
  const counters = shared.counters ?? (worker ? new IpcCounterStore() : undefined);
  let logBackground = (error: unknown) => console.error('gatehouse: email flow failed:', error);
  const services = await createServices(config, storage, { counters, bus, onAuditEvent: metrics.onAuditEvent, onBackgroundError: (error) => logBackground(error) });
  if (worker) metrics.reportToPrimary();
  const app = await buildApp({ services, metrics, logger: { level: config.logLevel } });
  report = throttled((error) => app.log.error({ err: error }, 'redis error'));
  logBackground = (error) => app.log.error({ err: error }, 'email flow failed after the answer');

  // EMAIL-06: every instance sends the outbox; leases keep each message to one sender.
  const mailSender = createMailSender(services, app.log.child({ component: 'mail' }));
  mailSender.start();
  if (!config.mail.smtpUrl) app.log.warn('SMTP_URL is not set: mail stays in the development outbox (gatehouse mail outbox lists it)');

  if (config.bootstrapAdmin) {
    const admin = await services.users.bootstrapAdmin(config.bootstrapAdmin);
    if (admin) app.log.warn({ userId: admin.id, username: admin.username }, 'created the first admin from BOOTSTRAP_ADMIN_*; remove BOOTSTRAP_ADMIN_PASSWORD from the environment now');
  }

  // Rotations made by the CLI or another instance reach this one without a restart.
  const keyReload = setInterval(() => {
    services.reloadKeys().catch((error: unknown) => app.log.error({ err: error }, 'reloading signing keys failed'));
  }, config.keyReloadIntervalMs);
  keyReload.unref();

  // Ended sessions and their refresh-token chains do not pile up; every instance may do it.
  const prune = setInterval(() => {
    services.sessions.prune().catch((error: unknown) => app.log.error({ err: error }, 'pruning ended sessions failed'));
    storage.emailTokens.deleteEndedBefore(services.clock.now() - 86_400_000).catch((error: unknown) => app.log.error({ err: error }, 'pruning email tokens failed'));
  }, 3_600_000);
  prune.unref();

  const url = await app.listen({ port: config.port, host: config.host });
  app.log.info(
    { database: config.databaseUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@'), algorithm: config.jwt.algorithm, signingKid: services.tokens.keyRing.signingKey.kid, redis: config.redisUrl !== null },
    'gatehouse ready',
  );
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(keyReload);
      clearInterval(prune);
      await app.close();
      await services.email.idle();
      await mailSender.stop();
      await shared.close();
      await storage.close();
    })());
  return { app, services, url, close };
}

/** At most one report every 10 s: a Redis outage should not flood the log. */
function throttled(report: (error: unknown) => void): (error: unknown) => void {
  let last = 0;
  return (error) => {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    report(error);
  };
}

/** Stops accepting connections on SIGTERM/SIGINT, lets requests in flight finish, then exits. */
export function closeOnSignals(server: RunningServer, timeoutMs = 10_000): void {
  const stop = (signal: string) => {
    server.app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      server.app.log.error('shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (error) => {
        server.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
