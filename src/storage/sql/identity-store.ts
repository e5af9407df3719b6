import { ConflictError } from '../../core/errors.js';
import type { LinkedIdentity } from '../../core/model.js';
import type { IdentityStore, MailEffects } from '../../core/ports.js';
import type { SqlDriver, Statement } from './driver.js';
import { effectStatements } from './mail-statements.js';
import { mapConflict } from './query.js';

interface IdentityRow {
  id: string;
  user_id: string;
  provider: string;
  issuer: string;
  subject: string;
  email: string | null;
  created_at: number;
  last_used_at: number;
}
const COLUMNS = 'id, user_id, provider, issuer, subject, email, created_at, last_used_at';
const toIdentity = (r: IdentityRow): LinkedIdentity => ({
  id: r.id,
  userId: r.user_id,
  provider: r.provider,
  issuer: r.issuer,
  subject: r.subject,
  email: r.email,
  createdAt: Number(r.created_at),
  lastUsedAt: Number(r.last_used_at),
});

export const identityTaken = () => new ConflictError('ERR_SSO_IDENTITY_TAKEN');

/** The insert of an identity, for the user store to write with a new user in one transaction. */
export function insertIdentity(i: LinkedIdentity): Statement {
  return {
    sql: `INSERT INTO user_identities (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    params: [i.id, i.userId, i.provider, i.issuer, i.subject, i.email, i.createdAt, i.lastUsedAt],
  };
}

export class SqlIdentityStore implements IdentityStore {
  constructor(private readonly db: SqlDriver) {}

  async findBySubject(provider: string, issuer: string, subject: string): Promise<LinkedIdentity | null> {
    const row = await this.db.get<IdentityRow>(`SELECT ${COLUMNS} FROM user_identities WHERE provider = ? AND issuer = ? AND subject = ?`, [provider, issuer, subject]);
    return row ? toIdentity(row) : null;
  }

  async listForUser(userId: string): Promise<LinkedIdentity[]> {
    return (await this.db.all<IdentityRow>(`SELECT ${COLUMNS} FROM user_identities WHERE user_id = ? ORDER BY id`, [userId])).map(toIdentity);
  }

  /** With `effects`, the notice mail is queued in the same transaction as the link (outbox). */
  async link(identity: LinkedIdentity, effects?: MailEffects): Promise<void> {
    await mapConflict(this.db.batch([insertIdentity(identity), ...effectStatements(effects)]), identityTaken);
  }

  async touch(id: string, at: number, email: string | null): Promise<void> {
    await this.db.run('UPDATE user_identities SET last_used_at = ?, email = ? WHERE id = ?', [at, email, id]);
  }

  async unlink(userId: string, id: string, options: { readonly keepAnotherOf?: readonly string[] } = {}): Promise<boolean> {
    const providers = options.keepAnotherOf;
    if (!providers) return (await this.db.run('DELETE FROM user_identities WHERE id = ? AND user_id = ?', [id, userId])) === 1;
    if (providers.length === 0) return false;
    // The recount and the delete in one transaction, one user's unlinks one after the other: under
    // READ COMMITTED two deletes that each still see the other's row would both pass (write skew).
    const sql = `DELETE FROM user_identities WHERE id = ? AND user_id = ?
      AND EXISTS (SELECT 1 FROM user_identities o WHERE o.user_id = ? AND o.id <> ? AND o.provider IN (${providers.map(() => '?').join(', ')}))`;
    return this.db.batch([{ sql, params: [id, userId, userId, id, ...providers], expectChanges: 1 }], { lock: `gatehouse:identities:${userId}` });
  }
}
