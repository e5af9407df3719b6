import { ConflictError, UnavailableError } from '../../core/errors.js';
import { usernameSkeleton } from '../../core/normalize.js';
import type { AuditEvent, AuditType, Item, Page, RefreshTokenRecord, Session, SigningKey, User } from '../../core/model.js';
import type { Circuit } from '../circuit.js';
import type { AdminGuard, AuditStore, ItemChanges, ItemStore, KeyStore, MailEffects, SessionStore, SettingStore, Storage, UserChanges, UserStore } from '../../core/ports.js';
import { UniqueViolation, type SqlDriver, type SqlParam, type Statement } from './driver.js';
import { SqlEmailTokenStore } from './email-token-store.js';
import { effectStatements } from './mail-statements.js';
import { SqlOutboxStore } from './outbox-store.js';
import { assignments, toUser, USER_CHANGE_COLUMNS, USER_COLUMNS, type UserRow } from './user-columns.js';

// Rows use snake_case columns; the core uses camelCase. They meet only here.
interface SessionRow {
  id: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
  user_agent: string | null;
  ip: string | null;
  refresh_id: string;
  rotated_at: number | null;
  client_id: string;
  scope: string;
}
interface ItemRow {
  name: string;
  price_cents: number;
  description: string | null;
  owner_id: string;
  created_at: number;
  updated_at: number;
}
interface KeyRow {
  kid: string;
  alg: SigningKey['alg'];
  private_key_pem: string;
  public_jwk: string;
  status: SigningKey['status'];
  created_at: number;
  retired_at: number | null;
}

// Any constant will do; it only has to be the same for every instance.
const ADMIN_LOCK = 0x6164_6d6e;

const SESSION_COLUMNS = 'id, user_id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip, refresh_id, rotated_at, client_id, scope';

const toSession = (r: SessionRow): Session => ({
  id: r.id,
  userId: r.user_id,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  userAgent: r.user_agent,
  ip: r.ip,
  refreshId: r.refresh_id,
  rotatedAt: r.rotated_at,
  clientId: r.client_id,
  scope: r.scope,
});
type SessionUserRow = SessionRow & Omit<UserRow, 'id' | 'created_at' | 'updated_at'> & { u_id: string; u_created_at: number; u_updated_at: number };
const SESSION_USER_COLUMNS = `s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.revoked_at, s.user_agent, s.ip, s.refresh_id, s.rotated_at, s.client_id, s.scope,
  u.id AS u_id, u.username, u.email, u.name, u.role, u.disabled, u.email_verified, u.password_hash, u.created_at AS u_created_at, u.updated_at AS u_updated_at`;
const toSessionAndUser = (row: SessionUserRow): { session: Session; user: User } => ({
  session: toSession(row),
  user: toUser({ ...row, id: row.u_id, created_at: row.u_created_at, updated_at: row.u_updated_at }),
});
interface RefreshTokenRow {
  id: string;
  session_id: string;
  secret_hash: string;
  parent_id: string | null;
  created_at: number;
}
const REFRESH_COLUMNS = 'id, session_id, secret_hash, parent_id, created_at';
const toRefreshToken = (r: RefreshTokenRow): RefreshTokenRecord => ({ id: r.id, sessionId: r.session_id, secretHash: r.secret_hash, parentId: r.parent_id, createdAt: r.created_at });
const toItem = (r: ItemRow): Item => ({
  name: r.name,
  priceCents: r.price_cents,
  description: r.description,
  ownerId: r.owner_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toKey = (r: KeyRow): SigningKey => ({
  kid: r.kid,
  alg: r.alg,
  privateKeyPem: r.private_key_pem,
  publicJwk: JSON.parse(r.public_jwk) as Record<string, string>,
  status: r.status,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
});

/** Turns a unique-index refusal into the domain's conflict error. */
async function mapConflict<T>(work: Promise<T>, conflict: (detail: string) => ConflictError): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof UniqueViolation) throw conflict(error.detail);
    throw error;
  }
}

function page<T>(rows: T[], limit: number, key: (row: T) => string): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, next: more ? key(items[items.length - 1]!) : null };
}

/** Upper bound for a prefix range: every string that starts with `prefix` sorts below it. */
function prefixEnd(prefix: string): string {
  return `${prefix}\u{10FFFF}`;
}

/** Which unique index refused a user write, said as the service says it (ID-01, ID-04). */
function userConflict(detail: string): ConflictError {
  if (detail.includes('skeleton')) return new ConflictError('ERR_USER_CONFLICT', 'That username looks like one that is taken.', 'username');
  if (detail.includes('email')) return new ConflictError('ERR_USER_CONFLICT', 'That email is already registered.', 'email');
  return new ConflictError('ERR_USER_CONFLICT', 'That username is taken.', 'username');
}

class SqlUserStore implements UserStore {
  constructor(private readonly db: SqlDriver) {}

  async create(u: User, effects?: MailEffects): Promise<void> {
    const insert: Statement = {
      sql: `INSERT INTO users (${USER_COLUMNS}, username_skeleton) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      params: [u.id, u.username, u.email, u.name, u.role, u.disabled, u.emailVerified, u.passwordHash, u.createdAt, u.updatedAt, usernameSkeleton(u.username)],
    };
    await mapConflict(
      this.db.batch([insert, ...effectStatements(effects)]),
      userConflict,
    );
  }

  private async one(where: string, value: string): Promise<User | null> {
    const row = await this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE ${where} = ?`, [value]);
    return row ? toUser(row) : null;
  }

  findById(id: string) {
    return this.one('id', id);
  }
  findByUsername(username: string) {
    return this.one('username', username);
  }
  findByEmail(email: string) {
    return this.one('email', email);
  }
  findByUsernameSkeleton(skeleton: string) {
    return this.one('username_skeleton', skeleton);
  }

  async listWithoutSkeleton(): Promise<User[]> {
    return (await this.db.all<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username_skeleton IS NULL ORDER BY id`)).map(toUser);
  }

  async reindex(id: string, identity: { username: string; email: string }): Promise<boolean> {
    try {
      await this.db.run('UPDATE users SET username = ?, email = ?, username_skeleton = ? WHERE id = ? AND username_skeleton IS NULL', [
        identity.username, identity.email, usernameSkeleton(identity.username), id,
      ]);
      return true;
    } catch (error) {
      if (error instanceof UniqueViolation) return false;
      throw error;
    }
  }

  async update(id: string, changes: UserChanges, guard: AdminGuard = {}, effects?: MailEffects): Promise<User | null> {
    const skeleton = changes.username === undefined ? {} : { usernameSkeleton: usernameSkeleton(changes.username) };
    const set = assignments({ ...changes, ...skeleton }, USER_CHANGE_COLUMNS);
    const done = await mapConflict(this.guarded(`UPDATE users SET ${set.sql} WHERE id = ?`, [...set.params, id], id, guard, effectStatements(effects)), userConflict);
    return done ? this.findById(id) : null;
  }

  async delete(id: string, guard: AdminGuard = {}): Promise<boolean> {
    return this.guarded('DELETE FROM users WHERE id = ?', [id], id, guard);
  }

  /**
   * Runs a one-row write; with `keepAnotherAdmin`, only while another enabled admin exists, in the
   * same statement. On Postgres an advisory lock serialises such writes, so two admins demoting
   * each other at once cannot both pass (each statement then sees the other's commit).
   */
  private async guarded(sql: string, params: SqlParam[], id: string, guard: AdminGuard, effects: Statement[] = []): Promise<boolean> {
    if (!guard.keepAnotherAdmin) {
      if (effects.length === 0) return (await this.db.run(sql, params)) > 0;
      return this.db.batch([{ sql, params, expectChanges: 1 }, ...effects]);
    }
    const statement = {
      sql: `${sql} AND EXISTS (SELECT 1 FROM users other WHERE other.role = 'admin' AND other.disabled = ? AND other.id <> ?)`,
      params: [...params, false, id],
      expectChanges: 1,
    };
    const lock = { sql: 'SELECT pg_advisory_xact_lock(?)', params: [ADMIN_LOCK] };
    if (await this.db.batch(this.db.dialect === 'postgres' ? [lock, statement, ...effects] : [statement, ...effects])) return true;
    if ((await this.findById(id)) === null) return false;
    throw new ConflictError('ERR_USER_LAST_ADMIN', 'The last admin cannot be demoted, disabled or deleted.');
  }

  async list(query: { limit: number; after?: string; prefix?: string }): Promise<Page<User>> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (query.prefix) {
      where.push('username >= ? AND username < ?');
      params.push(query.prefix, prefixEnd(query.prefix));
    }
    if (query.after !== undefined) {
      where.push('username > ?');
      params.push(query.after);
    }
    const rows = await this.db.all<UserRow>(
      `SELECT ${USER_COLUMNS} FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY username LIMIT ?`,
      [...params, query.limit + 1],
    );
    return page(rows.map(toUser), query.limit, (u) => u.username);
  }

  async countAdmins(): Promise<number> {
    const row = await this.db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = ?`, [false]);
    return Number(row?.n ?? 0);
  }
}

class SqlSessionStore implements SessionStore {
  constructor(private readonly db: SqlDriver) {}

  async create(s: Session, first: RefreshTokenRecord): Promise<void> {
    await this.db.batch([
      {
        sql: `INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        params: [s.id, s.userId, s.createdAt, s.lastUsedAt, s.expiresAt, s.revokedAt, s.userAgent, s.ip, s.refreshId, s.rotatedAt, s.clientId, s.scope],
      },
      {
        sql: 'INSERT INTO refresh_tokens (id, session_id, secret_hash, parent_id, created_at) VALUES (?, ?, ?, ?, ?)',
        params: [first.id, first.sessionId, first.secretHash, first.parentId, first.createdAt],
      },
    ]);
  }

  async findById(id: string): Promise<Session | null> {
    const row = await this.db.get<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = ?`, [id]);
    return row ? toSession(row) : null;
  }

  async findWithUser(id: string): Promise<{ session: Session; user: User } | null> {
    const row = await this.db.get<SessionUserRow>(`SELECT ${SESSION_USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, [id]);
    return row ? toSessionAndUser(row) : null;
  }

  async findRefreshToken(id: string): Promise<RefreshTokenRecord | null> {
    const row = await this.db.get<RefreshTokenRow>(`SELECT ${REFRESH_COLUMNS} FROM refresh_tokens WHERE id = ?`, [id]);
    return row ? toRefreshToken(row) : null;
  }

  async findByRefreshToken(id: string): Promise<{ token: RefreshTokenRecord; session: Session; user: User } | null> {
    // One statement for what a refresh reads: the token, its session and the session's user.
    const row = await this.db.get<SessionUserRow & { t_id: string; t_secret_hash: string; t_parent_id: string | null; t_created_at: number }>(
      `SELECT t.id AS t_id, t.secret_hash AS t_secret_hash, t.parent_id AS t_parent_id, t.created_at AS t_created_at, ${SESSION_USER_COLUMNS}
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id WHERE t.id = ?`,
      [id],
    );
    if (!row) return null;
    const token = { id: row.t_id, sessionId: row.id, secretHash: row.t_secret_hash, parentId: row.t_parent_id, createdAt: row.t_created_at };
    return { token, ...toSessionAndUser(row) };
  }

  rotateRefresh(sessionId: string, expectedRefreshId: string, next: RefreshTokenRecord): Promise<boolean> {
    // The UPDATE is the compare-and-swap, first: a loser stops there, its transaction rolled back
    // before it wrote anything.
    return this.db.batch([
      {
        sql: 'UPDATE sessions SET refresh_id = ?, rotated_at = ?, last_used_at = ? WHERE id = ? AND refresh_id = ? AND revoked_at IS NULL',
        params: [next.id, next.createdAt, next.createdAt, sessionId, expectedRefreshId],
        expectChanges: 1,
      },
      {
        sql: 'INSERT INTO refresh_tokens (id, session_id, secret_hash, parent_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        params: [next.id, next.sessionId, next.secretHash, next.parentId, next.createdAt],
      },
    ]);
  }

  async listActiveForUser(userId: string, now: number): Promise<Session[]> {
    const rows = await this.db.all<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 100`,
      [userId, now],
    );
    return rows.map(toSession);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return (await this.db.run('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) > 0;
  }

  async deleteEndedBefore(before: number): Promise<number> {
    return this.db.run('DELETE FROM sessions WHERE expires_at < ? OR (revoked_at IS NOT NULL AND revoked_at < ?)', [before, before]);
  }

  async revokeAllForUser(userId: string, at: number, exceptId?: string): Promise<string[]> {
    const rows = await this.db.all<{ id: string }>(
      'SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND id <> ?',
      [userId, exceptId ?? ''],
    );
    if (rows.length === 0) return [];
    await this.db.run('UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id <> ?', [at, userId, exceptId ?? '']);
    return rows.map((r) => r.id);
  }
}

class SqlItemStore implements ItemStore {
  constructor(private readonly db: SqlDriver) {}

  private conflict = () => new ConflictError('ERR_ITEM_CONFLICT', 'An item with that name exists.', 'name');

  async create(i: Item): Promise<void> {
    await mapConflict(
      this.db.run('INSERT INTO items (name, price_cents, description, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [
        i.name, i.priceCents, i.description, i.ownerId, i.createdAt, i.updatedAt,
      ]),
      this.conflict,
    );
  }

  async findByName(name: string): Promise<Item | null> {
    const row = await this.db.get<ItemRow>('SELECT name, price_cents, description, owner_id, created_at, updated_at FROM items WHERE name = ?', [name]);
    return row ? toItem(row) : null;
  }

  async update(name: string, expectedOwnerId: string, changes: ItemChanges): Promise<Item | null> {
    const set = assignments(changes, { name: 'name', priceCents: 'price_cents', description: 'description', updatedAt: 'updated_at' });
    const changed = await mapConflict(
      this.db.run(`UPDATE items SET ${set.sql} WHERE name = ? AND owner_id = ?`, [...set.params, name, expectedOwnerId]),
      this.conflict,
    );
    return changed === 0 ? null : this.findByName(changes.name ?? name);
  }

  async delete(name: string, expectedOwnerId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM items WHERE name = ? AND owner_id = ?', [name, expectedOwnerId])) > 0;
  }

  async list(query: { limit: number; after?: string; ownerId?: string }): Promise<Page<Item>> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (query.ownerId !== undefined) {
      where.push('owner_id = ?');
      params.push(query.ownerId);
    }
    if (query.after !== undefined) {
      where.push('name > ?');
      params.push(query.after);
    }
    const rows = await this.db.all<ItemRow>(
      `SELECT name, price_cents, description, owner_id, created_at, updated_at FROM items ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name LIMIT ?`,
      [...params, query.limit + 1],
    );
    return page(rows.map(toItem), query.limit, (i) => i.name);
  }
}

class SqlKeyStore implements KeyStore {
  constructor(private readonly db: SqlDriver) {}

  private async select(where: string): Promise<SigningKey[]> {
    const rows = await this.db.all<KeyRow>(
      `SELECT kid, alg, private_key_pem, public_jwk, status, created_at, retired_at FROM signing_keys ${where} ORDER BY created_at DESC, kid`,
    );
    return rows.map(toKey);
  }

  listUsable() {
    return this.select(`WHERE status <> 'retired'`);
  }
  listAll() {
    return this.select('');
  }

  async insert(k: SigningKey): Promise<void> {
    await this.db.run(
      'INSERT INTO signing_keys (kid, alg, private_key_pem, public_jwk, status, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING',
      [k.kid, k.alg, k.privateKeyPem, JSON.stringify(k.publicJwk), k.status, k.createdAt, k.retiredAt],
    );
  }

  async insertFirst(k: SigningKey): Promise<void> {
    // One statement under a lock: two instances starting together cannot both see "no key" and
    // each make one (they would then sign with keys the other does not know yet).
    await this.db.batch(
      [
        {
          sql: `INSERT INTO signing_keys (kid, alg, private_key_pem, public_jwk, status, created_at, retired_at)
                SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ? AND status <> 'retired')`,
          params: [k.kid, k.alg, k.privateKeyPem, JSON.stringify(k.publicJwk), k.status, k.createdAt, k.retiredAt, k.alg],
        },
      ],
      { lock: 'gatehouse:first-signing-key' },
    );
  }

  async setStatus(kid: string, status: SigningKey['status'], at: number): Promise<boolean> {
    const retiredAt = status === 'retired' ? at : null;
    return (await this.db.run('UPDATE signing_keys SET status = ?, retired_at = ? WHERE kid = ?', [status, retiredAt, kid])) > 0;
  }
}

class SqlSettingStore implements SettingStore {
  constructor(private readonly db: SqlDriver) {}

  async getOrCreate(name: string, value: string): Promise<string> {
    await this.db.run('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [name, value]);
    const row = await this.db.get<{ value: string }>('SELECT value FROM settings WHERE name = ?', [name]);
    return row!.value;
  }
}

interface AuditRow {
  id: string;
  at: number;
  type: AuditType;
  actor_id: string | null;
  subject_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: string;
}

class SqlAuditStore implements AuditStore {
  constructor(private readonly db: SqlDriver) {}

  async append(e: AuditEvent): Promise<void> {
    await this.db.run(
      'INSERT INTO audit_events (id, at, type, actor_id, subject_id, ip, user_agent, request_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [e.id, e.at, e.type, e.actorId, e.subjectId, e.ip, e.userAgent, e.requestId, JSON.stringify(e.details)],
    );
  }

  async list(query: { limit: number; before?: string; from?: string; userId?: string; type?: AuditType }): Promise<Page<AuditEvent>> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (query.userId !== undefined) {
      where.push('(subject_id = ? OR actor_id = ?)');
      params.push(query.userId, query.userId);
    }
    if (query.type !== undefined) {
      where.push('type = ?');
      params.push(query.type);
    }
    if (query.before !== undefined) {
      where.push('id < ?');
      params.push(query.before);
    }
    if (query.from !== undefined) {
      where.push('id >= ?');
      params.push(query.from);
    }
    const rows = await this.db.all<AuditRow>(
      `SELECT id, at, type, actor_id, subject_id, ip, user_agent, request_id, details FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...params, query.limit + 1],
    );
    const events = rows.map((r) => ({
      id: r.id,
      at: r.at,
      type: r.type,
      actorId: r.actor_id,
      subjectId: r.subject_id,
      ip: r.ip,
      userAgent: r.user_agent,
      requestId: r.request_id,
      details: JSON.parse(r.details) as AuditEvent['details'],
    }));
    return page(events, query.limit, (e) => e.id);
  }
}

/** Every store over one driver; the same code serves SQLite and Postgres. */
const FULL_REPORTED_MS = 30_000;

/** A storage over SQL, with its database's circuit for /ready and the metrics. */
export type SqlStorage = Storage & { readonly circuit: Circuit };

export function createSqlStorage(db: SqlDriver): SqlStorage {
  return {
    users: new SqlUserStore(db),
    sessions: new SqlSessionStore(db),
    items: new SqlItemStore(db),
    keys: new SqlKeyStore(db),
    settings: new SqlSettingStore(db),
    audit: new SqlAuditStore(db),
    emailTokens: new SqlEmailTokenStore(db),
    outbox: new SqlOutboxStore(db),
    ping: async (mode = 'read') => {
      await db.get('SELECT 1 AS ok');
      if (mode === 'write') {
        await db.run('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', ['ready_probe', String(Date.now())]);
        // A probe this small may still fit where real writes no longer do: a recent "no space"
        // answer to any write counts too, for half a minute.
        if (Date.now() - db.lastFullAt < FULL_REPORTED_MS) {
          throw UnavailableError.full('a write failed for want of space');
        }
      }
    },
    circuit: db.circuit,
    close: () => db.close(),
  };
}
