// Gatehouse benchmark: every measured route of Gatehouse against a floor server doing the least
// work that route can do, in one run, so the figures are ratios that survive a change of hardware
// (and a busy machine) rather than absolute numbers that do not.
//
//   npm run bench                      (builds dist/ first)
//   BENCH_DURATION=4 npm run bench     (a quick look)
//
// Env: BENCH_DURATION  measured seconds per route (default 8)
//      BENCH_ROUNDS    each route's measured time is split into this many rounds, alternating
//                      with the servers it is compared with (its floor, the hello of its target,
//                      the raw Argon2id rate for logins), so a noisy second lands on all (default 4)
//      BENCH_SESSIONS  live sessions for the memory figure (default 100000)
//      BENCH_ONLY      while iterating: only these GET groups, no POST routes, no sessions
//                      (comma-separated from hello, me, item, user, list, health)
//
// Servers: bench/floor-server.mjs (node:http floors + Fastify's hello) and Gatehouse as one
// process (WORKERS=1) on its own temporary SQLite file. See bench/README.md.
//
// Exit codes: 0 ok (whatever the targets say); 1 a server failed to start or the run failed;
//             3 results written, but a row answered non-2xx or had socket errors, so its
//               figures measure error responses, not the route.

import { expectStatus, jsonRequest } from './lib/http.mjs';
import { Supervisor } from './lib/supervisor.mjs';
import { measureSecondFactors } from './lib/mfa.mjs';
import { hash as argon2Hash } from '@node-rs/argon2';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(benchDir, '..');
const gatehouseMain = path.join(repoDir, 'dist', 'cli', 'main.js');
const resultsFile = path.join(benchDir, 'results', 'latest.json');

const DURATION = positive('BENCH_DURATION', 8);
const ROUNDS = Math.max(1, Math.floor(positive('BENCH_ROUNDS', 4)));
const SESSIONS = Math.floor(positive('BENCH_SESSIONS', 100_000));
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
// Seconds per route, discarded: lets V8 optimise the hot paths first. Measured on fresh Gatehouse
// processes in 2 s rounds: the first 2 s after a 2 s warm-up were 3-15% below every later round.
const WARMUP = 4;
// The POST routes run at a few hundred to a few thousand req/s: 2 s is not enough calls for V8 to
// have optimised a refresh (it costs twice as much in its first ~1,500 calls).
const POST_WARMUP = 5;
const START_TIMEOUT_MS = 30_000;
const GET_CONNECTIONS = 50;
const POST_CONNECTIONS = 20;
// Argon2id is slow on purpose: more connections would only queue, not add throughput.
const LOGIN_CONNECTIONS = 10;
const PASSWORD = 'bench-Password-123!';
// Gatehouse's production parameters (src/core/auth/password-hasher.ts, OWASP's Argon2id).
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
// Gatehouse hashes at most (cores - 1) passwords at once, keeping a core for every other request.
const HASH_SLOTS = Math.max(1, os.availableParallelism() - 1);
// Keycloak's sizing guide ("Concepts for sizing CPU and memory resources", Keycloak 26).
const KEYCLOAK = { loginsPerVcpu: 15, refreshPerVcpu: 120, baseMb: 1250, hash: 'PBKDF2-SHA512, 210,000 iterations' };

// The issue's targets. Measurements: printed as PASS/MISS, never an exit code.
const TARGETS = { singleVsFloor: 1.3, singleVsHello: 0.45, listVsFloor: 0.8, healthVsFastify: 0.6, refreshVsFloor: 0.85, loginVsArgon2: 0.9, getP99Ms: 10 };

const HOST = '127.0.0.1';
const runId = crypto.randomBytes(6).toString('hex');
const gatehouseDb = path.join(os.tmpdir(), `gatehouse-bench-${runId}.db`);
const floorDb = path.join(os.tmpdir(), `gatehouse-floor-${runId}.db`);

function positive(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return n;
}

const log = (msg) => console.error(`[bench] ${msg}`);
const fmt = (n, digits = 0) => (n == null || Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

// --- child processes and cleanup -----------------------------------------

const supervisor = new Supervisor(repoDir);
const cleanup = () => supervisor.stopAll([gatehouseDb, floorDb]);

async function abort(code, message) {
  if (message) console.error(`[bench] ${message}`);
  await cleanup();
  process.exit(code);
}
process.on('SIGINT', () => abort(130, 'interrupted'));
process.on('SIGTERM', () => abort(143, 'terminated'));
process.on('unhandledRejection', (err) => abort(1, `unexpected error: ${err?.stack ?? err}`));

// Bounds the whole run even if something stalls in a way nothing else catches: 22 load tests,
// the Argon2id rate, the session fill, with slack for a loaded machine.
const watchdog = setTimeout(() => abort(1, 'run exceeded its time budget; aborting'), 2 * START_TIMEOUT_MS + (22 * (POST_WARMUP + DURATION + 5) + 2 * DURATION + 300) * 2000);
watchdog.unref();

// The floor picks its own ports (listen on 0) and reports them with a token signed by its
// per-start secret, so there is no port race and no shared secret.
function startFloor() {
  const entry = supervisor.start('floor server', [path.join(benchDir, 'floor-server.mjs')], {
    env: { ...process.env, FLOOR_DB: floorDb },
    // The IPC channel lets the floor exit by itself if this process is killed hard.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`floor server not ready after ${START_TIMEOUT_MS / 1000} s\n${entry.output.text()}`)), START_TIMEOUT_MS);
    entry.child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`floor server exited during start (code ${code})\n${entry.output.text()}`));
    });
    entry.child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const match = /^READY (\d+) (\d+) (\S+) (\S+)$/m.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolve({ base: `http://${HOST}:${match[1]}`, fastify: `http://${HOST}:${match[2]}`, token: match[3], otherUserId: match[4], pid: entry.child.pid });
      }
    });
  });
}

// --- a process's resources (Linux /proc) ------------------------------------------

function rssMb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null; // no /proc (not Linux) or the process is gone
  }
}

/** CPU seconds (user + system, all threads: Argon2id's pool included) the process has used. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

// --- load tests -------------------------------------------------------------

async function measure(target, seconds) {
  // Set-up first (the refresh chains' logins), so its CPU is not counted with the measured run's.
  await target.prepare?.();
  const cpuBefore = target.pid ? cpuSeconds(target.pid) : null;
  const raw = await supervisor.load({ ...target, prepare: undefined }, seconds);
  const cpuAfter = target.pid ? cpuSeconds(target.pid) : null;
  raw.cpuSeconds = cpuBefore != null && cpuAfter != null ? cpuAfter - cpuBefore : null;
  return raw;
}

function summarise(target, raws) {
  const agg = autocannon.aggregateResult(raws, { url: target.base + target.path, connections: target.connections });
  const completed = raws.reduce((n, r) => n + r.totalCompletedRequests, 0);
  const seconds = raws.reduce((n, r) => n + r.duration, 0);
  const cpu = raws.every((r) => r.cpuSeconds != null) ? raws.reduce((n, r) => n + r.cpuSeconds, 0) : null;
  return {
    key: target.key,
    route: target.label ?? `${target.method ?? 'GET'} ${target.path}`,
    server: target.server,
    connections: target.connections,
    measured_seconds: Math.round(seconds * 100) / 100,
    requests: completed,
    // Completed requests over wall time: the mean rate over all rounds.
    requests_per_sec: seconds > 0 ? completed / seconds : 0,
    // Requests per CPU-second of the server process: the unit of a sizing guide's "per vCPU".
    requests_per_cpu_second: cpu ? completed / cpu : null,
    latency_p50_ms: agg.latency.p50,
    latency_p99_ms: agg.latency.p99,
    non_2xx: agg.non2xx,
    errors: agg.errors,
    timeouts: agg.timeouts,
    status_codes: Object.fromEntries(Object.entries(agg.statusCodeStats).map(([code, s]) => [code, s.count])),
    ...target.extra?.(),
  };
}

// POST /auth/refresh rotates the token: each response carries the successor, and replaying the old
// one later revokes the session. So each connection keeps a chain of its own and always sends the
// newest token of it. autocannon resets a connection's context after each request here, so the
// chains live in `pool`, a stack of current tokens: setupRequest pops one, onResponse pushes the
// successor. Each autocannon run gets fresh chains: requests in flight when a run stops have rotated
// their token without us seeing the successor.
function refreshChains(base, newChain) {
  let pool = [];
  const stats = { withoutChain: 0, repeated: 0 };
  let seen = new Set();
  return {
    async prepare() {
      const tokens = [];
      let next = 0;
      // Four at a time: Gatehouse's chains start with an Argon2id login each.
      const worker = async () => {
        while (next++ < POST_CONNECTIONS) tokens.push(await newChain());
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      pool = tokens;
      seen = new Set(tokens);
      stats.withoutChain = 0;
      stats.repeated = 0;
    },
    requests: () => [
      {
        method: 'POST',
        path: '/auth/refresh',
        setupRequest(req, context) {
          let token = pool.pop();
          if (token === undefined) {
            // A chain was lost (a timeout): send a token that cannot work, so the row is flagged.
            stats.withoutChain++;
            token = 'bench-chain-lost';
          }
          context.token = token;
          return { ...req, body: JSON.stringify({ refresh_token: token }) };
        },
        onResponse(status, body, context) {
          const sent = context.token;
          if (sent === undefined || sent === 'bench-chain-lost') return;
          let successor;
          if (status === 200) {
            try {
              successor = JSON.parse(body).refresh_token;
            } catch {
              /* not JSON: no successor */
            }
          }
          if (typeof successor === 'string') {
            // A successor seen twice was answered from the grace window, not by a rotation.
            if (seen.has(successor)) stats.repeated++;
            seen.add(successor);
            pool.push(successor);
          } else {
            pool.push(sent);
          }
        },
      },
    ],
    extra: () => ({ refresh_requests_without_chain: stats.withoutChain, refresh_repeated_tokens: stats.repeated }),
  };
}

// The raw Argon2id rate: `slots` threads in this process, each verifying back to back (the
// library's synchronous call in a loop: no event loop, no message between two hashes), with
// Gatehouse's parameters and the same library. Nothing else runs during it. The library's async
// call, one at a time, does 5-10% fewer: each hash ends on the event loop before the next starts.
const ARGON2_LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const argon2 = require(workerData.library);
const until = performance.now() + workerData.seconds * 1000;
let done = 0;
while (performance.now() < until) {
  if (!argon2.verifySync(workerData.stored, workerData.password)) throw new Error('argon2 verify failed');
  done++;
}
parentPort.postMessage(done);
`;

async function argon2Rate(slots, seconds) {
  const stored = await argon2Hash(PASSWORD, ARGON2);
  const library = createRequire(import.meta.url).resolve('@node-rs/argon2');
  const cpuBefore = process.cpuUsage();
  const counts = await Promise.all(
    Array.from(
      { length: slots },
      () =>
        new Promise((resolve, reject) => {
          const thread = new Worker(ARGON2_LOOP, { eval: true, workerData: { library, stored, password: PASSWORD, seconds } });
          thread.once('message', resolve);
          thread.once('error', reject);
        }),
    ),
  );
  const cpu = process.cpuUsage(cpuBefore);
  // Per CPU-second too (this process's threads, the hashing threads included), like Gatehouse's row.
  return rate(
    counts.reduce((a, b) => a + b, 0),
    seconds,
    (cpu.user + cpu.system) / 1e6,
  );
}

const rate = (done, seconds, cpuSeconds) => ({ done, seconds, cpuSeconds, perSecond: done / seconds, perCpuSecond: done / cpuSeconds });

/** One rate from several rounds' (all their verifications over all their time). */
function combineRates(rounds) {
  const sum = (field) => rounds.reduce((n, r) => n + r[field], 0);
  return rate(sum('done'), sum('seconds'), sum('cpuSeconds'));
}

// --- live sessions ----------------------------------------------------------------

/**
 * Puts `count` live sessions (10 per user) into Gatehouse's database, then sends one GET /auth/me
 * with an access token of each, so each is verified and looked up once and the caches are at their
 * working size. The tokens are signed with Gatehouse's own active key (read from its database,
 * which this run created), because logging in 100,000 times would take Argon2id half an hour.
 */
async function fillSessions(gatehouse, realToken, count) {
  const db = new Database(gatehouseDb);
  db.pragma('busy_timeout = 10000');
  const key = db.prepare("SELECT kid, private_key_pem FROM signing_keys WHERE status = 'active' ORDER BY created_at DESC LIMIT 1").get();
  const privateKey = crypto.createPrivateKey(key.private_key_pem);
  const template = JSON.parse(Buffer.from(realToken.split('.')[1], 'base64url').toString());
  const header = Buffer.from(JSON.stringify({ typ: 'at+jwt', alg: 'EdDSA', kid: key.kid })).toString('base64url');
  const now = Date.now();
  const tokens = [];
  const insertUser = db.prepare(
    "INSERT INTO users (id, username, email, name, role, disabled, password_hash, created_at, updated_at) VALUES (?, ?, ?, NULL, 'user', 0, '$argon2id$bench', ?, ?)",
  );
  const insertSession = db.prepare(
    'INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip, refresh_id, rotated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, NULL)',
  );
  const insertRefresh = db.prepare('INSERT INTO refresh_tokens (id, session_id, secret_hash, parent_id, created_at) VALUES (?, ?, ?, NULL, ?)');
  db.transaction(() => {
    let userId = null;
    for (let i = 0; i < count; i++) {
      if (i % 10 === 0) {
        userId = crypto.randomUUID();
        insertUser.run(userId, `live${i}x${runId}`, `live${i}x${runId}@example.com`, now, now);
      }
      const sessionId = crypto.randomUUID();
      const refreshId = crypto.randomBytes(16).toString('base64url');
      insertSession.run(sessionId, userId, now, now, now + 30 * 86_400_000, 'bench', '127.0.0.1', refreshId);
      insertRefresh.run(refreshId, sessionId, crypto.createHash('sha256').update(crypto.randomBytes(32)).digest('base64url'), now);
      const iat = Math.floor(now / 1000);
      const claims = { iss: template.iss, aud: template.aud, sub: userId, iat, exp: iat + 3600, jti: crypto.randomBytes(16).toString('base64url'), sid: sessionId, role: 'user' };
      const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      tokens.push(`${input}.${crypto.sign(null, Buffer.from(input), privateKey).toString('base64url')}`);
    }
  })();
  db.close();
  let next = 0;
  const raw = await supervisor.load({
    base: gatehouse.base,
    path: '/auth/me',
    connections: GET_CONNECTIONS,
    amount: count,
    requests: () => [{ method: 'GET', path: '/auth/me', setupRequest: (req) => ({ ...req, headers: { authorization: `Bearer ${tokens[next++ % count]}` } }) }],
  });
  return { sessions: count, requests: raw.totalCompletedRequests, non_2xx: raw.non2xx, errors: raw.errors };
}

// --- output -------------------------------------------------------------------

function printTable(rows) {
  const head = ['route', 'server', 'conns', 'req/s', 'p99 ms', 'non-2xx', 'errors', 'reference', 'ratio', 'req/CPU-s', 'ratio'];
  const lines = rows.map((r) => [
    r.route,
    r.server,
    String(r.connections),
    fmt(r.requests_per_sec),
    fmt(r.latency_p99_ms, 1),
    String(r.non_2xx),
    String(r.errors + r.timeouts),
    r.reference ?? '',
    r.ratio == null ? '' : `${fmt(r.ratio, 3)}x`,
    fmt(r.requests_per_cpu_second),
    r.cpu_ratio == null ? '' : `${fmt(r.cpu_ratio, 3)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const right = new Set([2, 3, 4, 5, 6, 8, 9, 10]);
  const render = (cells) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(render(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(render(l));
}

function printTargets(checks) {
  console.log('\nTargets (measurements: PASS/MISS never changes the exit code):');
  const width = Math.max(...checks.map((c) => c.label.length));
  for (const c of checks) {
    const mark = c.pass == null ? 'n/a ' : c.pass ? 'PASS' : 'MISS';
    const value = c.value == null ? '-' : c.unit === 'x' ? `${fmt(c.value, 3)}x` : `${fmt(c.value, 1)} ${c.unit}`;
    console.log(`  ${mark}  ${c.label.padEnd(width)}  ${value.padStart(10)}  (target ${c.op} ${c.threshold}${c.unit === 'x' ? 'x' : ` ${c.unit}`})`);
  }
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

// --- main -------------------------------------------------------------------

async function main() {
  log(
    `duration ${DURATION} s per route (in ${ROUNDS} rounds, alternating with its references), warm-up ${WARMUP} s per route; load average ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  const floor = await startFloor();
  log(`floor on ${floor.base}, Fastify hello on ${floor.fastify}`);
  const started = await supervisor.startGatehouse({ name: 'Gatehouse', main: gatehouseMain, host: HOST, db: gatehouseDb, workers: 1, timeoutMs: START_TIMEOUT_MS });
  const gatehouse = { base: started.base, pid: started.entry.child.pid };
  log(`Gatehouse (pid ${gatehouse.pid}) on ${gatehouse.base}`);

  // A user of Gatehouse, its tokens, another user to read and an item to read.
  const login = `bench${runId}`;
  await expectStatus(
    'register',
    jsonRequest(`${gatehouse.base}/auth/register`, { method: 'POST', body: { username: login, email: `${login}@example.com`, password: PASSWORD, name: 'Bench User' } }),
    201,
  );
  const other = await expectStatus(
    'register',
    jsonRequest(`${gatehouse.base}/auth/register`, { method: 'POST', body: { username: `other${runId}`, email: `other${runId}@example.com`, password: PASSWORD } }),
    201,
  );
  const tokens = await expectStatus('login', jsonRequest(`${gatehouse.base}/auth/login`, { method: 'POST', body: { login, password: PASSWORD } }), 200);
  // 25 users in all, so the 20-row page is full, as the floor's is.
  for (let i = 0; i < 23; i++) {
    await expectStatus(
      'register',
      jsonRequest(`${gatehouse.base}/auth/register`, { method: 'POST', body: { username: `z${i}${runId}`, email: `z${i}${runId}@example.com`, password: PASSWORD } }),
      201,
    );
  }
  await expectStatus(
    'create item',
    jsonRequest(`${gatehouse.base}/items`, { method: 'POST', token: tokens.access_token, body: { name: 'lamp', price: 9.99, description: 'a lamp' } }),
    201,
  );
  const auth = { authorization: `Bearer ${tokens.access_token}` };
  // A machine client for the client_credentials row, written straight into the database (this run
  // made it): registering it needs an admin, and only the secret's SHA-256 is stored anyway.
  const machineSecret = crypto.randomBytes(32).toString('base64url');
  const machineId = `bench-job-${runId}`;
  {
    const db = new Database(gatehouseDb);
    db.pragma('busy_timeout = 10000');
    db.prepare(
      `INSERT INTO oauth_clients (id, name, type, first_party, grant_types, scopes, secret_hashes, redirect_uris, post_logout_redirect_uris, created_at, updated_at)
       VALUES (?, 'Bench job', 'confidential', 0, '["client_credentials"]', '["invoices.read"]', ?, '[]', '[]', ?, ?)`,
    ).run(machineId, JSON.stringify([crypto.createHash('sha256').update(machineSecret).digest('base64url')]), Date.now(), Date.now());
    db.close();
  }
  const machineAuth = { authorization: `Basic ${Buffer.from(`${machineId}:${machineSecret}`).toString('base64')}` };
  const floorAuth = { authorization: `Bearer ${floor.token}` };

  const gate = (key, path, extra = {}) => ({
    key: `gatehouse ${key}`,
    server: 'gatehouse',
    base: gatehouse.base,
    pid: gatehouse.pid,
    path,
    connections: GET_CONNECTIONS,
    headers: auth,
    ...extra,
  });
  const flr = (key, path, extra = {}) => ({
    key: `floor ${key}`,
    server: 'floor',
    base: floor.base,
    pid: floor.pid,
    path,
    connections: GET_CONNECTIONS,
    headers: floorAuth,
    ...extra,
  });
  const nodeHello = { key: 'node hello', server: 'node:http hello', base: floor.base, pid: floor.pid, path: '/hello', connections: GET_CONNECTIONS };
  const fastifyHello = { key: 'fastify hello', server: 'fastify hello', base: floor.fastify, pid: floor.pid, path: '/hello', connections: GET_CONNECTIONS };
  // A reference measured again in the rounds of the route compared with it: this machine's speed
  // can change by half within a run, and a reference measured minutes earlier would carry that.
  const beside = (t, name) => ({ ...t, key: `${t.key} beside ${name}`, server: `${t.server} (beside)` });
  // Each GET group: Gatehouse's route, its floor (the same route on the floor server), and the
  // hello its target compares it with, measured in alternating rounds.
  const getGroups = [
    ['hello', nodeHello, fastifyHello],
    ['me', flr('me', '/auth/me'), gate('me', '/auth/me'), beside(nodeHello, 'me')],
    ['item', flr('item', '/items/lamp'), gate('item', '/items/lamp'), beside(nodeHello, 'item')],
    ['user', flr('user', `/users/${floor.otherUserId}`, { label: 'GET /users/:id' }), gate('user', `/users/${other.id}`, { label: 'GET /users/:id' }), beside(nodeHello, 'user')],
    ['list', flr('list', '/users?limit=20'), gate('list', '/users?limit=20')],
    ['health', beside(fastifyHello, 'health'), gate('health', '/health', { headers: undefined })],
  ];
  for (const [, ...group] of getGroups) {
    for (const t of group) {
      const res = await jsonRequest(t.base + t.path, { token: t.headers?.authorization?.slice(7) });
      if (res.status !== 200) throw new Error(`${t.server} GET ${t.path}: expected 200, got ${res.status}: ${res.text.slice(0, 300)}`);
    }
  }

  const raws = new Map();
  const row = new Map();
  const record = (t, raw) => raws.set(t, [...(raws.get(t) ?? []), raw]);
  // Every target of a group warms up, then the group's measured time is split into rounds, the
  // order reversed each round, so a noisy second lands on all of them alike.
  const alternate = async (name, group, warmup = WARMUP, measureRound = (t, seconds) => measure(t, seconds)) => {
    log(`${name}: warm-up`);
    for (const t of group) await (t.warm ? t.warm(warmup) : supervisor.load(t, warmup));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of round % 2 ? group : [...group].reverse()) {
        log(`${name}: round ${round}/${ROUNDS}, ${t.server} ${t.method ?? 'GET'} ${t.path}`);
        const raw = await measureRound(t, DURATION / ROUNDS);
        if (raw) record(t, raw);
      }
    }
  };
  for (const [name, ...group] of getGroups) {
    if (ONLY && !ONLY.has(name)) continue;
    await alternate(`GET ${name}`, group);
  }

  if (ONLY) {
    for (const [t, r] of raws) {
      const s = summarise(t, r);
      console.log(
        `${s.route.padEnd(20)} ${s.server.padEnd(16)} ${fmt(s.requests_per_sec).padStart(8)} req/s  p99 ${fmt(s.latency_p99_ms, 1)} ms  non-2xx ${s.non_2xx}  ${fmt(s.requests_per_cpu_second)} req/CPU-s`,
      );
    }
    return 0;
  }

  // POST routes: floor, then Gatehouse, each after a warm-up of its own.
  const json = { 'content-type': 'application/json' };
  let itemCounter = 0;
  const itemRequests = () => [{ method: 'POST', path: '/items', setupRequest: (req) => ({ ...req, body: JSON.stringify({ name: `bench-${itemCounter++}`, price: 9.99 }) }) }];
  const floorChains = refreshChains(
    floor.base,
    async () => (await expectStatus('floor session', jsonRequest(`${floor.base}/floor/session`, { method: 'POST', body: {} }), 200)).refresh_token,
  );
  const gateChains = refreshChains(
    gatehouse.base,
    async () =>
      (await expectStatus('login for a refresh chain', jsonRequest(`${gatehouse.base}/auth/login`, { method: 'POST', body: { login, password: PASSWORD } }), 200)).refresh_token,
  );
  const postPairs = [
    [
      'refresh',
      {
        key: 'floor refresh',
        server: 'floor',
        base: floor.base,
        pid: floor.pid,
        path: '/auth/refresh',
        method: 'POST',
        connections: POST_CONNECTIONS,
        headers: json,
        prepare: floorChains.prepare,
        requests: floorChains.requests,
        extra: floorChains.extra,
      },
      {
        key: 'gatehouse refresh',
        server: 'gatehouse',
        base: gatehouse.base,
        pid: gatehouse.pid,
        path: '/auth/refresh',
        method: 'POST',
        connections: POST_CONNECTIONS,
        headers: json,
        prepare: gateChains.prepare,
        requests: gateChains.requests,
        extra: gateChains.extra,
      },
    ],
    [
      'items',
      {
        key: 'floor items',
        server: 'floor',
        base: floor.base,
        pid: floor.pid,
        path: '/items',
        method: 'POST',
        connections: POST_CONNECTIONS,
        headers: { ...json, ...floorAuth },
        requests: itemRequests,
      },
      {
        key: 'gatehouse items',
        server: 'gatehouse',
        base: gatehouse.base,
        pid: gatehouse.pid,
        path: '/items',
        method: 'POST',
        connections: POST_CONNECTIONS,
        headers: { ...json, ...auth },
        requests: itemRequests,
      },
    ],
    [
      'client_credentials',
      null,
      {
        key: 'gatehouse client_credentials',
        server: 'gatehouse',
        base: gatehouse.base,
        pid: gatehouse.pid,
        path: '/oauth/token',
        label: 'POST /oauth/token (client_credentials)',
        method: 'POST',
        connections: POST_CONNECTIONS,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...machineAuth },
        body: 'grant_type=client_credentials&scope=invoices.read',
      },
    ],
  ];
  const loginTarget = {
    key: 'gatehouse login',
    server: 'gatehouse',
    base: gatehouse.base,
    pid: gatehouse.pid,
    path: '/auth/login',
    method: 'POST',
    connections: LOGIN_CONNECTIONS,
    headers: json,
    body: JSON.stringify({ login, password: PASSWORD }),
  };
  for (const [name, ...group] of postPairs) await alternate(`POST ${name}`, group.filter(Boolean), POST_WARMUP);

  // Logins alternate with the raw Argon2id rate they are compared with (in this process).
  const argon2Rounds = [];
  const argon2Target = { server: 'raw Argon2id', method: 'verify', path: `(${HASH_SLOTS} at a time, in process)`, warm: (seconds) => argon2Rate(HASH_SLOTS, seconds) };
  log(`raw Argon2id rate: ${HASH_SLOTS} at a time (Gatehouse's hashing slots), in rounds with the logins`);
  await alternate('POST login', [argon2Target, loginTarget], POST_WARMUP, async (t, seconds) => {
    if (t !== argon2Target) return measure(t, seconds);
    argon2Rounds.push(await argon2Rate(HASH_SLOTS, seconds));
    return null;
  });
  const argon2Slots = combineRates(argon2Rounds);
  log(`raw Argon2id rate: ${os.availableParallelism()} at a time (every core)`);
  const argon2AllCores = HASH_SLOTS === os.availableParallelism() ? argon2Slots : await argon2Rate(os.availableParallelism(), DURATION);
  log(
    `raw Argon2id: ${argon2Slots.perSecond.toFixed(1)}/s (${argon2Slots.perCpuSecond.toFixed(1)} per CPU-second) ${HASH_SLOTS} at a time; ${argon2AllCores.perSecond.toFixed(1)}/s on every core`,
  );

  // In process: a TOTP code is good once per user and step, a passkey challenge once (see lib/mfa.mjs).
  const mfaCount = Math.max(200, Math.floor(DURATION * 150));
  log(`second factors: ${mfaCount} TOTP verifications and ${mfaCount} passkey assertions, in process, ${POST_CONNECTIONS} at a time`);
  const mfa = await measureSecondFactors({ distDir: path.join(repoDir, 'dist'), count: mfaCount, concurrency: POST_CONNECTIONS });
  for (const [key, route, m] of [
    ['totp verify', 'TOTP verify (in process)', mfa.totp],
    ['passkey verify', 'Passkey assertion verify (in process)', mfa.passkey],
  ]) {
    row.set(key, {
      key,
      route,
      server: 'gatehouse services',
      connections: POST_CONNECTIONS,
      measured_seconds: Math.round(m.seconds * 100) / 100,
      requests: m.operations,
      requests_per_sec: m.per_sec,
      requests_per_cpu_second: null,
      latency_p50_ms: m.p50_ms,
      latency_p99_ms: m.p99_ms,
      non_2xx: m.failed,
      errors: 0,
      timeouts: 0,
    });
  }

  const rssAfterRuns = rssMb(gatehouse.pid);
  log(`live sessions: ${fmt(SESSIONS)} put in the database and each used once`);
  const live = await fillSessions(gatehouse, tokens.access_token, SESSIONS);
  const rssLive = rssMb(gatehouse.pid);

  // --- rows, ratios, targets ---
  for (const [t, r] of raws) row.set(t.key, summarise(t, r));
  const ratio = (key, refKey, refLabel) => {
    const r = row.get(key);
    const ref = row.get(refKey);
    r.reference = refLabel;
    r.ratio = ref && ref.requests_per_sec > 0 ? r.requests_per_sec / ref.requests_per_sec : null;
    // The same comparison per CPU-second each server used: what a busy machine disturbs least.
    r.cpu_ratio = ref?.requests_per_cpu_second && r.requests_per_cpu_second ? r.requests_per_cpu_second / ref.requests_per_cpu_second : null;
    return r.ratio;
  };
  const argon2Row = {
    key: 'argon2',
    route: 'Argon2id verify (raw)',
    server: `${HASH_SLOTS} at a time`,
    connections: HASH_SLOTS,
    requests_per_sec: argon2Slots.perSecond,
    requests_per_cpu_second: argon2Slots.perCpuSecond,
    latency_p99_ms: null,
    non_2xx: 0,
    errors: 0,
    timeouts: 0,
  };
  row.set('argon2', argon2Row);
  ratio('fastify hello', 'node hello', 'node:http hello');
  for (const k of ['me', 'item', 'user', 'list']) ratio(`gatehouse ${k}`, `floor ${k}`, 'floor');
  ratio('gatehouse health', 'fastify hello beside health', 'fastify hello');
  ratio('gatehouse refresh', 'floor refresh', 'floor');
  ratio('gatehouse items', 'floor items', 'floor');
  ratio('gatehouse login', 'argon2', 'raw Argon2id');
  const rps = (key) => row.get(key)?.requests_per_sec ?? null;

  const checks = [];
  const add = (label, value, op, threshold, unit = 'x') =>
    checks.push({ label, value, op, threshold, unit, pass: value == null ? null : op === '>=' ? value >= threshold : value < threshold });
  for (const [k, route] of [
    ['me', 'GET /auth/me'],
    ['item', 'GET /items/:name'],
    ['user', 'GET /users/:id'],
  ]) {
    add(`${route} vs floor`, row.get(`gatehouse ${k}`).ratio, '>=', TARGETS.singleVsFloor);
    add(`${route} vs node:http hello`, rps(`gatehouse ${k}`) / rps(`node hello beside ${k}`), '>=', TARGETS.singleVsHello);
  }
  add('GET /users?limit=20 vs floor', row.get('gatehouse list').ratio, '>=', TARGETS.listVsFloor);
  add('GET /health vs Fastify hello', row.get('gatehouse health').ratio, '>=', TARGETS.healthVsFastify);
  add('POST /auth/refresh vs floor', row.get('gatehouse refresh').ratio, '>=', TARGETS.refreshVsFloor);
  add(`POST /auth/login vs raw Argon2id (${HASH_SLOTS} at a time)`, row.get('gatehouse login').ratio, '>=', TARGETS.loginVsArgon2);
  for (const k of ['me', 'item', 'user', 'list', 'health'])
    add(`${row.get(`gatehouse ${k}`).route} p99 at ${GET_CONNECTIONS} connections`, row.get(`gatehouse ${k}`).latency_p99_ms, '<', TARGETS.getP99Ms, 'ms');

  const order = [
    'node hello',
    'fastify hello',
    'floor me',
    'gatehouse me',
    'node hello beside me',
    'floor item',
    'gatehouse item',
    'node hello beside item',
    'floor user',
    'gatehouse user',
    'node hello beside user',
    'floor list',
    'gatehouse list',
    'fastify hello beside health',
    'gatehouse health',
    'floor refresh',
    'gatehouse refresh',
    'argon2',
    'gatehouse login',
    'floor items',
    'gatehouse items',
    'totp verify',
    'passkey verify',
    'gatehouse client_credentials',
  ];
  const rows = order.map((k) => row.get(k)).filter(Boolean);
  const flagged = rows.filter((r) => r.non_2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.refresh_requests_without_chain > 0 || r.refresh_repeated_tokens > 0);

  const cores = os.availableParallelism();
  const sizing = {
    logins_per_vcpu: row.get('gatehouse login').requests_per_cpu_second,
    refresh_per_vcpu: row.get('gatehouse refresh').requests_per_cpu_second,
    client_credentials_per_vcpu: row.get('gatehouse client_credentials').requests_per_cpu_second,
    mb_per_instance_idle: rssAfterRuns,
    mb_per_instance_live_sessions: rssLive,
    live_sessions: SESSIONS,
    argon2id: `m=${ARGON2.memoryCost} KiB, t=${ARGON2.timeCost}, p=${ARGON2.parallelism}`,
  };

  console.log('');
  printTable(rows);
  console.log(
    `\nratio = req/s over the reference's req/s in this run; req/CPU-s = requests per CPU-second the server process used, and its ratio. Raw Argon2id on every core (${cores}): ${fmt(argon2AllCores.perSecond, 1)}/s; Gatehouse hashes ${HASH_SLOTS} at a time.`,
  );
  console.log(
    `Live sessions: ${fmt(live.sessions)} in the database, each used once (${fmt(live.requests)} GET /auth/me, ${live.non_2xx} non-2xx); RSS ${fmt(rssAfterRuns, 1)} MB after the runs, ${fmt(rssLive, 1)} MB with them.`,
  );
  console.log(`\nIn the units of Keycloak's sizing guide (per vCPU = per CPU-second the Gatehouse process used, its hashing threads included):`);
  console.log(`  ${'measure'.padEnd(24)}  ${'Gatehouse'.padStart(10)}  ${'Keycloak guide'.padStart(14)}`);
  console.log(
    `  ${'logins/s per vCPU'.padEnd(24)}  ${fmt(sizing.logins_per_vcpu, 1).padStart(10)}  ${String(KEYCLOAK.loginsPerVcpu).padStart(14)}   Argon2id ${sizing.argon2id} (Keycloak: ${KEYCLOAK.hash})`,
  );
  console.log(`  ${'refresh/s per vCPU'.padEnd(24)}  ${fmt(sizing.refresh_per_vcpu, 0).padStart(10)}  ${String(KEYCLOAK.refreshPerVcpu).padStart(14)}`);
  // Keycloak's guide gives 120 per vCPU for client credentials grants too.
  console.log(`  ${'client_credentials/s/vCPU'.padEnd(24)}  ${fmt(sizing.client_credentials_per_vcpu, 0).padStart(10)}  ${String(KEYCLOAK.refreshPerVcpu).padStart(14)}`);
  console.log(`  ${`MB per instance (${fmt(SESSIONS / 1000)}k sessions)`.padEnd(24)}  ${fmt(rssLive, 0).padStart(10)}  ${`${KEYCLOAK.baseMb} (10k)`.padStart(14)}`);
  printTargets(checks);
  for (const r of flagged)
    console.log(
      `  FLAGGED ${r.server} ${r.route}: status codes ${JSON.stringify(r.status_codes)}, errors ${r.errors}, timeouts ${r.timeouts}${r.refresh_requests_without_chain ? `, lost chains ${r.refresh_requests_without_chain}` : ''}${r.refresh_repeated_tokens ? `, grace answers ${r.refresh_repeated_tokens}` : ''}`,
    );
  console.log(
    `\nload average at the end: ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')} (${cores} cores; the load generator shares them with the servers)`,
  );

  const report = {
    generated_at: new Date().toISOString(),
    commit: gitCommit(),
    machine: { node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: cores, cpu_model: os.cpus()[0]?.model ?? null, load_average_end: os.loadavg() },
    settings: {
      duration_s: DURATION,
      rounds: ROUNDS,
      warmup_s: WARMUP,
      get_connections: GET_CONNECTIONS,
      post_connections: POST_CONNECTIONS,
      login_connections: LOGIN_CONNECTIONS,
      argon2: ARGON2,
      hash_slots: HASH_SLOTS,
    },
    argon2_raw_per_sec: { hash_slots: argon2Slots, all_cores: argon2AllCores },
    live_sessions: { ...live, rss_after_runs_mb: rssAfterRuns, rss_with_sessions_mb: rssLive },
    sizing,
    targets: checks,
    results: rows,
  };
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  fs.writeFileSync(resultsFile, JSON.stringify(report, null, 2) + '\n');
  console.log(`written ${path.relative(process.cwd(), resultsFile)}`);
  return flagged.length > 0 ? 3 : 0;
}

let exitCode;
try {
  exitCode = await main();
} catch (err) {
  console.error(`[bench] FAILED: ${err?.stack ?? err}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
