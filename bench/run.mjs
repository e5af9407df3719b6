// Gatehouse benchmark: measures Gatehouse against a bare node:http "floor"
// server on the same machine, in one run, so the figures are ratios that
// survive a change of hardware rather than absolute numbers that do not.
//
//   npm run bench                      (builds dist/ first)
//   BENCH_DURATION=20 npm run bench
//
// Env: BENCH_DURATION  measured seconds per route (default 10)
//      BENCH_ROUNDS    the GET routes' measured time is split into this many
//                      alternating rounds (default 2), so a noisy second on
//                      the machine lands on the floor and on Gatehouse alike.
//
// Servers: the floor (bench/floor-server.mjs), Gatehouse as a single process
// (WORKERS=1) and a second Gatehouse with WORKERS=2 (node:cluster), each
// Gatehouse on its own temporary SQLite file.
//
// Besides the plain rows, GET /auth/me on the single process is measured once
// more during a "login storm" (20 loops of POST /auth/login running the whole
// time), and each Gatehouse process's RSS is read from /proc at the end. The
// issue's targets are printed as PASS/MISS; they never change the exit code.
//
// Exit codes: 0 ok (whatever the targets say); 1 a server failed to start or
//             the run failed; 3 results written, but a GET /auth/me row
//               answered non-2xx or had socket errors, so its figures measure
//               error responses, not the route.

import { expectStatus, jsonRequest } from './lib/http.mjs';
import { Supervisor } from './lib/supervisor.mjs';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(benchDir, '..');
const gatehouseMain = path.join(repoDir, 'dist', 'cli', 'main.js');
const resultsFile = path.join(benchDir, 'results', 'latest.json');

const DURATION = positiveNumber('BENCH_DURATION', 10);
const ROUNDS = Math.max(1, Math.floor(positiveNumber('BENCH_ROUNDS', 2)));
const WARMUP = 2; // seconds per route, discarded: lets V8 optimise the hot paths first
const START_TIMEOUT_MS = 30_000;
const GET_CONNECTIONS = 50;
// argon2 verification is deliberately slow (~14 ms on 2 cores): more
// connections would only queue requests and inflate latency, not throughput.
const LOGIN_CONNECTIONS = 10;
const ITEMS_CONNECTIONS = 50;
// Each refresh does two SQLite writes and signs a new EdDSA token, so it is
// CPU-bound like login, only cheaper. Every connection needs its own session
// (refresh tokens rotate), set up by one login per connection before each run.
const REFRESH_CONNECTIONS = 20;
const REFRESH_LOGIN_CONCURRENCY = 4; // argon2: more in parallel only queues
// The second Gatehouse: node:cluster with this many workers sharing the port.
const CLUSTER_WORKERS = 2;
// Login storm: this many concurrent loops of "await POST /auth/login, repeat",
// spread over STORM_USERS pre-registered users, while GET /auth/me is measured.
const STORM_CONCURRENCY = 20;
const STORM_USERS = 4;
const PASSWORD = 'bench-Password-123!';

// The issue's targets. Measurements only: printed as PASS/MISS, never an exit code.
const TARGET_ME_VS_FLOOR = 1.5; // GET /auth/me req/s >= 1.5x the floor's
const TARGET_ME_VS_CEILING = 0.5; // ... and >= 0.5x the ceiling's /hello
const TARGET_ME_P99_MS = 10; // p99 < 10 ms at 50 connections
const TARGET_STORM_P99_MS = 25; // p99 < 25 ms during the login storm
const TARGET_RSS_MB = 200; // RSS < 200 MB after the benchmark, per process

const HOST = '127.0.0.1';
const runId = crypto.randomBytes(6).toString('hex');
const gatehouseDb = path.join(os.tmpdir(), `gatehouse-bench-${runId}.db`);
const clusterDb = path.join(os.tmpdir(), `gatehouse-bench-w${CLUSTER_WORKERS}-${runId}.db`);
const floorDb = path.join(os.tmpdir(), `gatehouse-floor-${runId}.db`);

function positiveNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} must be a positive number of seconds, got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return n;
}

const log = (msg) => console.error(`[bench] ${msg}`);

// --- child processes and cleanup -----------------------------------------

const supervisor = new Supervisor(repoDir);

async function cleanup() {
  await supervisor.stopAll([gatehouseDb, clusterDb, floorDb]);
}

async function abort(code, message) {
  if (message) console.error(`[bench] ${message}`);
  await cleanup();
  process.exit(code);
}

process.on('SIGINT', () => abort(130, 'interrupted'));
process.on('SIGTERM', () => abort(143, 'terminated'));
process.on('unhandledRejection', (err) => abort(1, `unexpected error: ${err?.stack ?? err}`));

// Bound the whole run even if something stalls in a way nothing else catches.
// Budget: three bounded starts, every load test (4 GET routes, the storm with
// its ramp, 3 POST routes) with slack, plus setup (per-round setup, the
// registrations, and the refresh logins before its warm-up and its run).
const loadSeconds = 8 * (WARMUP + DURATION) + 4 * ROUNDS + 2 * 10 + 10;
const watchdog = setTimeout(
  () => abort(1, 'run exceeded its time budget; aborting'),
  3 * START_TIMEOUT_MS + loadSeconds * 1.5 * 1000 + 30_000,
);
watchdog.unref();

// --- starting servers -------------------------------------------------------

// The floor picks its own port (listen on 0) and reports it with a token
// signed by its per-start secret, so there is no port race and no shared secret.
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
      const match = /^READY (\d+) (\S+)$/m.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolve({ base: `http://${HOST}:${match[1]}`, token: match[2] });
      }
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// workers: 1 is a single process; more is node:cluster (a primary that forks
// that many workers sharing the port; the primary prints JSON log lines).
async function startGatehouse({ name, db, workers }) {
  const { base, entry, deadline } = await supervisor.startGatehouse({ name, main: gatehouseMain, host: HOST, db, workers, timeoutMs: START_TIMEOUT_MS });
  if (workers > 1) {
    // One worker answering /health is enough to go on, but wait (bounded) until
    // all of them exist, so the RSS read at the end finds them and the warm-up
    // reaches all of them. A worker still starting gets no connections from
    // the primary's round-robin, so it cannot produce errors, only fewer hands.
    while (childPids(entry.child.pid).length < workers && Date.now() < deadline) {
      if (supervisor.fatal) throw supervisor.fatal;
      await sleep(100);
    }
    await sleep(500);
  }
  return { base, entry, pid: entry.child.pid, workers };
}

// --- processes' memory (Linux /proc) -----------------------------------------

function rssMb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null; // no /proc (not Linux) or the process is gone
  }
}

// Children of a process, by scanning /proc/*/stat for its ppid (works whether
// or not the kernel offers /proc/<pid>/task/*/children).
function childPids(ppid) {
  let names;
  try { names = fs.readdirSync('/proc'); } catch { return []; }
  const pids = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) pids.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return pids.sort((a, b) => a - b);
}

const mb = (n) => (n == null ? null : Math.round(n * 10) / 10);



// --- load tests -------------------------------------------------------------


function summarise(target, raws) {
  const agg = autocannon.aggregateResult(raws, { url: target.base + target.path, connections: target.connections });
  const completed = raws.reduce((n, r) => n + r.totalCompletedRequests, 0);
  const seconds = raws.reduce((n, r) => n + r.duration, 0);
  const statusCodes = Object.fromEntries(Object.entries(agg.statusCodeStats).map(([code, s]) => [code, s.count]));
  return {
    key: target.key,
    route: `${target.method ?? 'GET'} ${target.path}`,
    server: target.server,
    connections: target.connections,
    measured_seconds: Math.round(seconds * 100) / 100,
    rounds: raws.length,
    requests: completed,
    // Completed requests over wall time: the mean rate. autocannon's own
    // requests.average needs per-second samples that are not merged across runs.
    requests_per_sec: seconds > 0 ? completed / seconds : 0,
    latency_p50_ms: agg.latency.p50,
    latency_p99_ms: agg.latency.p99,
    latency_max_ms: agg.latency.max,
    non_2xx: agg.non2xx,
    errors: agg.errors,
    timeouts: agg.timeouts,
    status_codes: statusCodes,
    ...target.extra?.(),
  };
}

// --- refresh-token chains --------------------------------------------------

// POST /auth/refresh rotates the token: each response carries the successor,
// and the old token is only good for a 10 s grace window (same successor);
// replaying it later revokes the session. So a token can't be shared between
// connections or reused across requests: each connection keeps its own chain
// and always sends the newest token of it.
//
// autocannon (v9) resets a connection's `context` every time it wraps around
// its `requests` list, i.e. after every request here, so the chain cannot live
// in the context. It lives in `pool`, a stack of current tokens, one per chain:
// setupRequest pops one (and remembers it in the context for this request
// only), onResponse pushes the successor. autocannon calls onResponse and then,
// synchronously, setupRequest for the same connection's next request, so the
// stack hands each connection back the token it just pushed: in practice every
// connection keeps one chain for the whole run, and in any case a chain is only
// ever used by one request at a time, strictly in order.
//
// Each autocannon run (warm-up, measured run) gets fresh chains from fresh
// logins: requests still in flight when a run stops have rotated their chain's
// token without us seeing the successor.
function refreshChains(base, login) {
  let pool = [];
  const stats = { withoutChain: 0, missingToken: 0, repeated: 0 };
  // Every token handed out in this run. A successor seen twice means a token
  // was replayed inside the grace window (answered from the grace path, no
  // rotation): the row would no longer measure rotation, so it is flagged.
  let seen = new Set();
  let chainsForRun = 0;
  let logins = 0;

  async function prepare() {
    const started = Date.now();
    const tokens = [];
    let next = 0;
    const worker = async () => {
      while (next < REFRESH_CONNECTIONS) {
        next++;
        const res = await expectStatus('login for a refresh chain', jsonRequest(`${base}/auth/login`, {
          method: 'POST',
          body: { login, password: PASSWORD },
        }), 200);
        if (typeof res?.refresh_token !== 'string') throw new Error(`login response has no refresh_token: ${JSON.stringify(res)}`);
        tokens.push(res.refresh_token);
      }
    };
    await Promise.all(Array.from({ length: REFRESH_LOGIN_CONCURRENCY }, worker));
    logins += tokens.length;
    // Check one rotation by hand before the load test, as for /auth/me: a
    // load test of 401s would look fast and mean nothing.
    const rotated = await expectStatus('Gatehouse POST /auth/refresh', jsonRequest(`${base}/auth/refresh`, {
      method: 'POST',
      body: { refresh_token: tokens[0] },
    }), 200);
    if (typeof rotated?.refresh_token !== 'string' || rotated.refresh_token === tokens[0]) {
      throw new Error(`refresh response has no new refresh_token: ${JSON.stringify(rotated)}`);
    }
    tokens[0] = rotated.refresh_token;
    pool = tokens;
    seen = new Set(tokens);
    chainsForRun = tokens.length;
    stats.withoutChain = 0;
    stats.missingToken = 0;
    stats.repeated = 0;
    log(`refresh: ${tokens.length} chains from ${tokens.length} logins (${REFRESH_LOGIN_CONCURRENCY} at a time) in ${Date.now() - started} ms`);
  }

  const requests = () => [{
    method: 'POST',
    path: '/auth/refresh',
    setupRequest(req, context) {
      let token = pool.pop();
      if (token === undefined) {
        // No chain free: one was lost (a timeout or a dropped socket, whose
        // response we never saw). Send a token that cannot work, so the
        // request is counted as non-2xx and the row flagged, not hidden.
        stats.withoutChain++;
        token = 'bench-chain-lost';
      }
      context.token = token;
      return { ...req, body: JSON.stringify({ refresh_token: token }) };
    },
    onResponse(status, body, context) {
      const sent = context.token;
      context.token = undefined;
      if (sent === undefined || sent === 'bench-chain-lost') return;
      let successor;
      if (status === 200) {
        try { successor = JSON.parse(body).refresh_token; } catch { successor = undefined; }
      }
      if (typeof successor === 'string') {
        if (seen.has(successor)) stats.repeated++;
        else seen.add(successor);
        pool.push(successor);
      } else {
        // Non-2xx (already counted by autocannon) or a 200 without a token.
        // Keep the token we sent: if the server did rotate it, the grace
        // window returns the same successor on the next try.
        if (status === 200) stats.missingToken++;
        pool.push(sent);
      }
    },
  }];

  return {
    prepare,
    requests,
    extra: () => ({
      refresh_chains: chainsForRun,
      refresh_logins_total: logins,
      refresh_requests_without_chain: stats.withoutChain,
      refresh_200_without_token: stats.missingToken,
      refresh_repeated_tokens: stats.repeated,
    }),
  };
}

// --- login storm -------------------------------------------------------------

// STORM_CONCURRENCY loops, each "await one POST /auth/login, repeat", with the
// credentials of STORM_USERS users (not the /auth/me user, so nothing the storm
// does to sessions can touch the token being measured). They run in this
// process next to autocannon; at a few hundred logins/s at most (argon2) that
// costs the load generator little. Logins count for the rate when they
// complete inside the measured window (the autocannon run).
function loginStorm(base, logins) {
  let running = false;
  let loops = [];
  let windowStart = null;
  let windowEnd = null;
  const stats = { total: 0, failures: 0, inWindow: 0, failuresInWindow: 0, latencies: [], failureSamples: [] };

  async function loop(i) {
    const login = logins[i % logins.length];
    while (running && !supervisor.fatal) {
      const t0 = performance.now();
      let failure = null;
      try {
        const res = await fetch(`${base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ login, password: PASSWORD }),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status !== 200) failure = `${res.status}: ${text.slice(0, 200)}`;
      } catch (err) {
        failure = String(err?.message ?? err);
      }
      const t1 = performance.now();
      const inWindow = windowStart !== null && t1 >= windowStart && (windowEnd === null || t1 <= windowEnd);
      stats.total++;
      if (failure) {
        stats.failures++;
        if (inWindow) stats.failuresInWindow++;
        if (stats.failureSamples.length < 5) stats.failureSamples.push(failure);
        await sleep(20); // a refused connection must not become a hot loop
      } else if (inWindow) {
        stats.inWindow++;
        stats.latencies.push(t1 - t0);
      }
    }
  }

  const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);

  return {
    start() {
      running = true;
      loops = Array.from({ length: STORM_CONCURRENCY }, (_, i) => loop(i));
    },
    // Called by supervisor.load() just before autocannon starts (target.prepare).
    async markStart() { windowStart = performance.now(); },
    markEnd() { windowEnd = performance.now(); },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
    extra() {
      const seconds = windowStart !== null && windowEnd !== null ? (windowEnd - windowStart) / 1000 : 0;
      const sorted = [...stats.latencies].sort((a, b) => a - b);
      const round = (n) => (n == null ? null : Math.round(n * 10) / 10);
      return {
        storm_concurrency: STORM_CONCURRENCY,
        storm_users: logins.length,
        storm_window_seconds: Math.round(seconds * 100) / 100,
        storm_logins_completed: stats.inWindow,
        storm_logins_per_sec: seconds > 0 ? stats.inWindow / seconds : 0,
        storm_login_p50_ms: round(percentile(sorted, 50)),
        storm_login_p99_ms: round(percentile(sorted, 99)),
        storm_logins_total_including_ramp: stats.total - stats.failures,
        storm_login_failures: stats.failures,
        storm_login_failures_in_window: stats.failuresInWindow,
        storm_login_failure_samples: stats.failureSamples,
      };
    },
  };
}

// --- report -----------------------------------------------------------------

function fmt(n, digits = 0) {
  return n == null || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(rows) {
  const header = ['route', 'server', 'req/s (mean)', 'p99 ms', 'non-2xx', 'errors', 'vs floor /auth/me', 'vs ceiling /hello', ''];
  const lines = rows.map((r) => [
    r.route,
    r.server,
    fmt(r.requests_per_sec),
    fmt(r.latency_p99_ms, 1),
    fmt(r.non_2xx),
    fmt(r.errors + r.timeouts),
    // A ratio between different routes is a cost comparison, not a like-for-like one: mark it.
    r.ratio_to_floor_me == null ? '-' : `${fmt(r.ratio_to_floor_me, 3)}${r.same_route_as_floor ? '' : '*'}`,
    fmt(r.ratio_to_ceiling_hello, 3),
    r.flagged ? '<-- FLAGGED' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const render = (cells) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(render(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  ').trimEnd());
  for (const l of lines) console.log(render(l));
  console.log('\nratios are req/s divided by the reference\'s req/s (1.000 = as fast as the reference).');
  console.log('* different route from the floor\'s GET /auth/me: the ratio shows relative cost, not overhead on the same work.');
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

// Registers a user and logs it in; returns the login name and its tokens.
async function registerAndLogin(base, label) {
  const suffix = crypto.randomBytes(4).toString('hex');
  const login = `${label}${suffix}`;
  await expectStatus(`register on ${base}`, jsonRequest(`${base}/auth/register`, {
    method: 'POST',
    body: { username: login, email: `${label}-${suffix}@example.com`, password: PASSWORD, name: 'Bench User' },
  }), 201);
  const tokens = await expectStatus(`login on ${base}`, jsonRequest(`${base}/auth/login`, {
    method: 'POST',
    body: { login, password: PASSWORD },
  }), 200);
  if (typeof tokens?.access_token !== 'string') throw new Error(`login response has no access_token: ${JSON.stringify(tokens)}`);
  return { login, tokens };
}

function targetChecks(rows, rss) {
  const row = (key) => rows.find((r) => r.key === key);
  const checks = [];
  const add = (id, label, value, unit, op, threshold) => {
    const pass = value == null ? null : op === '>=' ? value >= threshold : value < threshold;
    checks.push({ id, label, value, unit, op, threshold, pass });
  };
  for (const [key, name] of [['gatehouse-me', 'single process'], ['gatehouse-workers2-me', `WORKERS=${CLUSTER_WORKERS}`]]) {
    const r = row(key);
    add(`${key}-vs-floor`, `GET /auth/me (${name}) vs floor /auth/me`, r?.ratio_to_floor_me, 'x', '>=', TARGET_ME_VS_FLOOR);
    add(`${key}-vs-ceiling`, `GET /auth/me (${name}) vs ceiling /hello`, r?.ratio_to_ceiling_hello, 'x', '>=', TARGET_ME_VS_CEILING);
    add(`${key}-p99`, `GET /auth/me (${name}) p99 at ${GET_CONNECTIONS} connections`, r?.latency_p99_ms, 'ms', '<', TARGET_ME_P99_MS);
  }
  add('storm-p99', `GET /auth/me during login storm p99 (${STORM_CONCURRENCY} login loops)`, row('gatehouse-me-login-storm')?.latency_p99_ms, 'ms', '<', TARGET_STORM_P99_MS);
  add('rss-single', 'RSS single process', rss.single.rss_mb, 'MB', '<', TARGET_RSS_MB);
  add('rss-workers2-primary', `RSS WORKERS=${CLUSTER_WORKERS} primary`, rss.workers2.primary.rss_mb, 'MB', '<', TARGET_RSS_MB);
  rss.workers2.workers.forEach((w, i) => add(`rss-workers2-worker${i + 1}`, `RSS WORKERS=${CLUSTER_WORKERS} worker ${i + 1}`, w.rss_mb, 'MB', '<', TARGET_RSS_MB));
  return checks;
}

function printTargets(checks) {
  console.log('\nTargets (measurements: PASS/MISS never changes the exit code):');
  const width = Math.max(...checks.map((c) => c.label.length));
  for (const c of checks) {
    const mark = c.pass == null ? 'n/a ' : c.pass ? 'PASS' : 'MISS';
    const digits = c.unit === 'x' ? 3 : 1;
    const value = c.value == null ? '-' : `${fmt(c.value, digits)}${c.unit === 'x' ? 'x' : ` ${c.unit}`}`;
    const want = `${c.op === '>=' ? '>=' : '<'} ${c.threshold}${c.unit === 'x' ? 'x' : ` ${c.unit}`}`;
    console.log(`  ${mark}  ${c.label.padEnd(width)}  ${value.padStart(10)}  (target ${want})`);
  }
}

// --- main -------------------------------------------------------------------

async function main() {
  log(`duration ${DURATION} s per route (${ROUNDS} rounds for GET routes), warm-up ${WARMUP} s per route`);

  // Start all servers before measuring anything, so a Gatehouse that cannot
  // start fails the run in seconds rather than after the floor has been measured.
  const floor = await startFloor();
  log(`floor server on ${floor.base}`);
  const gatehouse = await startGatehouse({ name: 'Gatehouse', db: gatehouseDb, workers: 1 });
  log(`Gatehouse (single process, pid ${gatehouse.pid}) on ${gatehouse.base}`);
  const cluster = await startGatehouse({ name: `Gatehouse WORKERS=${CLUSTER_WORKERS}`, db: clusterDb, workers: CLUSTER_WORKERS });
  log(`Gatehouse WORKERS=${CLUSTER_WORKERS} (primary pid ${cluster.pid}, workers ${childPids(cluster.pid).join(', ') || '?'}) on ${cluster.base}`);

  const { login: benchLogin, tokens } = await registerAndLogin(gatehouse.base, 'bench');
  const { tokens: clusterTokens } = await registerAndLogin(cluster.base, 'benchw');
  // The storm's users: separate from the /auth/me user on purpose.
  const stormLogins = [];
  for (let i = 0; i < STORM_USERS; i++) stormLogins.push((await registerAndLogin(gatehouse.base, `storm${i}x`)).login);

  // Fail before the load test if any /auth/me rejects its token: a load
  // test of 401s would look fast and mean nothing. Several tries on the
  // cluster, so more than one worker is likely to have answered.
  await expectStatus('floor GET /auth/me', jsonRequest(`${floor.base}/auth/me`, { token: floor.token }), 200);
  await expectStatus('Gatehouse GET /auth/me', jsonRequest(`${gatehouse.base}/auth/me`, { token: tokens.access_token }), 200);
  for (let i = 0; i < 4; i++) {
    await expectStatus(`Gatehouse WORKERS=${CLUSTER_WORKERS} GET /auth/me`, jsonRequest(`${cluster.base}/auth/me`, { token: clusterTokens.access_token }), 200);
  }

  const jsonHeaders = { 'content-type': 'application/json' };
  let itemCounter = 0;
  const chains = refreshChains(gatehouse.base, benchLogin);
  const storm = loginStorm(gatehouse.base, stormLogins);
  const meHeaders = { authorization: `Bearer ${tokens.access_token}` };
  const targets = {
    hello: { key: 'ceiling-hello', server: 'floor (ceiling)', base: floor.base, path: '/hello', connections: GET_CONNECTIONS },
    floorMe: {
      key: 'floor-me', server: 'floor', base: floor.base, path: '/auth/me', connections: GET_CONNECTIONS,
      headers: { authorization: `Bearer ${floor.token}` },
    },
    gatehouseMe: {
      key: 'gatehouse-me', server: 'gatehouse', base: gatehouse.base, path: '/auth/me', connections: GET_CONNECTIONS,
      headers: meHeaders,
    },
    clusterMe: {
      key: 'gatehouse-workers2-me', server: `gatehouse WORKERS=${CLUSTER_WORKERS}`, base: cluster.base, path: '/auth/me', connections: GET_CONNECTIONS,
      headers: { authorization: `Bearer ${clusterTokens.access_token}` },
    },
    storm: {
      key: 'gatehouse-me-login-storm', server: 'gatehouse, login storm', base: gatehouse.base, path: '/auth/me', connections: GET_CONNECTIONS,
      headers: meHeaders,
      prepare: storm.markStart,
      extra: storm.extra,
    },
    login: {
      key: 'gatehouse-login', server: 'gatehouse', base: gatehouse.base, path: '/auth/login', method: 'POST',
      connections: LOGIN_CONNECTIONS, headers: jsonHeaders,
      body: JSON.stringify({ login: benchLogin, password: PASSWORD }),
    },
    refresh: {
      key: 'gatehouse-refresh', server: 'gatehouse', base: gatehouse.base, path: '/auth/refresh', method: 'POST',
      connections: REFRESH_CONNECTIONS, headers: jsonHeaders,
      prepare: chains.prepare,
      requests: chains.requests,
      extra: chains.extra,
    },
    items: {
      key: 'gatehouse-items', server: 'gatehouse', base: gatehouse.base, path: '/items', method: 'POST',
      connections: ITEMS_CONNECTIONS, headers: { ...jsonHeaders, authorization: `Bearer ${tokens.access_token}` },
      // Item names are unique: every request needs a fresh one, or all but
      // the first would be 409s. One counter shared by all connections
      // (warm-up included) cannot repeat within a run, and the DB is new per run.
      requests: () => [{
        method: 'POST',
        path: '/items',
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ name: `bench-${itemCounter++}`, price: 9.99 }) }),
      }],
    },
  };

  const raws = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
  const getOrder = ['hello', 'floorMe', 'gatehouseMe', 'clusterMe'];

  for (const k of getOrder) {
    log(`warm-up ${targets[k].server} ${targets[k].path}`);
    await supervisor.load(targets[k], WARMUP);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const k of getOrder) {
      log(`round ${round}/${ROUNDS}: ${targets[k].server} GET ${targets[k].path}`);
      raws[k].push(await supervisor.load(targets[k], DURATION / ROUNDS));
    }
  }

  // The storm runs for the warm-up time first, so it is in full swing (and the
  // login path warm) when the measurement starts; it stops after it.
  log(`login storm: ${STORM_CONCURRENCY} login loops on ${STORM_USERS} users, ${WARMUP} s ramp, then GET /auth/me measured`);
  storm.start();
  try {
    await sleep(WARMUP * 1000);
    if (supervisor.fatal) throw supervisor.fatal;
    raws.storm.push(await supervisor.load(targets.storm, DURATION));
  } finally {
    storm.markEnd();
    await storm.stop();
  }
  {
    const s = storm.extra();
    log(`login storm: ${s.storm_logins_completed} logins in ${s.storm_window_seconds} s (${fmt(s.storm_logins_per_sec)}/s), ${s.storm_login_failures} failures`);
  }

  for (const k of ['login', 'refresh', 'items']) {
    log(`warm-up Gatehouse POST ${targets[k].path}`);
    await supervisor.load(targets[k], WARMUP);
    log(`Gatehouse POST ${targets[k].path}`);
    raws[k].push(await supervisor.load(targets[k], DURATION));
  }

  // Memory after every measurement, before anything is stopped.
  const workerPids = childPids(cluster.pid);
  const rss = {
    single: { pid: gatehouse.pid, rss_mb: mb(rssMb(gatehouse.pid)) },
    workers2: {
      primary: { pid: cluster.pid, rss_mb: mb(rssMb(cluster.pid)) },
      workers: workerPids.map((pid) => ({ pid, rss_mb: mb(rssMb(pid)) })),
    },
  };
  rss.workers2.total_mb = mb([rss.workers2.primary, ...rss.workers2.workers].reduce((n, p) => n + (p.rss_mb ?? 0), 0));
  if (workerPids.length !== CLUSTER_WORKERS) log(`warning: found ${workerPids.length} worker processes of the WORKERS=${CLUSTER_WORKERS} primary, expected ${CLUSTER_WORKERS}`);

  const rows = Object.entries(targets).map(([k, t]) => summarise(t, raws[k]));
  const floorMeRps = rows.find((r) => r.key === 'floor-me').requests_per_sec;
  const helloRps = rows.find((r) => r.key === 'ceiling-hello').requests_per_sec;
  for (const r of rows) {
    r.ratio_to_floor_me = floorMeRps > 0 ? r.requests_per_sec / floorMeRps : null;
    r.ratio_to_ceiling_hello = helloRps > 0 ? r.requests_per_sec / helloRps : null;
    r.same_route_as_floor = r.route === 'GET /auth/me';
    r.responses_flagged = r.non_2xx > 0 || r.errors > 0 || r.timeouts > 0;
    r.flagged = r.responses_flagged || r.refresh_requests_without_chain > 0
      || r.refresh_200_without_token > 0 || r.refresh_repeated_tokens > 0 || r.storm_login_failures > 0;
  }
  // Exit code 3 only when an /auth/me row's own responses went wrong; a failed
  // storm login flags the storm row but does not invalidate what /auth/me measured.
  const authMeFlagged = rows.some((r) => r.route === 'GET /auth/me' && r.responses_flagged);
  const checks = targetChecks(rows, rss);
  const stormRow = rows.find((r) => r.key === 'gatehouse-me-login-storm');

  console.log('');
  printTable(rows);
  console.log(`\nGET /auth/me during login storm: ${fmt(stormRow.requests_per_sec)} req/s, p99 ${fmt(stormRow.latency_p99_ms, 1)} ms;`
    + ` ${fmt(stormRow.storm_logins_completed)} logins completed in ${fmt(stormRow.storm_window_seconds, 1)} s (${fmt(stormRow.storm_logins_per_sec, 1)}/s,`
    + ` login p50 ${fmt(stormRow.storm_login_p50_ms, 1)} ms, p99 ${fmt(stormRow.storm_login_p99_ms, 1)} ms), ${stormRow.storm_login_failures} failed logins`);
  const f = (n) => (n == null ? '?' : fmt(n, 1));
  console.log(`RSS after benchmark: single ${f(rss.single.rss_mb)} MB; WORKERS=${CLUSTER_WORKERS}: primary ${f(rss.workers2.primary.rss_mb)} MB`
    + ` + workers ${rss.workers2.workers.map((w) => f(w.rss_mb)).join(', ') || '?'} MB (total ${f(rss.workers2.total_mb)} MB)`);
  console.log(`Note: on this ${os.cpus().length}-core machine the load generator shares the CPU with the servers; with WORKERS=${CLUSTER_WORKERS} it competes with both workers.`);
  printTargets(checks);
  if (authMeFlagged) {
    console.log('\nWARNING: GET /auth/me had non-2xx responses or socket errors; its figures are not valid.');
  }
  for (const r of rows.filter((x) => x.flagged)) {
    const chainNote = r.refresh_requests_without_chain || r.refresh_200_without_token || r.refresh_repeated_tokens
      ? `, refresh requests sent without a chain ${r.refresh_requests_without_chain}, 200s without refresh_token ${r.refresh_200_without_token}, repeated refresh tokens ${r.refresh_repeated_tokens}`
      : '';
    const stormNote = r.storm_login_failures ? `, failed storm logins ${r.storm_login_failures} (e.g. ${JSON.stringify(r.storm_login_failure_samples)})` : '';
    console.log(`  ${r.server} ${r.route}: status codes ${JSON.stringify(r.status_codes)}, errors ${r.errors}, timeouts ${r.timeouts}${chainNote}${stormNote}`);
  }

  const report = {
    generated_at: new Date().toISOString(),
    commit: gitCommit(),
    machine: { node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? null },
    settings: {
      duration_s: DURATION, rounds_for_get_routes: ROUNDS, warmup_s: WARMUP, gatehouse_jwt_algorithm: 'EdDSA', floor_jwt_algorithm: 'HS256',
      refresh_login_concurrency: REFRESH_LOGIN_CONCURRENCY, cluster_workers: CLUSTER_WORKERS,
      storm_concurrency: STORM_CONCURRENCY, storm_users: STORM_USERS, storm_ramp_s: WARMUP,
    },
    notes: [
      'ratio_to_floor_me compares with the floor server\'s GET /auth/me; for POST routes it is a different route (relative cost only).',
      'The load generator runs in the same process tree and on the same cores as all servers; with WORKERS=2 on a 2-core machine it competes with both workers for CPU.',
      'POST /auth/refresh: one rotating token chain per connection, from one login per connection before the warm-up and again before the measured run (logins not measured).',
      'gatehouse-me-login-storm: GET /auth/me on the single process while 20 loops of POST /auth/login (fetch, from the bench process) run; storm_logins_* count logins completed inside the measured window.',
      'RSS is VmRSS from /proc/<pid>/status after all measurements; WORKERS=2 workers are found as children of the primary.',
      'targets: PASS/MISS against the issue\'s targets; they never change the exit code.',
    ],
    auth_me_flagged: authMeFlagged,
    targets: checks,
    rss_after_benchmark: rss,
    results: rows,
  };
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  fs.writeFileSync(resultsFile, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwritten ${path.relative(process.cwd(), resultsFile)}`);
  return authMeFlagged ? 3 : 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  console.error(`[bench] FAILED: ${err?.message ?? err}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
