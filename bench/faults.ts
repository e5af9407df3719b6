/**
 * The fault table of issue 9, measured: how Gatehouse behaves while Postgres or Redis is
 * black-holed or refused (through the tests' TCP proxy), while another process holds the SQLite
 * write lock, on double first starts, and on SIGTERM with a half-sent request. Default deadlines.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test TEST_REDIS_URL=redis://127.0.0.1:6379 \
 *     npx tsx bench/faults.ts [double-start rounds, default 10]
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { FaultProxy } from '../test/helpers/fault-proxy.js';

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const rounds = Number(process.argv[2] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'gh-fault-table-'));
const json = { 'content-type': 'application/json' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const table: [string, string][] = [];
const row = (fault: string, figure: string) => {
  table.push([fault, figure]);
  console.log(`| ${fault} | ${figure} |`);
};

interface Proc {
  url: Promise<string>;
  lines: string[];
  exited: Promise<{ code: number | null; at: number }>;
  kill(signal?: NodeJS.Signals): void;
}
function serve(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], { env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', RATE_LIMIT: 'off', ...env } });
  const lines: string[] = [];
  let resolveUrl: (url: string) => void;
  const url = new Promise<string>((resolve) => (resolveUrl = resolve));
  const take = (d: Buffer) => {
    for (const line of d.toString().split('\n').filter(Boolean)) {
      lines.push(line);
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) resolveUrl(m[1]!);
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  return { url, lines, exited, kill: (signal = 'SIGKILL') => child.exitCode === null && child.kill(signal) };
}
const timed = async (url: string, init: RequestInit = {}, ms = 30_000) => {
  const t = Date.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
    await res.text();
    return { status: res.status, ms: Date.now() - t };
  } catch {
    return { status: 0, ms: Date.now() - t };
  }
};
const pct = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? NaN;
const errorLines = (lines: string[]) => lines.filter((l) => /"level":(50|60)|"level":"error"|^\s+at /.test(l)).length;
const login = (url: string, ms = 30_000) =>
  timed(`${url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 'table', password: 'a fine table passphrase' }) }, ms);

async function withSchema<T>(work: (url: string) => Promise<T>): Promise<T> {
  const schema = `gh_table_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    return await work(`?options=${encodeURIComponent(`-c search_path=${schema}`)}`);
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

async function postgresAway(): Promise<void> {
  const proxy = await FaultProxy.start(databaseUrl);
  await withSchema(async (query) => {
    const p = serve({ DATABASE_URL: proxy.route(databaseUrl) + query });
    const url = await p.url;
    await timed(`${url}/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'table', email: 'table@example.com', password: 'a fine table passphrase' }),
    });
    for (const mode of ['blackhole', 'refuse'] as const) {
      await proxy.set(mode);
      const before = p.lines.length;
      const pending: Promise<{ status: number; ms: number }>[] = [];
      let most = 0;
      const counting = { open: 0 };
      const started = Date.now();
      while (Date.now() - started < 20_000) {
        counting.open++;
        pending.push(login(url, 30_000).finally(() => counting.open--));
        most = Math.max(most, counting.open);
        await sleep(50);
      }
      const ready = await timed(`${url}/ready`, {}, 30_000);
      const health = await timed(`${url}/health`, {}, 5000);
      const results = await Promise.all(pending);
      const statuses = [...new Set(results.map((r) => r.status || 'no answer in 30 s'))].join('/');
      row(
        `Postgres ${mode}: login latency p50 / max, answers (${results.length} over 20 s)`,
        `${pct(
          results.map((r) => r.ms),
          0.5,
        )} ms / ${Math.max(...results.map((r) => r.ms))} ms, ${statuses}, at most ${most} pending`,
      );
      row(`Postgres ${mode}: /ready, /health`, `/ready ${ready.status || 'no answer'} in ${ready.ms} ms; /health ${health.status} in ${health.ms} ms`);
      row(`Postgres ${mode}: error log lines in 20 s`, String(errorLines(p.lines.slice(before))));
      await proxy.set('pass');
      const t = Date.now();
      let back = false;
      while (Date.now() - t < 15_000 && !back) back = (await login(url, 5000)).status === 200;
      row(`Postgres ${mode} → back: first 200 without restart`, back ? `${Date.now() - t} ms` : 'not within 15 s');
    }
    p.kill();
    await p.exited;
  });
  for (const mode of ['refuse', 'blackhole'] as const) {
    await proxy.set(mode);
    const p = serve({ DATABASE_URL: proxy.route(databaseUrl), STARTUP_TIMEOUT: '10s' });
    const t = Date.now();
    const outcome = await Promise.race([
      p.exited.then((e) => `exit ${e.code} after ${((e.at - t) / 1000).toFixed(1)} s`),
      p.url.then(() => 'started'),
      sleep(20_000).then(() => 'still running after 20 s'),
    ]);
    const attempts = p.lines.filter((l) => /attempt \d+/.test(l)).length;
    const stack = p.lines.some((l) => /^\s+at /.test(l));
    row(
      `start with Postgres ${mode} (STARTUP_TIMEOUT 10s)`,
      `${outcome}; ${attempts} attempt lines; ${p.lines.length} lines; stack trace: ${stack ? 'yes' : 'no'}; last: ${(p.lines.at(-1) ?? '(silent)').slice(0, 140)}`,
    );
    p.kill();
    await p.exited;
  }
  await proxy.close();
}

async function redisAway(): Promise<void> {
  const proxy = await FaultProxy.start(redisUrl);
  const p = serve({
    DATABASE_URL: `sqlite:${join(dir, 'redis.db')}`,
    REDIS_URL: proxy.route(redisUrl),
    REDIS_PREFIX: `gh_table_${randomBytes(3).toString('hex')}:`,
    RATE_LIMIT: 'on',
  });
  const url = await p.url;
  await proxy.set('blackhole');
  const attempts: number[] = [];
  const statuses = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const r = await timed(`${url}/oauth/token`, { method: 'POST', headers: json, body: JSON.stringify({ grant_type: 'password', username: `n${i}`, password: 'x' }) }, 70_000);
    attempts.push(r.ms);
    statuses.add(r.status);
    if (r.ms > 20_000) break; // one full stall is enough to measure
  }
  const ready = await timed(`${url}/ready`, {}, 10_000);
  row(
    'Redis blackhole: /oauth/token latency p50 / max',
    `${pct(attempts, 0.5)} ms / ${Math.max(...attempts)} ms over ${attempts.length} attempts, statuses ${[...statuses].join('/')}`,
  );
  row('Redis blackhole: /ready', `${ready.status || 'no answer'} in ${ready.ms} ms`);
  p.kill();
  await p.exited;
  await proxy.set('refuse');
  const q = serve({ DATABASE_URL: `sqlite:${join(dir, 'redis2.db')}`, REDIS_URL: proxy.route(redisUrl), RATE_LIMIT: 'on' });
  const outcome = await Promise.race([
    q.exited.then((e) => `exit ${e.code}: ${q.lines.find((l) => /Connection|redis/i.test(l))?.slice(0, 100) ?? ''}`),
    q.url.then(() => 'starts'),
    sleep(20_000).then(() => 'neither after 20 s'),
  ]);
  let later = '';
  if (outcome === 'starts') {
    await proxy.set('pass');
    const t = Date.now();
    let up = false;
    while (Date.now() - t < 15_000 && !up) {
      const res = await fetch(`${await q.url}/ready`).then((r) => r.json() as Promise<{ checks?: { redis?: string } }>);
      up = res.checks?.redis === 'up';
      if (!up) await sleep(100);
    }
    later = up ? `; Redis in use ${Date.now() - t} ms after it appears` : '; Redis not picked up within 15 s';
  }
  row('Redis absent at start', outcome + later);
  q.kill();
  await q.exited;
  await proxy.close();
}

async function sqliteLock(): Promise<void> {
  const path = join(dir, 'lock.db');
  const p = serve({ DATABASE_URL: `sqlite:${path}` });
  const url = await p.url;
  await timed(`${url}/auth/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ username: 'table', email: 'table@example.com', password: 'a fine table passphrase' }),
  });
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  other.prepare("INSERT INTO settings (name, value) VALUES ('held', 'x')").run();
  const health: number[] = [];
  const writes: Promise<{ status: number; ms: number }>[] = [];
  const t = Date.now();
  let lastWrite = 0;
  while (Date.now() - t < 10_000) {
    if (Date.now() - lastWrite > 250) {
      writes.push(login(url));
      lastWrite = Date.now();
    }
    // A probe every 50 ms, sent whether or not the last one was answered.
    void timed(`${url}/health`, {}, 30_000).then((r) => health.push(r.ms));
    await sleep(50);
  }
  other.exec('COMMIT');
  other.close();
  await sleep(200);
  const w = await Promise.all(writes);
  row('SQLite lock held 10 s by another connection: /health p50 / p95', `${pct(health, 0.5)} ms / ${pct(health, 0.95)} ms (${health.length} probes)`);
  row('SQLite lock held 10 s: logins during it', [...new Set(w.map((r) => r.status))].join('/') + ` (max ${Math.max(...w.map((r) => r.ms))} ms)`);
  p.kill();
  await p.exited;
}

async function doubleStarts(): Promise<void> {
  let died = 0;
  let twoKeys = 0;
  let refused = 0;
  for (let i = 0; i < rounds; i++) {
    const path = join(dir, `double-${i}.db`);
    const [a, b] = [serve({ DATABASE_URL: `sqlite:${path}` }), serve({ DATABASE_URL: `sqlite:${path}` })];
    const urls = await Promise.all([a, b].map((s) => Promise.race([s.url, s.exited.then(() => null), sleep(30_000).then(() => null)])));
    if (urls.includes(null)) died++;
    const db = new Database(path, { readonly: true });
    if ((db.prepare('SELECT COUNT(*) AS n FROM signing_keys').get() as { n: number }).n > 1) twoKeys++;
    db.close();
    if (urls[0] && urls[1]) {
      await timed(`${urls[0]}/auth/register`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ username: 'table', email: 'table@example.com', password: 'a fine table passphrase' }),
      });
      const token = await fetch(`${urls[0]}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 'table', password: 'a fine table passphrase' }) })
        .then((r) => r.json() as Promise<{ access_token: string }>)
        .then((j) => j.access_token);
      if ((await fetch(`${urls[1]}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status !== 200) refused++;
    }
    a.kill();
    b.kill();
    await Promise.all([a.exited, b.exited]);
  }
  row(`double first starts on one SQLite file (${rounds})`, `${died} died, ${twoKeys} with two keys, ${refused} where B refused A's token`);
}

async function sigterm(): Promise<void> {
  const p = serve({ DATABASE_URL: `sqlite:${join(dir, 'term.db')}` });
  const url = new URL(await p.url);
  const socket = connect(Number(url.port), '127.0.0.1');
  socket.on('error', () => {});
  socket.write('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"lo');
  await sleep(300);
  const t = Date.now();
  p.kill('SIGTERM');
  const e = await Promise.race([p.exited, sleep(30_000).then(() => ({ code: 'none', at: Date.now() }))]);
  row('SIGTERM with a half-sent request', `exit ${e.code} after ${((e.at - t) / 1000).toFixed(1)} s`);
  socket.destroy();
  p.kill();
}

try {
  console.log('| fault | figure |\n|---|---|');
  // FAULTS=postgres,redis,sqlite,double,sigterm picks some; all by default.
  const only = new Set((process.env.FAULTS ?? 'postgres,redis,sqlite,double,sigterm').split(','));
  if (only.has('postgres')) await postgresAway();
  if (only.has('redis')) await redisAway();
  if (only.has('sqlite')) await sqliteLock();
  if (only.has('double')) await doubleStarts();
  if (only.has('sigterm')) await sigterm();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
