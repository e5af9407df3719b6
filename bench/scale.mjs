// Gatehouse scale benchmark: do the hot routes cost the same with 1,000 users
// as with 1,000,000? Each size gets its own freshly seeded SQLite file (bulk
// insert, bench/seed.mjs) and its own Gatehouse; the same routes are load-tested
// on both, in alternating rounds, and compared as a ratio (req/s at the largest
// size / req/s at the smallest). Target: every ratio >= 1/1.3 (≈ 0.77), i.e. the
// largest size within 1.3x of the smallest.
//
//   npm run bench:scale                 (builds dist/ first)
//   SCALE_DURATION=10 npm run bench:scale
//
// Env: SCALE_DURATION  measured seconds per route and size (default 5)
//      SCALE_ROUNDS    that time is split into this many rounds, alternating
//                      sizes in ABBA order so drift on the machine lands on
//                      both sizes alike (default 2)
//      SCALE_SIZES     comma-separated user counts (default 1000,1000000)
//
// Exit codes: 0 every ratio met the target; 1 the run failed (seeding, a server
//             did not start or died, a check before the load failed);
//             3 a route answered non-2xx or had socket errors/timeouts, so some
//               figures measure errors (results still written);
//             4 figures are valid but at least one ratio missed the target.

import { expectStatus, jsonRequest } from './lib/http.mjs';
import { Supervisor } from './lib/supervisor.mjs';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { seed, seedUsername, SEED_PASSWORD } from './seed.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(benchDir, '..');
const gatehouseMain = path.join(repoDir, 'dist', 'cli', 'main.js');
const resultsFile = path.join(benchDir, 'results', 'scale.json');

const DURATION = positiveNumber('SCALE_DURATION', 5);
const ROUNDS = Math.max(1, Math.floor(positiveNumber('SCALE_ROUNDS', 2)));
const SIZES = sizes();
const WARMUP = 1; // seconds per route and size, discarded
const START_TIMEOUT_MS = 30_000;
const SEED_BUDGET_S = 180; // per million users, for the watchdog only
const TARGET_RATIO = 1 / 1.3;
const GET_CONNECTIONS = 50;
// argon2 verification dominates a login: more connections only queue.
const LOGIN_CONNECTIONS = 10;
const PAGE = 50;
const DEEP_FRACTION = 0.9; // the deep cursor starts after user number 0.9 * N

const HOST = '127.0.0.1';
const runId = crypto.randomBytes(6).toString('hex');

function positiveNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return n;
}

function sizes() {
  const raw = process.env.SCALE_SIZES;
  if (raw === undefined || raw === '') return [1_000, 1_000_000];
  const list = raw.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (list.length < 2 || list.some((n) => !Number.isInteger(n) || n < 100 || n > 9_999_999)) {
    console.error(`SCALE_SIZES must be two or more whole numbers 100..9999999, got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return list;
}

const label = (n) => (n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n % 1_000 === 0 ? `${n / 1_000}k` : String(n));
const log = (msg) => console.error(`[scale] ${msg}`);

// --- child processes and cleanup -----------------------------------------

const tempFiles = [];
const supervisor = new Supervisor(repoDir);

async function cleanup() {
  await supervisor.stopAll(tempFiles);
}

async function abort(code, message) {
  if (message) console.error(`[scale] ${message}`);
  await cleanup();
  process.exit(code);
}

process.on('SIGINT', () => abort(130, 'interrupted'));
process.on('SIGTERM', () => abort(143, 'terminated'));
process.on('unhandledRejection', (err) => abort(1, `unexpected error: ${err?.stack ?? err}`));

// Bound the whole run: seeding, starts, and every load test with slack.
const ROUTES = 5;
const loadSeconds = ROUTES * SIZES.length * (WARMUP + DURATION) + ROUTES * SIZES.length * ROUNDS;
const seedSeconds = SIZES.reduce((s, n) => s + 10 + (SEED_BUDGET_S * n) / 1_000_000, 0);
const watchdog = setTimeout(() => abort(1, 'run exceeded its time budget; aborting'), SIZES.length * START_TIMEOUT_MS + (seedSeconds + loadSeconds * 1.5 + 60) * 1000);
watchdog.unref();

// --- servers ----------------------------------------------------------------

async function startGatehouse(name, dbPath) {
  const { base, entry } = await supervisor.startGatehouse({ name, main: gatehouseMain, host: HOST, db: dbPath, timeoutMs: START_TIMEOUT_MS });
  return { base, entry };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// The service's cursor: base64url of {"k": <last key of the page>} (src/core/pagination.ts).
const cursorFor = (key) => Buffer.from(JSON.stringify({ k: key })).toString('base64url');

/**
 * Logs in as a seeded user and checks, before any load, that every measured
 * request answers 200 with the rows the seeding implies: a load test of 4xx
 * would be fast and mean nothing.
 */
async function prepareServer(size, server) {
  const who = seedUsername(Math.ceil(size.users / 2));
  const tokens = await expectStatus(
    `${size.label} login as ${who}`,
    jsonRequest(`${server.base}/auth/login`, {
      method: 'POST',
      body: { login: who, password: SEED_PASSWORD },
    }),
    200,
  );
  check(typeof tokens?.access_token === 'string', `${size.label} login response has no access_token: ${JSON.stringify(tokens)}`);
  const token = tokens.access_token;

  const me = await expectStatus(`${size.label} GET /auth/me`, jsonRequest(`${server.base}/auth/me`, { token }), 200);
  check(JSON.stringify(me).includes(who), `${size.label} GET /auth/me does not name ${who}: ${JSON.stringify(me).slice(0, 300)}`);

  const first = await expectStatus(`${size.label} GET /users first page`, jsonRequest(`${server.base}/users?limit=${PAGE}`, { token }), 200);
  check(
    first?.items?.length === PAGE && first.items[0].username === seedUsername(1),
    `${size.label} GET /users?limit=${PAGE} did not start at ${seedUsername(1)} with ${PAGE} rows`,
  );
  check(
    first.next_cursor === cursorFor(seedUsername(PAGE)),
    `${size.label} GET /users: next_cursor ${first.next_cursor} is not ${cursorFor(seedUsername(PAGE))}; has the cursor format changed?`,
  );

  const deepAfter = seedUsername(size.deepAfter);
  const deepPath = `/users?limit=${PAGE}&cursor=${cursorFor(deepAfter)}`;
  const deep = await expectStatus(`${size.label} GET /users deep page`, jsonRequest(`${server.base}${deepPath}`, { token }), 200);
  check(
    deep?.items?.length === PAGE && deep.items[0].username === seedUsername(size.deepAfter + 1),
    `${size.label} GET ${deepPath} did not start at ${seedUsername(size.deepAfter + 1)} with ${PAGE} rows`,
  );

  const items = await expectStatus(`${size.label} GET /items`, jsonRequest(`${server.base}/items?limit=${PAGE}`, { token }), 200);
  check(items?.items?.length === Math.min(PAGE, size.items), `${size.label} GET /items?limit=${PAGE} returned ${items?.items?.length} rows`);

  return { token, deepPath, deepAfter };
}

// --- load tests -------------------------------------------------------------

function targetsFor(size, server, prep) {
  const auth = { authorization: `Bearer ${prep.token}` };
  const users = size.users;
  return {
    login: {
      route: 'POST /auth/login',
      connections: LOGIN_CONNECTIONS,
      base: server.base,
      path: '/auth/login',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // A different seeded user on every request, picked at random over all N.
      requests: () => [
        {
          method: 'POST',
          path: '/auth/login',
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ login: seedUsername(1 + Math.floor(Math.random() * users)), password: SEED_PASSWORD }),
          }),
        },
      ],
    },
    me: { route: 'GET /auth/me', connections: GET_CONNECTIONS, base: server.base, path: '/auth/me', headers: auth },
    usersFirst: { route: `GET /users?limit=${PAGE}`, connections: GET_CONNECTIONS, base: server.base, path: `/users?limit=${PAGE}`, headers: auth },
    usersDeep: {
      route: `GET /users?limit=${PAGE}&cursor=<after ${DEEP_FRACTION * 100}%>`,
      connections: GET_CONNECTIONS,
      base: server.base,
      path: prep.deepPath,
      headers: auth,
    },
    items: { route: `GET /items?limit=${PAGE}`, connections: GET_CONNECTIONS, base: server.base, path: `/items?limit=${PAGE}`, headers: auth },
  };
}

function summarise(target, raws) {
  const agg = autocannon.aggregateResult(raws, { url: target.base + target.path, connections: target.connections });
  const completed = raws.reduce((n, r) => n + r.totalCompletedRequests, 0);
  const seconds = raws.reduce((n, r) => n + r.duration, 0);
  return {
    measured_seconds: Math.round(seconds * 100) / 100,
    requests: completed,
    requests_per_sec: seconds > 0 ? completed / seconds : 0,
    latency_p50_ms: agg.latency.p50,
    latency_p99_ms: agg.latency.p99,
    latency_max_ms: agg.latency.max,
    non_2xx: agg.non2xx,
    errors: agg.errors,
    timeouts: agg.timeouts,
    status_codes: Object.fromEntries(Object.entries(agg.statusCodeStats).map(([code, s]) => [code, s.count])),
  };
}

// --- report -----------------------------------------------------------------

function fmt(n, digits = 0) {
  return n == null || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function printTable(rows, small, large) {
  const header = [
    'route',
    'conns',
    `req/s ${small.label}`,
    `req/s ${large.label}`,
    `${large.label}/${small.label}`,
    'target',
    `p99 ms ${small.label}`,
    `p99 ms ${large.label}`,
    '',
  ];
  const lines = rows.map((r) => {
    const a = r.by_size[small.users];
    const b = r.by_size[large.users];
    return [
      r.route,
      String(r.connections),
      fmt(a.requests_per_sec),
      fmt(b.requests_per_sec),
      fmt(r.ratio, 3),
      r.flagged ? 'invalid' : r.target_met ? 'met' : 'MISSED',
      fmt(a.latency_p99_ms, 1),
      fmt(b.latency_p99_ms, 1),
      r.flagged ? '<-- FLAGGED (non-2xx or socket errors)' : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const numeric = new Set([1, 2, 3, 4, 6, 7]);
  const render = (cells) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(render(header));
  console.log(
    widths
      .map((w) => '-'.repeat(w))
      .join('  ')
      .trimEnd(),
  );
  for (const l of lines) console.log(render(l));
  console.log(`\nratio = req/s at ${large.label} users / req/s at ${small.label} users; target >= ${fmt(TARGET_RATIO, 3)} (${large.label} within 1.3x of ${small.label}).`);
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
  if (!fs.existsSync(gatehouseMain)) {
    throw new Error(`${path.relative(repoDir, gatehouseMain)} not found: run "npm run build" (npm run bench:scale does it)`);
  }
  log(`sizes ${SIZES.map(label).join(', ')} users; ${DURATION} s measured per route and size (${ROUNDS} rounds), warm-up ${WARMUP} s`);

  const sizesInfo = [];
  for (const users of SIZES) {
    const dbPath = path.join(os.tmpdir(), `gatehouse-scale-${runId}-${users}.db`);
    tempFiles.push(dbPath);
    log(`seeding ${label(users)} users into ${dbPath}`);
    const seeded = await seed(dbPath, { users, log });
    log(`seeded ${users.toLocaleString('en-US')} users and ${seeded.items.toLocaleString('en-US')} items in ${seeded.seconds.toFixed(1)} s`);
    sizesInfo.push({
      users,
      label: label(users),
      items: seeded.items,
      dbPath,
      deepAfter: Math.floor(users * DEEP_FRACTION),
      seed_seconds: seeded.seconds,
      db_bytes: fs.statSync(dbPath).size,
    });
  }

  // One server per size, all up before measuring: a server that cannot start
  // fails the run before anything is measured. An idle server costs no CPU.
  const servers = [];
  for (const size of sizesInfo) {
    const server = await startGatehouse(`Gatehouse (${size.label} users)`, size.dbPath);
    log(`Gatehouse with ${size.label} users on ${server.base}`);
    const prep = await prepareServer(size, server);
    servers.push({ size, server, prep, targets: targetsFor(size, server, prep) });
  }

  const routeKeys = ['login', 'me', 'usersFirst', 'usersDeep', 'items'];
  const raws = new Map(servers.map((s) => [s, Object.fromEntries(routeKeys.map((k) => [k, []]))]));
  for (const k of routeKeys) {
    for (const s of servers) {
      log(`warm-up ${s.targets[k].route} (${s.size.label})`);
      await supervisor.load(s.targets[k], WARMUP);
    }
    // ABBA: round 1 small→large, round 2 large→small, ...
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? servers : [...servers].reverse();
      for (const s of order) {
        log(`round ${round}/${ROUNDS}: ${s.targets[k].route} (${s.size.label})`);
        raws.get(s)[k].push(await supervisor.load(s.targets[k], DURATION / ROUNDS));
      }
    }
  }

  const small = sizesInfo[0];
  const large = sizesInfo[sizesInfo.length - 1];
  const rows = routeKeys.map((k) => {
    const bySize = Object.fromEntries(servers.map((s) => [s.size.users, summarise(s.targets[k], raws.get(s)[k])]));
    const a = bySize[small.users].requests_per_sec;
    const b = bySize[large.users].requests_per_sec;
    const ratio = a > 0 ? b / a : null;
    const flagged = Object.values(bySize).some((r) => r.non_2xx > 0 || r.errors > 0 || r.timeouts > 0);
    return {
      key: k,
      route: servers[0].targets[k].route,
      connections: servers[0].targets[k].connections,
      by_size: bySize,
      ratio,
      target_met: ratio != null && ratio >= TARGET_RATIO,
      flagged,
    };
  });

  console.log('');
  printTable(rows, small, large);
  for (const r of rows.filter((x) => x.flagged)) {
    for (const [users, s] of Object.entries(r.by_size)) {
      console.log(`  ${r.route} (${label(Number(users))}): status codes ${JSON.stringify(s.status_codes)}, errors ${s.errors}, timeouts ${s.timeouts}`);
    }
  }
  console.log(`seeding: ${sizesInfo.map((s) => `${s.label} users + ${fmt(s.items)} items in ${s.seed_seconds.toFixed(1)} s (${fmt(s.db_bytes / 1e6, 1)} MB)`).join('; ')}`);

  const report = {
    generated_at: new Date().toISOString(),
    commit: gitCommit(),
    machine: { node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? null },
    settings: {
      duration_s: DURATION,
      rounds: ROUNDS,
      warmup_s: WARMUP,
      sizes: SIZES,
      target_ratio: TARGET_RATIO,
      page_limit: PAGE,
      deep_cursor_after: Object.fromEntries(sizesInfo.map((s) => [s.users, seedUsername(s.deepAfter)])),
      gatehouse_jwt_algorithm: 'EdDSA',
    },
    seeding: sizesInfo.map((s) => ({ users: s.users, items: s.items, seconds: s.seed_seconds, db_bytes: s.db_bytes })),
    notes: [
      'ratio = requests_per_sec at the largest size / at the smallest; target_met when ratio >= 1/1.3.',
      'POST /auth/login logs in as a seeded user picked at random over all N for every request; all share one password.',
      'Both servers run at once (the idle one uses no CPU) and are measured in alternating ABBA rounds; the load generator shares the CPU with them.',
    ],
    any_flagged: rows.some((r) => r.flagged),
    all_targets_met: rows.every((r) => r.target_met),
    results: rows,
  };
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  fs.writeFileSync(resultsFile, JSON.stringify(report, null, 2) + '\n');
  console.log(`written ${path.relative(process.cwd(), resultsFile)}`);

  if (report.any_flagged) {
    console.log('\nWARNING: some routes answered non-2xx or had socket errors; their figures are not valid.');
    return 3;
  }
  if (!report.all_targets_met) {
    console.log(
      `\nMISSED: ${rows
        .filter((r) => !r.target_met)
        .map((r) => r.route)
        .join(', ')} slower at ${large.label} than 1.3x of ${small.label}.`,
    );
    return 4;
  }
  return 0;
}

let exitCode;
try {
  exitCode = await main();
} catch (err) {
  console.error(`[scale] FAILED: ${err?.stack ?? err}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
