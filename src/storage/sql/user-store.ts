import { ConflictError } from '../../core/errors.js';
import { usernameSkeleton } from '../../core/normalize.js';
import type { DirectoryEntry, LinkedIdentity, Page, User } from '../../core/model.js';
import { identityTaken, insertIdentity } from './identity-store.js';
import type { AdminGuard, MailEffects, UserChanges, UserListQuery, UserStore } from '../../core/ports.js';
import { UniqueViolation, type SqlDriver, type SqlParam, type Statement } from './driver.js';
import { effectStatements } from './mail-statements.js';
import { assignments, keysetPage, mapConflict, prefixRange } from './query.js';
import { toUser, USER_CHANGE_COLUMNS, USER_COLUMNS, type UserRow } from './rows.js';

/** Which unique index refused a user write, said as the service says it (ID-01, ID-04). */
function userConflict(detail: string): ConflictError {
  if (detail.includes('skeleton')) return new ConflictError('ERR_USER_CONFLICT', 'That username looks like one that is taken.', 'username');
  if (detail.includes('email')) return new ConflictError('ERR_USER_CONFLICT', 'That email is already registered.', 'email');
  return new ConflictError('ERR_USER_CONFLICT', 'That username is taken.', 'username');
}

// Writes that must leave another enabled admin take turns under this lock (see guarded()).
const ADMINS_LOCK = 'gatehouse:admins';

export class SqlUserStore implements UserStore {
  constructor(private readonly db: SqlDriver) {}

  /** With `effects`, the mail and tokens the creation causes are written in the same transaction (outbox). */
  async create(u: User, effects?: MailEffects, identity?: LinkedIdentity): Promise<void> {
    const insert: Statement = {
      sql: `INSERT INTO users (${USER_COLUMNS}, username_skeleton) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      params: [u.id, u.username, u.email, u.name, u.role, u.disabled, u.emailVerified, u.passwordHash, u.createdAt, u.updatedAt, usernameSkeleton(u.username)],
    };
    const mail = effectStatements(effects);
    const linked = identity ? [insertIdentity(identity)] : [];
    if (mail.length === 0 && linked.length === 0) await mapConflict(this.db.run(insert.sql, insert.params), userConflict);
    else await mapConflict(this.db.batch([insert, ...linked, ...mail]), (detail) => (detail.includes('user_identities') ? identityTaken() : userConflict(detail)));
  }

  private async one(column: string, value: string): Promise<User | null> {
    const row = await this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE ${column} = ?`, [value]);
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
        identity.username,
        identity.email,
        usernameSkeleton(identity.username),
        id,
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
    const sql = `UPDATE users SET ${set.sql} WHERE id = ?`;
    const mail = effectStatements(effects);
    if (mail.length === 0) {
      const row = await mapConflict(this.guarded(sql, [...set.params, id], id, guard, USER_COLUMNS), userConflict);
      return row ? toUser(row) : null;
    }
    // The change and the mail it causes commit together (outbox): one transaction, then the row.
    const written = await mapConflict(this.guardedWithEffects(sql, [...set.params, id], id, guard, mail), userConflict);
    return written ? this.findById(id) : null;
  }

  async delete(id: string, guard: AdminGuard = {}): Promise<boolean> {
    return (await this.guarded('DELETE FROM users WHERE id = ?', [id], id, guard, 'id')) !== undefined;
  }

  /**
   * Runs a one-row write and returns the row it wrote (`returning` columns); with
   * `keepAnotherAdmin`, only while another enabled admin exists, in the same statement, under a
   * lock the driver holds for it (two admins demoting each other at once cannot both pass: each
   * statement then sees the other's commit).
   */
  private async guarded(sql: string, params: SqlParam[], id: string, guard: AdminGuard, returning: string): Promise<UserRow | undefined> {
    if (!guard.keepAnotherAdmin) return (await this.db.returning<UserRow>(`${sql} RETURNING ${returning}`, params))[0];
    const [row] = await this.db.returning<UserRow>(
      `${sql} AND EXISTS (SELECT 1 FROM users other WHERE other.role = 'admin' AND other.disabled = ? AND other.id <> ?) RETURNING ${returning}`,
      [...params, false, id],
      { lock: ADMINS_LOCK },
    );
    if (row) return row;
    if ((await this.findById(id)) === null) return undefined;
    throw new ConflictError('ERR_USER_LAST_ADMIN', 'The last admin cannot be demoted, disabled or deleted.');
  }

  /** guarded() for a write that carries statements of its own (mail effects) in its transaction. */
  private async guardedWithEffects(sql: string, params: SqlParam[], id: string, guard: AdminGuard, effects: Statement[]): Promise<boolean> {
    if (!guard.keepAnotherAdmin) return this.db.batch([{ sql, params, expectChanges: 1 }, ...effects]);
    const statement = {
      sql: `${sql} AND EXISTS (SELECT 1 FROM users other WHERE other.role = 'admin' AND other.disabled = ? AND other.id <> ?)`,
      params: [...params, false, id],
      expectChanges: 1,
    };
    if (await this.db.batch([statement, ...effects], { lock: ADMINS_LOCK })) return true;
    if ((await this.findById(id)) === null) return false;
    throw new ConflictError('ERR_USER_LAST_ADMIN', 'The last admin cannot be demoted, disabled or deleted.');
  }

  list(query: UserListQuery): Promise<Page<User>> {
    return keysetPage(this.db, { ...byUsername(query), from: `SELECT ${USER_COLUMNS} FROM users`, map: toUser, keyOf: (u) => u.username });
  }

  listDirectory(query: UserListQuery): Promise<Page<DirectoryEntry>> {
    return keysetPage(this.db, { ...byUsername(query), from: 'SELECT id, username, name FROM users', map: (row: DirectoryEntry) => row, keyOf: (e) => e.username });
  }

  async countAdmins(): Promise<number> {
    const row = await this.db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = ?`, [false]);
    return Number(row?.n ?? 0);
  }
}

/** The cut and order every page of users shares: by username, from `after`, within `prefix`. */
function byUsername(query: UserListQuery) {
  return { conditions: [prefixRange('username', query.prefix)], key: 'username', after: query.after, limit: query.limit };
}
