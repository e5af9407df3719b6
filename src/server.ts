import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { buildApp } from './http/app.js';
import { openStorage } from './storage/open.js';
import { createServices, type Services } from './services.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly services: Services;
  /** Where it listens, such as http://127.0.0.1:3000 */
  readonly url: string;
  close(): Promise<void>;
}

/** The composition root: configuration → storage → services → HTTP, then listen. */
export async function startServer(config: Config): Promise<RunningServer> {
  const storage = await openStorage(config.databaseUrl);
  const services = await createServices(config, storage);
  const app = await buildApp({ services, logger: { level: config.logLevel } });

  if (config.bootstrapAdmin) {
    const admin = await services.users.bootstrapAdmin(config.bootstrapAdmin);
    if (admin) app.log.warn({ userId: admin.id, username: admin.username }, 'created the first admin from BOOTSTRAP_ADMIN_*; remove BOOTSTRAP_ADMIN_PASSWORD from the environment now');
  }

  // Rotations made by the CLI or another instance reach this one without a restart.
  const keyReload = setInterval(() => {
    services.reloadKeys().catch((error: unknown) => app.log.error({ err: error }, 'reloading signing keys failed'));
  }, config.keyReloadIntervalMs);
  keyReload.unref();

  const url = await app.listen({ port: config.port, host: config.host });
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(keyReload);
      await app.close();
      await storage.close();
    })());
  return { app, services, url, close };
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
