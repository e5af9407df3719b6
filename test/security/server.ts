import { freePort, within } from '../helpers/server.js';
import Database from 'better-sqlite3';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * The attacker's view of Gatehouse: one real server process per test file, on its own SQLite file,
 * driven over HTTP only. The database file is opened read-only to prove that a refused request
 * created or changed no row.
 */

export const ADMIN = { username: 'root', email: 'root@example.com', password: 'bootstrap admin passphrase' } as const;

export interface SecurityServer {
  readonly url: string;
  readonly port: number;
  readonly dbPath: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything the process wrote (JSON log lines at LOG_LEVEL=warn and above). */
  readonly logs: string[];
  stop(): Promise<number | null>;
}

async function spawnOnce(env: Record<string, string>, dbPath: string): Promise<SecurityServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      // The URL the tests reach it at: the issuer and every discovery URL say the same.
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: `sqlite:${dbPath}`,
      // Rate limiting has its own tests (test/http/rate-limit.test.ts); here it would only turn
      // attacks into 429s and hide what the service does with them.
      RATE_LIMIT: 'off',
      LOG_LEVEL: 'warn',
      BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      ...env,
    },
  });
  const logs: string[] = [];
  child.stdout.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Should afterAll never run (a failed hook), the server still goes when the test process does.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  void exited.then(() => process.off('exit', orphanGuard));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  // Bounded polling of /health: at LOG_LEVEL=warn the server does not announce that it listens.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`server exited with ${child.exitCode}:\n${logs.join('')}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) return { url, port, dbPath, child, logs, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`server did not start within 30 s:\n${logs.join('')}`);
}

/** Starts a real server on a fresh temporary SQLite file. */
export async function startSecurityServer(env: Record<string, string> = {}): Promise<SecurityServer & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-security-'));
  const dbPath = join(dir, 'gatehouse.db');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return { ...(await spawnOnce(env, dbPath)), dir };
    } catch (error) {
      lastError = error;
      // Only a lost race for the port is worth another try.
      if (!/EADDRINUSE/.test(String(error))) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

/**
 * One server for the calling test file: started in beforeAll, killed in afterAll. The returned
 * object is filled in once beforeAll has run.
 */
export function useSecurityServer(env: Record<string, string> = {}): { readonly server: SecurityServer } {
  let current: (SecurityServer & { dir: string }) | undefined;
  beforeAll(async () => {
    current = await startSecurityServer(env);
  });
  afterAll(async () => {
    if (current) {
      await current.stop();
      rmSync(current.dir, { recursive: true, force: true });
    }
  });
  return {
    get server(): SecurityServer {
      if (!current) throw new Error('the server is not running (beforeAll has not run)');
      return current;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary response bodies
  readonly json: any;
}

export interface ApiOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** One request with fetch; a JSON body when `body` is given. */
export async function api(server: SecurityServer, method: string, path: string, options: ApiOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const res = await fetch(`${server.url}${path}`, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  /** Flat [name, value, name, value, …] as node:http sends them: repeated names stay repeated. */
  readonly headers?: string[];
  readonly body?: string | Buffer;
  /** socketRequest only: send the body with Transfer-Encoding: chunked (no Content-Length). */
  readonly chunked?: boolean;
}

const rawAgent = new Agent({ keepAlive: true, maxSockets: 8 });

/**
 * A request with node:http, for what fetch will not send: repeated headers, any method (TRACE),
 * bodies with no or any Content-Type. Resolves with the response even when the server closes the
 * connection before the whole body was written (an early 413); rejects only without a response.
 */
export function rawRequest(server: SecurityServer, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers = ['Host', `127.0.0.1:${server.port}`, ...(req.headers ?? [])];
    if (req.body !== undefined) headers.push('Content-Length', String(Buffer.byteLength(req.body)));
    let settled = false;
    const r = httpRequest({ host: '127.0.0.1', port: server.port, method: req.method, path: req.path, headers, agent: rawAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const finish = () => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    r.setTimeout(30_000, () => r.destroy(new Error(`timeout: ${req.method} ${req.path.slice(0, 200)}`)));
    r.on('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    if (req.body !== undefined) r.end(req.body);
    else r.end();
  });
}

/**
 * A request written byte for byte on a fresh TCP connection (`Connection: close`), read until the
 * server closes it. For what even node:http cannot send or survive: header blocks over node's 16 KB
 * limit, and 10 MB bodies.
 *
 * A server that refuses a body by its Content-Length answers before reading it, then closes the
 * connection with the body unread, which resets it; a response still in flight can be lost to that
 * reset. So, like an `Expect: 100-continue` client, the headers go first and the body only if no
 * answer came within a second (bounded wait), in slices with back-pressure, and no more once the
 * server has answered. A connection closed with no response resolves with status 0.
 */
export function socketRequest(server: SecurityServer, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const lines = [`${req.method} ${req.path} HTTP/1.1`, `Host: 127.0.0.1:${server.port}`, 'Connection: close'];
    const headers = req.headers ?? [];
    for (let i = 0; i + 1 < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
    if (req.body !== undefined) lines.push(req.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${Buffer.byteLength(req.body)}`);
    const timer = setTimeout(() => socket.destroy(new Error(`timeout: ${req.method} ${req.path.slice(0, 200)}`)), 30_000);
    let failure: Error | null = null;
    // eslint-disable-next-line prefer-const -- set below, once the handlers that clear it exist
    let early: NodeJS.Timeout | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') failure = error;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(early);
      const raw = Buffer.concat(chunks);
      if (failure && raw.length === 0) return reject(failure);
      resolve(parseResponse(raw));
    });
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (req.body === undefined) return;
    const body = Buffer.from(req.body);
    let offset = 0;
    const pump = () => {
      while (offset < body.length && chunks.length === 0 && !socket.destroyed) {
        const slice = body.subarray(offset, offset + 65_536);
        offset += slice.length;
        const framed = req.chunked ? Buffer.concat([Buffer.from(`${slice.length.toString(16)}\r\n`), slice, Buffer.from(offset >= body.length ? '\r\n0\r\n\r\n' : '\r\n')]) : slice;
        if (!socket.write(framed)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    const start = () => {
      socket.off('data', start);
      clearTimeout(early);
      pump();
    };
    // A chunked body has no length to refuse it by: the server must read it, so it goes at once.
    if (req.chunked) return pump();
    early = setTimeout(start, 1000);
    socket.once('data', start);
  });
}

function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: raw.toString('utf8') };
  const [statusLine = '', ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (String(headers['transfer-encoding']).toLowerCase() === 'chunked') {
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      if (lineEnd < 0) break;
      const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!(size > 0)) break;
      out.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(out);
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: body.toString('utf8') };
}

export function closeRawAgent(): void {
  rawAgent.destroy();
}

export interface Account {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly password: string;
  access: string;
  refresh: string;
}

let counter = 0;

/** Registers a user over HTTP (201 expected) and returns the created user as the API shows it. */
export async function register(server: SecurityServer, user: { username: string; email: string; password: string }): Promise<{ id: string; username: string; role: string }> {
  const res = await api(server, 'POST', '/auth/register', { body: user });
  if (res.status !== 201) throw new Error(`register ${user.username}: ${res.status} ${res.text}`);
  return res.json as { id: string; username: string; role: string };
}

/** Logs in over HTTP (200 expected). */
export async function login(server: SecurityServer, name: string, password: string): Promise<{ access_token: string; refresh_token: string; user: { id: string; role: string } }> {
  const res = await api(server, 'POST', '/auth/login', { body: { login: name, password } });
  if (res.status !== 200) throw new Error(`login ${name}: ${res.status} ${res.text}`);
  return res.json as { access_token: string; refresh_token: string; user: { id: string; role: string } };
}

/** A fresh account with tokens: register, then log in. */
export async function signUp(server: SecurityServer, tag: string): Promise<Account> {
  const suffix = `${++counter}${process.pid % 1000}`;
  const username = `${tag}${suffix}`.toLowerCase().slice(0, 32);
  const email = `${username}@example.com`;
  const password = `${tag} has a long passphrase ${suffix}`;
  const user = await register(server, { username, email, password });
  const tokens = await login(server, username, password);
  return { id: user.id, username, email, password, access: tokens.access_token, refresh: tokens.refresh_token };
}

/** The bootstrap admin's tokens. */
export async function adminLogin(server: SecurityServer): Promise<Account> {
  const tokens = await login(server, ADMIN.username, ADMIN.password);
  return { id: tokens.user.id, username: ADMIN.username, email: ADMIN.email, password: ADMIN.password, access: tokens.access_token, refresh: tokens.refresh_token };
}

// ---------------------------------------------------------------------------------------------
// Row snapshots

export interface Snapshot {
  readonly users: string[];
  readonly items: string[];
  readonly sessions: string[];
}

export type Table = keyof Snapshot;
export const TABLES: readonly Table[] = ['users', 'items', 'sessions'];

/**
 * Every row of users, items and sessions, each as a JSON string, read from the server's own SQLite
 * file through a read-only connection. Equal snapshots: no row created, changed or deleted.
 */
export function snapshot(server: SecurityServer): Snapshot {
  const db = new Database(server.dbPath, { readonly: true, fileMustExist: true });
  try {
    const rows = (table: Table) => (db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all() as unknown[]).map((row) => JSON.stringify(row));
    return { users: rows('users'), items: rows('items'), sessions: rows('sessions') };
  } finally {
    db.close();
  }
}

/** What differs between two snapshots, one line per row, for readable failures. */
export function snapshotDiff(before: Snapshot, after: Snapshot, tables: readonly Table[] = TABLES): string[] {
  const out: string[] = [];
  for (const table of tables) {
    const was = new Set(before[table]);
    const now = new Set(after[table]);
    for (const row of before[table]) if (!now.has(row)) out.push(`${table} - ${row}`);
    for (const row of after[table]) if (!was.has(row)) out.push(`${table} + ${row}`);
  }
  return out;
}

/** Bounded polling: resolves true as soon as `check` does, false after `ms`. */
export async function eventually(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  return (await within(ms, check)) >= 0;
}
