import type { RefreshTokenRecord, Role, Session, User } from '../../core/model.js';
import type { RefreshRotation, SessionStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';
import { where } from './query.js';
import { REFRESH_COLUMNS, SESSION_COLUMNS, SESSION_USER_COLUMNS, toSession, toSessionAndUser, type SessionRow, type SessionUserRow } from './rows.js';

export class SqlSessionStore implements SessionStore {
  constructor(private readonly db: SqlDriver) {}

  async create(s: Session, first: RefreshTokenRecord): Promise<void> {
    await this.db.batch([
      {
        sql: `INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        params: [
          s.id,
          s.userId,
          s.createdAt,
          s.lastUsedAt,
          s.expiresAt,
          s.revokedAt,
          s.userAgent,
          s.ip,
          s.refreshId,
          s.rotatedAt,
          s.clientId,
          s.scope,
          s.authTime,
          s.amr.join(' '),
          s.acr,
          s.refreshHash,
        ],
      },
      {
        sql: `INSERT INTO refresh_tokens (${REFRESH_COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
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

  async rotateRefresh(sessionId: string, expectedRefreshId: string, next: RefreshRotation): Promise<boolean> {
    // The compare-and-swap: of two refreshes with one token, only the first changes the row.
    const changed = await this.db.run(
      'UPDATE sessions SET refresh_id = ?, refresh_hash = ?, rotated_at = ?, last_used_at = ? WHERE id = ? AND refresh_id = ? AND revoked_at IS NULL',
      [next.id, next.secretHash, next.at, next.at, sessionId, expectedRefreshId],
    );
    return changed === 1;
  }

  async rotateCurrent(sessionId: string, current: { id: string; secretHash: string; clientId: string }, next: RefreshRotation): Promise<{ session: Session; role: Role } | null> {
    const rows = await this.db.returning<SessionRow & { user_role: Role }>(
      `UPDATE sessions SET refresh_id = ?, refresh_hash = ?, rotated_at = ?, last_used_at = ?
        WHERE id = ? AND refresh_id = ? AND refresh_hash = ? AND client_id = ? AND revoked_at IS NULL AND expires_at > ?
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = sessions.user_id AND u.disabled = ?)
        RETURNING ${SESSION_COLUMNS}, (SELECT u.role FROM users u WHERE u.id = sessions.user_id) AS user_role`,
      [next.id, next.secretHash, next.at, next.at, sessionId, current.id, current.secretHash, current.clientId, next.at, false],
    );
    const row = rows[0];
    return row === undefined ? null : { session: toSession(row), role: row.user_role };
  }

  async recordAuthentication(id: string, auth: { authTime: number; amr: readonly string[]; acr: string }): Promise<boolean> {
    const changed = await this.db.run('UPDATE sessions SET auth_time = ?, amr = ?, acr = ? WHERE id = ? AND revoked_at IS NULL', [auth.authTime, auth.amr.join(' '), auth.acr, id]);
    return changed > 0;
  }

  async listActiveForUser(userId: string, now: number): Promise<Session[]> {
    const w = where([['user_id = ?', userId], ['revoked_at IS NULL'], ['expires_at > ?', now]]);
    const rows = await this.db.all<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions ${w.sql} ORDER BY created_at DESC LIMIT 100`, w.params);
    return rows.map(toSession);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return (await this.db.run('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])) > 0;
  }

  async deleteEndedBefore(before: number): Promise<number> {
    return this.db.run('DELETE FROM sessions WHERE expires_at < ? OR (revoked_at IS NOT NULL AND revoked_at < ?)', [before, before]);
  }

  async revokeAllForUser(userId: string, at: number, exceptId?: string): Promise<string[]> {
    // One statement: the ids returned are exactly the sessions this call revoked.
    const rows = await this.db.returning<{ id: string }>('UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id <> ? RETURNING id', [
      at,
      userId,
      exceptId ?? '',
    ]);
    return rows.map((r) => r.id);
  }

  async revokeAllForClient(clientId: string, at: number): Promise<{ id: string; userId: string }[]> {
    const rows = await this.db.returning<{ id: string; user_id: string }>('UPDATE sessions SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL RETURNING id, user_id', [
      at,
      clientId,
    ]);
    return rows.map((r) => ({ id: r.id, userId: r.user_id }));
  }
}
