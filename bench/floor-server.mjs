// The "floor": the least work any server can do to answer an authenticated
// GET /auth/me — verify a signed token, look the user up by primary key,
// serialise the row. No framework, no validation layer, no logging, no
// security headers. Gatehouse cannot be faster than this on the same
// machine, so its ratio to this server is the cost of everything it adds.
//
// GET /hello is the "ceiling": a plain HTTP response with no auth and no DB,
// i.e. what node:http alone can do on this machine.
//
// Standalone use:  node bench/floor-server.mjs   (prints "READY <port> <token>")
// Env: FLOOR_PORT (default 0 = any free port), FLOOR_DB (default: a new file
// in os.tmpdir(), removed on exit), FLOOR_USERS (default 5000).

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

const USERS = Number(process.env.FLOOR_USERS ?? 5000);
const dbPath =
  process.env.FLOOR_DB ??
  path.join(os.tmpdir(), `gatehouse-floor-${crypto.randomBytes(6).toString('hex')}.db`);

// A fresh random secret per start: tokens from an earlier run must not verify.
const SECRET = crypto.randomBytes(32);

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// --- database --------------------------------------------------------------
// Same shape and settings as a real service would use (TEXT uuid primary
// key, WAL), so the lookup costs what Gatehouse's lookup should cost.
const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
  )`);

const ids = [];
{
  const insert = db.prepare(
    'INSERT INTO users (id, username, email, name, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const now = new Date().toISOString();
  // One transaction: thousands of autocommits would take seconds on a slow disk.
  db.transaction(() => {
    for (let i = 0; i < USERS; i++) {
      const id = crypto.randomUUID();
      ids.push(id);
      insert.run(id, `user${i}`, `user${i}@example.test`, `User ${i}`, '$argon2id$placeholder', i % 50 === 0 ? 'admin' : 'user', now, now);
    }
  })();
}

const findUser = db.prepare(
  'SELECT id, username, email, name, role, created_at, updated_at FROM users WHERE id = ?',
);

// --- tokens ----------------------------------------------------------------
function sign(claims) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' }));
  const payload = b64url(JSON.stringify(claims));
  const sig = crypto.createHmac('sha256', SECRET).update(`${header}.${payload}`).digest();
  return `${header}.${payload}.${b64url(sig)}`;
}

// Returns the claims, or null for anything not a valid, unexpired token.
function verify(token) {
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 < 1 || dot2 < 0 || token.indexOf('.', dot2 + 1) !== -1) return null;
  const expected = crypto.createHmac('sha256', SECRET).update(token.slice(0, dot2)).digest();
  const given = Buffer.from(token.slice(dot2 + 1), 'base64url');
  // timingSafeEqual throws on unequal lengths, so check first.
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  try {
    // Parse the header too: a real verifier must reject alg confusion.
    const header = JSON.parse(Buffer.from(token.slice(0, dot1), 'base64url').toString());
    if (header.alg !== 'HS256') return null;
    const claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString());
    if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) return null;
    return claims;
  } catch {
    return null;
  }
}

// --- http ------------------------------------------------------------------
const HELLO = JSON.stringify({ hello: 'world' });
const UNAUTHORIZED = JSON.stringify({ status: 401, code: 'ERR_AUTH_UNAUTHENTICATED' });

function send(res, status, body, extra) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

const unauthorized = (res) => send(res, 401, UNAUTHORIZED, { 'www-authenticate': 'Bearer' });

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/hello') return send(res, 200, HELLO);
  if (req.method === 'GET' && req.url === '/auth/me') {
    const auth = req.headers.authorization;
    if (!auth || !auth.startsWith('Bearer ')) return unauthorized(res);
    const claims = verify(auth.slice(7));
    if (!claims) return unauthorized(res);
    const user = findUser.get(claims.sub);
    if (!user) return unauthorized(res);
    return send(res, 200, JSON.stringify(user));
  }
  send(res, 404, JSON.stringify({ status: 404 }));
});
// Match Node's defaults explicitly so the comparison with Gatehouse is about
// request handling, not about keep-alive settings.
server.keepAliveTimeout = 5000;

// --- lifecycle -------------------------------------------------------------
let closing = false;
function shutdown(code = 0) {
  if (closing) return;
  closing = true;
  server.close();
  server.closeAllConnections();
  try { db.close(); } catch {}
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbPath + suffix, { force: true });
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
// When run by bench/run.mjs there is an IPC channel to the parent: if the
// parent dies without cleaning up (even SIGKILL), the channel closes and we go too.
if (process.send) process.on('disconnect', () => shutdown(0));

server.listen(Number(process.env.FLOOR_PORT ?? 0), '127.0.0.1', () => {
  const now = Math.floor(Date.now() / 1000);
  const sub = ids[Math.floor(Math.random() * ids.length)];
  // An hour is longer than any bench run; the exp check still runs per request.
  const token = sign({ sub, role: 'user', iat: now, exp: now + 3600, jti: crypto.randomUUID() });
  process.stdout.write(`READY ${server.address().port} ${token}\n`);
});
