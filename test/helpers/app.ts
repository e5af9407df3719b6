import type { FastifyInstance, FastifyServerOptions, LightMyRequestResponse } from 'fastify';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { Argon2Params } from '../../src/core/auth/password-hasher.js';
import type { Item, Page, User } from '../../src/core/model.js';
import type { ClientLookup, Storage } from '../../src/core/ports.js';
import { buildApp } from '../../src/http/app.js';
import type { Metrics } from '../../src/metrics.js';
import { createServices, type Services } from '../../src/services.js';
import { openStorage } from '../../src/storage/open.js';
import { TestClock } from './clock.js';

/** Real Argon2id, with parameters small enough that a test suite can log in hundreds of times. */
export const CHEAP_ARGON2: Argon2Params = { memoryCost: 64, timeCost: 1, parallelism: 1 };

export interface TestApp {
  readonly app: FastifyInstance;
  readonly services: Services;
  readonly storage: Storage;
  readonly clock: TestClock;
  readonly config: Config;
  close(): Promise<void>;
}

/**
 * The real application over a real database (in-memory SQLite unless `databaseUrl` says
 * otherwise), with a movable clock and cheap hashing. Requests go through `app.inject()`.
 */
export async function buildTestApp(
  env: Record<string, string> = {},
  options: { storage?: Storage; argon2?: Argon2Params; metrics?: Metrics; clients?: ClientLookup; logger?: FastifyServerOptions['logger'] } = {},
): Promise<TestApp> {
  // Rate limits are off for suites that log in hundreds of times; their own tests switch them on.
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', PUBLIC_URL: 'http://gatehouse.test', RATE_LIMIT: 'off', ...env });
  const clock = new TestClock(Date.now());
  const storage = options.storage ?? (await openStorage(config.databaseUrl));
  const services = await createServices(config, storage, { clock, argon2: options.argon2 ?? CHEAP_ARGON2, onAuditEvent: options.metrics?.onAuditEvent, clients: options.clients });
  const app = await buildApp({ services, metrics: options.metrics, logger: options.logger });
  await app.ready();
  return {
    app,
    services,
    storage,
    clock,
    config,
    close: async () => {
      await app.close();
      // Work started after an answer (forgot-password, sign-in by email) finishes before storage goes.
      await services.email.idle();
      await storage.close();
    },
  };
}

export const PASSWORD = 'correct horse battery staple';

export interface TestUser {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly auth: { authorization: string };
}

let counter = 0;

/** Registers a user over HTTP (or creates an admin through the service) and logs them in. */
export async function signUp(t: TestApp, options: { username?: string; admin?: boolean; password?: string } = {}): Promise<TestUser> {
  const username = options.username ?? `user${++counter}_${randomBytes(3).toString('hex')}`;
  const email = `${username}@example.com`;
  const password = options.password ?? PASSWORD;
  if (options.admin) {
    await t.services.users.create({ username, email, password, role: 'admin' });
  } else {
    const res = await t.app.inject({ method: 'POST', url: '/auth/register', payload: { username, email, password } });
    if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  }
  const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: username, password } });
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`);
  const body = login.json() as { access_token: string; refresh_token?: string; user: { id: string } };
  // In browser mode the refresh token is only in the cookie.
  const refreshToken = body.refresh_token ?? /gatehouse_refresh=([^;]*)/.exec(String(login.headers['set-cookie']))?.[1] ?? '';
  return {
    id: body.user.id,
    username,
    email,
    accessToken: body.access_token,
    refreshToken,
    auth: { authorization: `Bearer ${body.access_token}` },
  };
}

/** Asserts the RFC 9457 shape and returns the body. */
export function problemOf(res: LightMyRequestResponse): { status: number; code: string; detail: string; errors?: { field: string; message: string }[] } {
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${res.headers['content-type']}: ${res.body}`);
  }
  return res.json();
}

/** Every row of a keyset-paginated list, page by page. */
export async function allPages<T>(list: (after: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await list(after);
    out.push(...page.items);
    if (page.next === null) return out;
    after = page.next;
  }
}

/** Every stored user / item, straight from the services (no HTTP view in between). */
export const allUsers = (t: TestApp): Promise<User[]> => allPages((after) => t.services.users.list({ limit: 100, after }));
export const allItems = (t: TestApp): Promise<Item[]> => allPages((after) => t.services.items.list({ limit: 100, after }));

/** The payload of a JWS, unverified: for reading claims a test just received from the service. */
export function claimsOf(token: string): Record<string, unknown> & { auth_time?: number; amr?: string[]; acr?: string } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}
