// The "floors": the least work any server can do to answer each benchmarked route, with no
// framework, no validation layer, no logging, no security headers. Gatehouse's ratio to a floor is
// the cost (or the saving) of everything it does differently on that route.
//
//   GET  /hello          plain node:http, no auth, no database: the ceiling of this machine
//   GET  /auth/me        HMAC-SHA256 token check + one SQLite primary-key lookup of the user
//   GET  /users/:id      the same, the id from the path
//   GET  /items/:name    token check + one primary-key lookup of the item
//   GET  /users?limit=20 token check + one 21-row keyset page by username
//   POST /items          token check + JSON body + one INSERT
//   POST /auth/refresh   SHA-256 of the presented token, one lookup by that hash, a compare-and-swap
//                        UPDATE to a fresh token, an EdDSA-signed access token
//   POST /floor/session  set-up only (not measured): a fresh refresh token for a chain
//
// A second listener is Fastify's own hello (`{ hello: 'world' }`, no schema, no logger): the
// reference for GET /health.
//
// Standalone use:  node bench/floor-server.mjs   (prints "READY <port> <fastify port> <token>")
// Env: FLOOR_DB (default: a new file in os.tmpdir(), removed on exit), FLOOR_USERS (default 5000).

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const USERS = Number(process.env.FLOOR_USERS ?? 5000);
const ITEMS = 100;
const dbPath = process.env.FLOOR_DB ?? path.join(os.tmpdir(), `gatehouse-floor-${crypto.randomBytes(6).toString('hex')}.db`);

// A fresh random secret and signing key per start: tokens from an earlier run must not verify.
const SECRET = crypto.randomBytes(32);
const { privateKey: SIGNING_KEY } = crypto.generateKeyPairSync('ed25519');
const b64url = (buf) => Buffer.from(buf).toString('base64url');

// --- database --------------------------------------------------------------
// Same settings as Gatehouse's SQLite driver (WAL, synchronous=NORMAL), so a lookup or a write
// costs here what it costs there.
const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT NOT NULL UNIQUE, name TEXT,
    password_hash TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'user', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS items (
    name TEXT PRIMARY KEY, price_cents INTEGER NOT NULL, description TEXT, owner_id TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS refresh (
    hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, role TEXT NOT NULL, expires_at INTEGER NOT NULL);`);

const ids = [];
{
  const insertUser = db.prepare('INSERT INTO users (id, username, email, name, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insertItem = db.prepare('INSERT INTO items (name, price_cents, description, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
  const now = new Date().toISOString();
  // One transaction: thousands of autocommits would take seconds on a slow disk.
  db.transaction(() => {
    for (let i = 0; i < USERS; i++) {
      const id = crypto.randomUUID();
      ids.push(id);
      insertUser.run(id, `user${String(i).padStart(5, '0')}`, `user${i}@example.test`, `User ${i}`, '$argon2id$placeholder', i % 50 === 0 ? 'admin' : 'user', now, now);
    }
    for (let i = 0; i < ITEMS; i++) insertItem.run(i === 0 ? 'lamp' : `item-${i}`, 999, null, ids[i], now, now);
  })();
}

const USER_COLUMNS = 'id, username, name, role, created_at, updated_at';
const findUser = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`);
const listUsers = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username > ? ORDER BY username LIMIT ?`);
const findItem = db.prepare('SELECT name, price_cents, description, owner_id, created_at, updated_at FROM items WHERE name = ?');
const insertItem = db.prepare('INSERT INTO items (name, price_cents, description, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
const findRefresh = db.prepare('SELECT user_id, role, expires_at FROM refresh WHERE hash = ?');
const swapRefresh = db.prepare('UPDATE refresh SET hash = ? WHERE hash = ?');
const insertRefresh = db.prepare('INSERT INTO refresh (hash, user_id, role, expires_at) VALUES (?, ?, ?, ?)');

// --- tokens ----------------------------------------------------------------
function signHs256(claims) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' }));
  const payload = b64url(JSON.stringify(claims));
  return `${header}.${payload}.${b64url(crypto.createHmac('sha256', SECRET).update(`${header}.${payload}`).digest())}`;
}

const EDDSA_HEADER = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'floor' }));
function signEdDsa(claims) {
  const input = `${EDDSA_HEADER}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(crypto.sign(null, Buffer.from(input), SIGNING_KEY))}`;
}

// The claims of a valid, unexpired HS256 token, or null.
function verify(token) {
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 < 1 || dot2 < 0 || token.indexOf('.', dot2 + 1) !== -1) return null;
  const expected = crypto.createHmac('sha256', SECRET).update(token.slice(0, dot2)).digest();
  const given = Buffer.from(token.slice(dot2 + 1), 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  try {
    // Parse the header too: a real verifier must refuse alg confusion.
    const header = JSON.parse(Buffer.from(token.slice(0, dot1), 'base64url').toString());
    if (header.alg !== 'HS256') return null;
    const claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString());
    if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) return null;
    return claims;
  } catch {
    return null;
  }
}

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('base64url');

function newRefresh(userId, role) {
  const token = b64url(crypto.randomBytes(32));
  insertRefresh.run(sha256(token), userId, role, Date.now() + 86_400_000);
  return token;
}

// --- http ------------------------------------------------------------------
const HELLO = JSON.stringify({ hello: 'world' });

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(body));
      } catch {
        resolve(null);
      }
    });
  });
}

function claimsOf(req) {
  const auth = req.headers.authorization;
  return auth && auth.startsWith('Bearer ') ? verify(auth.slice(7)) : null;
}

async function handle(req, res) {
  const { method, url } = req;
  if (method === 'GET' && url === '/hello') return send(res, 200, HELLO);
  if (method === 'POST' && url === '/auth/refresh') {
    const body = await readBody(req);
    if (typeof body?.refresh_token !== 'string') return send(res, 400, '{"status":400}');
    const hash = sha256(body.refresh_token);
    const row = findRefresh.get(hash);
    if (!row || row.expires_at <= Date.now()) return send(res, 401, '{"status":401}');
    const next = b64url(crypto.randomBytes(32));
    // The compare-and-swap: only one of two concurrent refreshes with one token changes the row.
    if (swapRefresh.run(sha256(next), hash).changes !== 1) return send(res, 401, '{"status":401}');
    const now = Math.floor(Date.now() / 1000);
    const access = signEdDsa({ sub: row.user_id, role: row.role, iat: now, exp: now + 900, jti: b64url(crypto.randomBytes(16)) });
    return send(res, 200, JSON.stringify({ access_token: access, token_type: 'Bearer', expires_in: 900, refresh_token: next }));
  }
  if (method === 'POST' && url === '/floor/session') {
    const user = findUser.get(ids[0]);
    return send(res, 200, JSON.stringify({ refresh_token: newRefresh(user.id, user.role) }));
  }

  const claims = claimsOf(req);
  if (!claims) return send(res, 401, '{"status":401}');
  if (method === 'GET') {
    if (url === '/auth/me') {
      const user = findUser.get(claims.sub);
      return user ? send(res, 200, JSON.stringify(user)) : send(res, 401, '{"status":401}');
    }
    if (url.startsWith('/users/')) {
      const user = findUser.get(decodeURIComponent(url.slice(7)));
      return user ? send(res, 200, JSON.stringify(user)) : send(res, 404, '{"status":404}');
    }
    if (url.startsWith('/items/')) {
      const item = findItem.get(decodeURIComponent(url.slice(7)));
      return item ? send(res, 200, JSON.stringify(item)) : send(res, 404, '{"status":404}');
    }
    if (url.startsWith('/users?')) {
      const limit = Number(new URLSearchParams(url.slice(7)).get('limit') ?? 20);
      const rows = listUsers.all('', limit + 1);
      const more = rows.length > limit;
      if (more) rows.pop();
      return send(res, 200, JSON.stringify({ items: rows, next_cursor: more ? rows[rows.length - 1].username : null }));
    }
  }
  if (method === 'POST' && url === '/items') {
    const body = await readBody(req);
    if (typeof body?.name !== 'string' || typeof body.price !== 'number') return send(res, 400, '{"status":400}');
    const now = new Date().toISOString();
    const item = { name: body.name, price_cents: Math.round(body.price * 100), description: body.description ?? null, owner_id: claims.sub, created_at: now, updated_at: now };
    try {
      insertItem.run(item.name, item.price_cents, item.description, item.owner_id, now, now);
    } catch {
      return send(res, 409, '{"status":409}');
    }
    return send(res, 201, JSON.stringify(item));
  }
  send(res, 404, '{"status":404}');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => send(res, 500, '{"status":500}'));
});
// Fastify's keep-alive default, the one Gatehouse runs with.
server.keepAliveTimeout = 72_000;

const fastify = Fastify({ logger: false });
fastify.get('/hello', async () => ({ hello: 'world' }));

// --- lifecycle -------------------------------------------------------------
let closing = false;
function shutdown(code = 0) {
  if (closing) return;
  closing = true;
  server.close();
  server.closeAllConnections();
  void fastify.close();
  try {
    db.close();
  } catch {
    /* already closed */
  }
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbPath + suffix, { force: true });
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
// When run by bench/run.mjs there is an IPC channel to the parent: if the parent dies without
// cleaning up (even SIGKILL), the channel closes and we go too.
if (process.send) process.on('disconnect', () => shutdown(0));

server.listen(0, '127.0.0.1', async () => {
  const fastifyAddress = await fastify.listen({ port: 0, host: '127.0.0.1' });
  const now = Math.floor(Date.now() / 1000);
  // The token of a plain user (index 1; every 50th is an admin). An hour is longer than any run.
  const token = signHs256({ sub: ids[1], role: 'user', iat: now, exp: now + 3600, jti: crypto.randomUUID() });
  process.stdout.write(`READY ${server.address().port} ${new URL(fastifyAddress).port} ${token} ${ids[2]}\n`);
});
