import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { buildApp } from './http/app.js';
import { redactUrl } from './http/log-redaction.js';
import { Metrics } from './metrics.js';
import cluster from 'node:cluster';
import { IpcBus } from './cluster/ipc-bus.js';
import { IpcCounterStore } from './cluster/ipc-counter-store.js';
import { connectToPrimary } from './cluster/worker.js';
import { openStorageAtStartup, startupLog, type StartupLog } from './storage/open.js';
import { connectShared } from './storage/redis/connect.js';
import { describe, type Circuit } from './storage/circuit.js';
import { UnavailableError } from './core/errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createServices, type Services } from './services.js';
import { createMailSender } from './mail/create-sender.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly services: Services;
  /** Where it listens, such as http://127.0.0.1:3000 */
  readonly url: string;
  /** Graceful: finishes requests in flight within `boundMs` (SHUTDOWN_TIMEOUT), then closes storage. */
  close(boundMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Runs once the app is ready, before it listens (the serve command settles V8's heap there). */
  readonly beforeListen?: () => void;
}

/** The composition root: configuration → storage → services → HTTP, then listen. */
export async function startServer(config: Config, { beforeListen }: StartOptions = {}): Promise<RunningServer> {
  const worker = cluster.isWorker;
  const metrics = new Metrics();
  // Until the app's logger exists, lines go out as JSON by hand.
  let log: StartupLog = startupLog;
  // While start-up retries the database it says so once per attempt; the circuit stays quiet.
  let opened = false;
  const onCircuitChange = circuitLogger((level, msg, extra) => opened && log(level, msg, extra));
  const storage = await openStorageAtStartup(config.databaseUrl, { timeouts: config.timeouts, onCircuitChange });
  opened = true;
  // Errors of the shared store are logged once the app's logger exists; until then, to stderr.
  let report = (error: unknown) => console.error('redis:', error instanceof Error ? error.message : error);
  let reportIpc = (error: unknown) => console.error('cluster:', error instanceof Error ? error.message : error);
  // Without Redis, or while it is away, a worker hears of its siblings' changes through the
  // primary, and counts its rate limits in the primary, with its siblings.
  // The primary asks a worker for its part of a scrape.
  const primary = worker ? connectToPrimary({ 'metrics.worker': () => metrics.registry.getMetricsAsJSON() }) : undefined;
  const ipcBus = primary ? new IpcBus(primary) : undefined;
  const ipcCounters = primary ? new IpcCounterStore(primary, (error) => reportIpc(error)) : undefined;
  const shared = await connectShared(config.redisUrl, (error) => report(error), {
    prefix: config.redisPrefix,
    timeouts: config.timeouts,
    fallbackCounters: ipcCounters,
    fallbackBus: ipcBus,
    onCircuitChange,
  });
  const bus = shared.bus ?? ipcBus;
  const counters = shared.counters ?? ipcCounters;
  let logBackground = (error: unknown) => console.error('gatehouse: email flow failed:', error);
  const services = await createServices(config, storage, {
    counters,
    bus,
    onAuditEvent: metrics.onAuditEvent,
    dependencies: shared.check ? [shared.check] : [],
    onBackgroundError: (error) => logBackground(error),
  });
  metrics.watchCircuits([storage.circuit, ...(shared.circuit ? [shared.circuit] : [])]);
  await services.keys.assertConfiguredAlgorithm();
  if (primary) metrics.aggregateWith(() => primary.request({ tag: 'metrics.cluster' }));
  const app = await buildApp({ services, metrics, logger: { level: config.logLevel } });
  log = (level, msg, extra = {}) => app.log[level](extra, msg);
  report = throttled((error) => app.log.warn({ reason: describe(error) }, 'redis error'));
  reportIpc = throttled((error) => app.log.warn({ reason: describe(error) }, 'the primary did not answer a rate-limit count; this worker counted it alone'));
  const connections = trackConnections(app);
  logBackground = (error) => app.log.error({ err: error }, 'email flow failed after the answer');

  // EMAIL-06: every instance sends the outbox; leases keep each message to one sender.
  const mailSender = createMailSender(services, app.log.child({ component: 'mail' }));
  mailSender.start();
  if (!config.mail.smtpUrl) app.log.warn('SMTP_URL is not set: mail stays in the development outbox (gatehouse mail outbox lists it)');

  if (services.lookAlikeUsers.length > 0) {
    app.log.warn(
      { userIds: services.lookAlikeUsers },
      'these users were stored before look-alike usernames were refused (ID-04) and look like an earlier user; check them for impersonation',
    );
  }

  if (config.bootstrapAdmin) {
    const admin = await services.users.bootstrapAdmin(config.bootstrapAdmin);
    if (admin)
      app.log.warn({ userId: admin.id, username: admin.username }, 'created the first admin from BOOTSTRAP_ADMIN_*; remove BOOTSTRAP_ADMIN_PASSWORD from the environment now');
  }

  // Rotations made by the CLI or another instance reach this one without a restart.
  const keyReload = setInterval(() => {
    services.reloadKeys().catch((error: unknown) => quietWhileAway(error) || app.log.error({ err: error }, 'reloading signing keys failed'));
  }, config.keyReloadIntervalMs);
  keyReload.unref();

  // Ended sessions and their refresh-token chains do not pile up; every instance may do it.
  const prune = setInterval(() => {
    services.sessions.prune().catch((error: unknown) => quietWhileAway(error) || app.log.error({ err: error }, 'pruning ended sessions failed'));
    storage.emailTokens
      .deleteEndedBefore(services.clock.now() - 86_400_000)
      .catch((error: unknown) => quietWhileAway(error) || app.log.error({ err: error }, 'pruning email tokens failed'));
    // Expired second steps and passkey challenges (anyone may ask for options, so they must not pile up).
    storage.challenges.deleteExpired(services.clock.now()).catch((error: unknown) => quietWhileAway(error) || app.log.error({ err: error }, 'pruning sign-in challenges failed'));
    services.oauth.authorization.prune().catch((error: unknown) => quietWhileAway(error) || app.log.error({ err: error }, 'pruning authorization codes failed'));
  }, 3_600_000);
  prune.unref();

  await app.ready();
  beforeListen?.();
  const url = await app.listen({ port: config.port, host: config.host });
  // Slow clients: headers and whole requests are bounded, and answered 408 (see clientErrorHandler).
  app.server.headersTimeout = config.timeouts.requestHeadersMs;
  app.server.requestTimeout = config.timeouts.requestMs;
  app.log.info(
    {
      database: maskDatabaseUrl(config.databaseUrl),
      algorithm: services.tokens.keyRing.signingKey.alg,
      signingKid: services.tokens.keyRing.signingKey.kid,
      redis: config.redisUrl !== null,
    },
    'gatehouse ready',
  );
  let closing: Promise<void> | null = null;
  const release = async () => {
    clearInterval(keyReload);
    clearInterval(prune);
    // A message being sent gets a moment to finish; nothing here may hold the shutdown bound up.
    await mailSender.stop(1_000);
    await shared.close().catch(() => {});
    await storage.close();
  };
  const close = (boundMs = config.timeouts.shutdownMs) =>
    (closing ??= (async () => {
      // Stop accepting; drop idle keep-alive connections and requests still being sent (nothing
      // of theirs has been acted on), and give the requests in flight until the bound.
      const closed = app.close();
      connections.dropIdleAndHalfSent();
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), boundMs).unref());
      if ((await Promise.race([closed.then(() => 'closed' as const), timer])) === 'timeout') {
        const cut = connections.dropAll();
        app.log.error({ cut }, `shutdown bound (SHUTDOWN_TIMEOUT) reached; cut ${cut.length} request(s) in flight`);
        await release();
        throw new ShutdownCut(cut);
      }
      await release();
    })());
  return { app, services, url, close };
}

/** Requests still running when the shutdown bound was reached; storage was closed all the same. */
export class ShutdownCut extends Error {
  constructor(readonly cut: readonly string[]) {
    super(`cut ${cut.length} request(s) at shutdown`);
  }
}

/**
 * Which request each open connection is on, so that shutdown can tell a request in flight (to be
 * finished) from an idle keep-alive connection or a request whose headers or body are still being
 * sent (to be dropped: a slow or stalled client must not hold the shutdown up).
 */
function trackConnections(app: FastifyInstance) {
  const current = new Map<Socket, IncomingMessage | null>();
  app.server.on('connection', (socket: Socket) => {
    current.set(socket, null);
    socket.once('close', () => current.delete(socket));
  });
  app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    current.set(req.socket, req);
    res.once('finish', () => current.has(req.socket) && current.set(req.socket, null));
  });
  const describeRequest = (req: IncomingMessage) => `${req.method} ${req.url?.split('?')[0]}${req.headers['x-request-id'] ? ` (${req.headers['x-request-id']})` : ''}`;
  return {
    dropIdleAndHalfSent(): void {
      for (const [socket, req] of current) if (!req || !req.complete) socket.destroy();
    },
    dropAll(): string[] {
      const cut: string[] = [];
      for (const [socket, req] of current) {
        if (req) cut.push(describeRequest(req));
        socket.destroy();
      }
      return cut;
    },
  };
}

/** Background work failing because the database is away: its circuit has said so already. */
const quietWhileAway = (error: unknown) => error instanceof UnavailableError;

/** One line when a dependency goes away and one when it is back, not one per failed call. */
function circuitLogger(log: StartupLog): (circuit: Circuit) => void {
  const previous = new Map<string, string>();
  return (circuit) => {
    const before = previous.get(circuit.name) ?? 'closed';
    previous.set(circuit.name, circuit.state);
    const fallback = circuit.name === 'redis' ? 'rate limits and invalidations are local until it is back' : 'requests that need it answer 503';
    if (circuit.state === 'open' && before === 'closed') log('error', `${circuit.name} unavailable (${circuit.lastError}); ${fallback}`, { dependency: circuit.name });
    else if (circuit.state === 'closed' && before !== 'closed') log('info', `${circuit.name} is back`, { dependency: circuit.name });
  };
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

/**
 * SIGTERM/SIGINT: stop accepting, finish the requests in flight within SHUTDOWN_TIMEOUT, close
 * storage, exit 0. Past the bound, the requests still running are cut and named in the log,
 * storage is closed all the same, and the exit code is 1.
 */
export function closeOnSignals(server: RunningServer): void {
  const stop = (signal: string) => {
    server.app.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        if (!(error instanceof ShutdownCut)) server.app.log.error({ reason: describe(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** The database URL for the log: a password never, whether in the authority or the query (`?password=`). */
function maskDatabaseUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return redactUrl(parsed.toString());
  } catch {
    return '[unparsable]';
  }
}
