// Bulk seeding for the scale benchmark (bench/scale.mjs): N users and N/10 items
// written straight into a Gatehouse SQLite file, not through the HTTP API.
//
//   import { seed } from './seed.mjs';
//   await seed('/tmp/x.db', { users: 1_000_000 });
//
//   node bench/seed.mjs /tmp/x.db 1000000        (needs dist/: npm run build)
//
// The schema comes from `node dist/cli/main.js migrate`, so it is exactly the
// service's, indexes included. Every seeded user has the same password
// (SEED_PASSWORD) and shares one Argon2id hash computed once with the service's
// parameters (so a login never triggers a rehash).
//
// Rows, for i = 1..users:
//   users:  id        UUIDv7-shaped, increasing with i (same layout as src/core/ids.ts)
//           username  user0000001, user0000002, ... (zero-padded to 7 digits, so
//                     username order = insertion order)
//           email     user0000001@example.com, ...
//           role 'user', disabled 0, name null, created_at = updated_at = now
//   items (default users/10), for j = 1..items:
//           name      item-0000001, ...
//           owner     user j*10 (wrapping), price_cents 999

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hash } from '@node-rs/argon2';
import Database from 'better-sqlite3';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(benchDir, '..');
const gatehouseMain = path.join(repoDir, 'dist', 'cli', 'main.js');

export const SEED_PASSWORD = 'bench-Password-123!';
const BATCH = 50_000;
const PAD = 7;

export const seedUsername = (i) => `user${String(i).padStart(PAD, '0')}`;
export const seedItemName = (j) => `item-${String(j).padStart(PAD, '0')}`;

/**
 * UUIDv7 ids for rows first..first+count-1, increasing: 4096 per millisecond
 * (the 12-bit counter of src/core/ids.ts), the rest random. `baseMs` is the
 * millisecond of row 0.
 */
function idBatch(baseMs, first, count) {
  const buf = crypto.randomBytes(16 * count);
  const ids = new Array(count);
  for (let k = 0; k < count; k++) {
    const i = first + k;
    const off = k * 16;
    const seq = i & 0xfff;
    buf.writeUIntBE(baseMs + Math.floor(i / 4096), off, 6);
    buf[off + 6] = 0x70 | (seq >> 8);
    buf[off + 7] = seq & 0xff;
    buf[off + 8] = (buf[off + 8] & 0x3f) | 0x80;
    const hex = buf.toString('hex', off, off + 16);
    ids[k] = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return ids;
}

/**
 * Creates (migrates) and fills the SQLite database at dbPath. The file must not
 * exist yet. Returns { users, items, userIds (first/last), seconds }.
 */
export async function seed(dbPath, { users, items = Math.floor(users / 10), log = () => {} } = {}) {
  if (!Number.isInteger(users) || users < 1 || users >= 10 ** PAD) throw new Error(`users must be 1..${10 ** PAD - 1}, got ${users}`);
  if (fs.existsSync(dbPath)) throw new Error(`${dbPath} exists; seed wants a fresh file`);
  if (!fs.existsSync(gatehouseMain)) throw new Error(`${path.relative(repoDir, gatehouseMain)} not found: run "npm run build"`);
  const started = process.hrtime.bigint();

  execFileSync(process.execPath, [gatehouseMain, 'migrate'], {
    cwd: repoDir,
    env: { ...process.env, DATABASE_URL: `sqlite:${dbPath}`, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  // Same parameters as src/core/auth/password-hasher.ts (OWASP_ARGON2ID), so no rehash on login.
  const passwordHash = await hash(SEED_PASSWORD, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 });

  const db = new Database(dbPath);
  try {
    // Seeding only: these are per-connection (synchronous, cache, temp_store)
    // and this connection closes before the service opens the file.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144'); // 256 MiB: keeps the index pages being appended to in memory
    db.pragma('temp_store = MEMORY');

    const now = Date.now();
    const baseMs = now - Math.ceil(users / 4096) - 1; // every id is in the past
    const insertUser = db.prepare(
      `INSERT INTO users (id, username, email, name, role, disabled, password_hash, created_at, updated_at)
       VALUES (?, ?, ?, NULL, 'user', 0, ?, ?, ?)`,
    );
    const userBatch = db.transaction((first, count) => {
      const ids = idBatch(baseMs, first, count);
      for (let k = 0; k < count; k++) {
        const name = seedUsername(first + k + 1);
        insertUser.run(ids[k], name, `${name}@example.com`, passwordHash, now, now);
      }
      return ids;
    });
    // Owners of items are looked up by user number, so keep ids (36 chars each; ~40 MB for 1M).
    const userIds = new Array(users);
    for (let first = 0; first < users; first += BATCH) {
      const count = Math.min(BATCH, users - first);
      const ids = userBatch(first, count);
      for (let k = 0; k < count; k++) userIds[first + k] = ids[k];
      if (users >= 200_000 && (first + count) % 200_000 === 0) log(`  ${(first + count).toLocaleString('en-US')} users`);
    }

    const insertItem = db.prepare(
      `INSERT INTO items (name, price_cents, description, owner_id, created_at, updated_at)
       VALUES (?, 999, NULL, ?, ?, ?)`,
    );
    const itemBatch = db.transaction((first, count) => {
      for (let k = 0; k < count; k++) {
        const j = first + k + 1;
        insertItem.run(seedItemName(j), userIds[(j * 10 - 1) % users], now, now);
      }
    });
    for (let first = 0; first < items; first += BATCH) itemBatch(first, Math.min(BATCH, items - first));

    // Fold the WAL into the main file so the service starts from a clean state.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { users, items, first_user_id: userIds[0], last_user_id: userIds[users - 1], seconds };
  } finally {
    db.close();
  }
}

// CLI: node bench/seed.mjs <db path> [users] [items]
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dbPath, usersArg = '1000000', itemsArg] = process.argv.slice(2);
  if (!dbPath) {
    console.error('usage: node bench/seed.mjs <db path> [users=1000000] [items=users/10]');
    process.exit(2);
  }
  const users = Number(usersArg);
  const r = await seed(path.resolve(dbPath), {
    users,
    items: itemsArg === undefined ? undefined : Number(itemsArg),
    log: (m) => console.error(m),
  });
  console.log(
    `seeded ${r.users.toLocaleString('en-US')} users and ${r.items.toLocaleString('en-US')} items in ${r.seconds.toFixed(1)} s (password ${JSON.stringify(SEED_PASSWORD)})`,
  );
}
