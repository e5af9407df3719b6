import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServerProcess, type ServerProcess } from '../../../test/helpers/server.js';

export const PACKAGE_DIR = join(import.meta.dirname, '..');
export const PASSWORD = 'correct horse battery staple';
const ADMIN = { username: 'client_admin', email: 'client_admin@example.com', password: PASSWORD };

/** Compiles the package as `npm run build` does, into `outDir` (tests never write the real dist/). */
export async function buildClient(outDir: string): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(PACKAGE_DIR, 'tsconfig.build.json'), '--outDir', outDir]);
}

export interface LiveGatehouse {
  readonly server: ServerProcess;
  readonly url: string;
  readonly dir: string;
  /** Successful POST /auth/refresh answers so far, as the server counts them (its /metrics). */
  refreshes(): Promise<number>;
  /** Answers of one route and status so far, from /metrics. */
  answers(method: string, route: string, status: number): Promise<number>;
  /** Audit events of one type (`refresh.reused`, `refresh.retried`, ...), read as the admin. */
  audited(type: string): Promise<number>;
  stop(): Promise<void>;
}

/** The real service as a child process on a SQLite file, with an admin who can read the audit log. */
export async function startGatehouse(env: Record<string, string>): Promise<LiveGatehouse> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-client-'));
  const server = await startServerProcess({
    DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`,
    RATE_LIMIT: 'off',
    BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
    BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    ...env,
  });
  const url = server.url;
  const answers = async (method: string, route: string, status: number) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('gatehouse_http_requests_total{') && l.includes(`method="${method}"`) && l.includes(`route="${route}"`) && l.includes(`status="${status}"`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  return {
    server,
    url,
    dir,
    answers,
    refreshes: () => answers('POST', '/auth/refresh', 200),
    async audited(type) {
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: ADMIN.username, password: ADMIN.password }),
      });
      const { access_token } = (await login.json()) as { access_token: string };
      const res = await fetch(`${url}/admin/audit?type=${encodeURIComponent(type)}&limit=100`, { headers: { authorization: `Bearer ${access_token}` } });
      if (res.status !== 200) throw new Error(`/admin/audit answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { items: unknown[] }).items.length;
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A fresh account on the service, created over HTTP. */
export async function newAccount(url: string): Promise<{ username: string; email: string; password: string }> {
  const username = `client${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const account = { username, email: `${username}@example.com`, password: PASSWORD };
  const res = await fetch(`${url}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(account) });
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${await res.text()}`);
  return account;
}

/** A fetch that records what it was asked to do, for counting refreshes on the client side. */
export function recordingFetch(): { fetch: typeof fetch; calls: { method: string; path: string; status: number }[] } {
  const calls: { method: string; path: string; status: number }[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const res = await fetch(request);
      calls.push({ method: request.method, path: new URL(request.url).pathname, status: res.status });
      return res;
    },
  };
}
