import type { EmailPurpose, EmailToken } from '../../core/model.js';
import type { EmailTokenStore, MailEffects, Redemption } from '../../core/ports.js';
import { ConflictError } from '../../core/errors.js';
import { UniqueViolation, type SqlDriver, type Statement } from './driver.js';
import { effectStatements, insertMail } from './mail-statements.js';
import { assignments } from './query.js';
import { USER_CHANGE_COLUMNS } from './rows.js';

interface TokenRow {
  id: string;
  user_id: string;
  purpose: EmailPurpose;
  secret_hash: string;
  code_hash: string | null;
  email: string;
  new_email: string | null;
  password_fingerprint: string;
  attempts: number;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

const COLUMNS = 'id, user_id, purpose, secret_hash, code_hash, email, new_email, password_fingerprint, attempts, expires_at, used_at, created_at';

const toToken = (r: TokenRow): EmailToken => ({
  id: r.id,
  userId: r.user_id,
  purpose: r.purpose,
  secretHash: r.secret_hash,
  codeHash: r.code_hash,
  email: r.email,
  newEmail: r.new_email,
  passwordFingerprint: r.password_fingerprint,
  attempts: Number(r.attempts),
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  createdAt: r.created_at,
});

export class SqlEmailTokenStore implements EmailTokenStore {
  constructor(private readonly db: SqlDriver) {}

  async issue(effects: MailEffects): Promise<void> {
    await this.db.batch(effectStatements(effects));
  }

  async findById(id: string): Promise<EmailToken | null> {
    const row = await this.db.get<TokenRow>(`SELECT ${COLUMNS} FROM email_tokens WHERE id = ?`, [id]);
    return row ? toToken(row) : null;
  }

  async findLive(userId: string, purpose: EmailPurpose, now: number): Promise<EmailToken | null> {
    const row = await this.db.get<TokenRow>(
      `SELECT ${COLUMNS} FROM email_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1`,
      [userId, purpose, now],
    );
    return row ? toToken(row) : null;
  }

  async takeAttempt(id: string, maxAttempts: number): Promise<boolean> {
    // One statement: the row lock (Postgres) or the single writer (SQLite) serialises concurrent tries.
    return (await this.db.run('UPDATE email_tokens SET attempts = attempts + 1 WHERE id = ? AND attempts < ? AND used_at IS NULL', [id, maxAttempts])) === 1;
  }

  async redeem(token: EmailToken, now: number, expected: { email: string; passwordHash: string }, r: Redemption): Promise<boolean> {
    const statements: Statement[] = [
      { sql: 'UPDATE email_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?', params: [now, token.id, now], expectChanges: 1 },
    ];
    // The user row is written (or merely touched) only while it still has the address and password
    // the token was checked against: a change in between voids the token (EMAIL-01).
    const set = assignments(r.userChanges ?? { updatedAt: now }, USER_CHANGE_COLUMNS);
    statements.push({
      sql: `UPDATE users SET ${set.sql} WHERE id = ? AND email = ? AND password_hash = ?`,
      params: [...set.params, token.userId, expected.email, expected.passwordHash],
      expectChanges: 1,
    });
    if (r.revokeSessions) statements.push({ sql: 'UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL', params: [now, token.userId] });
    for (const mail of r.mail ?? []) statements.push(insertMail(mail));
    try {
      return await this.db.batch(statements);
    } catch (error) {
      // A new address taken by someone else since the change was asked for.
      if (error instanceof UniqueViolation) throw new ConflictError('ERR_USER_CONFLICT', 'That email is already registered.', 'email');
      throw error;
    }
  }

  async deleteEndedBefore(before: number): Promise<number> {
    return this.db.run('DELETE FROM email_tokens WHERE expires_at < ? OR used_at < ?', [before, before]);
  }
}
