import type { FactorType, MfaFactor } from '../../core/model.js';
import type { FactorStore } from '../../core/ports.js';
import { ConflictError, LastSignInMethodError } from '../../core/errors.js';
import { UniqueViolation, type SqlDriver, type SqlParam } from './driver.js';

interface FactorRow {
  id: string;
  user_id: string;
  type: FactorType;
  name: string;
  confirmed: number | boolean;
  secret_sealed: string | null;
  last_step: number | null;
  credential_id: string | null;
  public_key: string | null;
  sign_count: number | null;
  transports: string | null;
  backup_eligible: number | boolean | null;
  backup_state: number | boolean | null;
  created_at: number;
  last_used_at: number | null;
}

const COLUMNS =
  'id, user_id, type, name, confirmed, secret_sealed, last_step, credential_id, public_key, sign_count, transports, backup_eligible, backup_state, created_at, last_used_at';

const flag = (v: number | boolean | null): boolean | null => (v === null ? null : Boolean(v));
const toFactor = (r: FactorRow): MfaFactor => ({
  id: r.id,
  userId: r.user_id,
  type: r.type,
  name: r.name,
  confirmed: Boolean(r.confirmed),
  secretSealed: r.secret_sealed,
  lastStep: r.last_step === null ? null : Number(r.last_step),
  credentialId: r.credential_id,
  publicKey: r.public_key,
  signCount: r.sign_count === null ? null : Number(r.sign_count),
  transports: r.transports ? r.transports.split(' ') : [],
  backupEligible: flag(r.backup_eligible),
  backupState: flag(r.backup_state),
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

export class SqlFactorStore implements FactorStore {
  constructor(private readonly db: SqlDriver) {}

  async create(f: MfaFactor): Promise<void> {
    try {
      await this.db.run(`INSERT INTO mfa_factors (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        f.id,
        f.userId,
        f.type,
        f.name,
        f.confirmed,
        f.secretSealed,
        f.lastStep,
        f.credentialId,
        f.publicKey,
        f.signCount,
        f.transports.join(' '),
        f.backupEligible,
        f.backupState,
        f.createdAt,
        f.lastUsedAt,
      ]);
    } catch (error) {
      // MFA-06: a credential belongs to one user.
      if (error instanceof UniqueViolation) throw new ConflictError('ERR_USER_CONFLICT', 'This passkey is already registered.', 'credential_id');
      throw error;
    }
  }

  async findById(id: string): Promise<MfaFactor | null> {
    const row = await this.db.get<FactorRow>(`SELECT ${COLUMNS} FROM mfa_factors WHERE id = ?`, [id]);
    return row ? toFactor(row) : null;
  }

  async findByCredentialId(credentialId: string): Promise<MfaFactor | null> {
    const row = await this.db.get<FactorRow>(`SELECT ${COLUMNS} FROM mfa_factors WHERE credential_id = ?`, [credentialId]);
    return row ? toFactor(row) : null;
  }

  async listConfirmed(userId: string): Promise<MfaFactor[]> {
    const sql = `SELECT ${COLUMNS} FROM mfa_factors WHERE user_id = ? AND confirmed = ? ORDER BY created_at, id LIMIT 100`;
    return (await this.db.all<FactorRow>(sql, [userId, true])).map(toFactor);
  }

  deletePending(userId: string): Promise<number> {
    return this.db.run('DELETE FROM mfa_factors WHERE user_id = ? AND confirmed = ?', [userId, false]);
  }

  async confirm(id: string, step: number, at: number): Promise<boolean> {
    return (await this.db.run('UPDATE mfa_factors SET confirmed = ?, last_step = ?, last_used_at = ? WHERE id = ? AND confirmed = ?', [true, step, at, id, false])) === 1;
  }

  async useStep(id: string, step: number, at: number): Promise<boolean> {
    // The compare-and-swap is the WHERE clause: of two requests with one code, one changes the row.
    const sql = 'UPDATE mfa_factors SET last_step = ?, last_used_at = ? WHERE id = ? AND confirmed = ? AND (last_step IS NULL OR last_step < ?)';
    return (await this.db.run(sql, [step, at, id, true, step])) === 1;
  }

  async useCredential(id: string, expected: number, next: { signCount: number; backupState: boolean }, at: number): Promise<boolean> {
    const sql = 'UPDATE mfa_factors SET sign_count = ?, backup_state = ?, last_used_at = ? WHERE id = ? AND sign_count = ?';
    return (await this.db.run(sql, [next.signCount, next.backupState, at, id, expected])) === 1;
  }

  async delete(id: string, userId: string, guard?: { keepAnotherPasskey: boolean }): Promise<boolean> {
    let sql = 'DELETE FROM mfa_factors WHERE id = ? AND user_id = ?';
    const params: SqlParam[] = [id, userId];
    if (guard?.keepAnotherPasskey) {
      // MFA-07: the recount is the WHERE clause, run under the user's lock, so two removals of a
      // passkey-only user's last two passkeys take turns and the second finds none left to keep.
      sql += ` AND EXISTS (SELECT 1 FROM mfa_factors other WHERE other.user_id = ? AND other.type = 'webauthn' AND other.confirmed = ? AND other.id <> ?)`;
      params.push(userId, true, id);
    }
    const removed = await this.db.batch(
      [
        { sql, params, expectChanges: 1 },
        // Recovery codes stand in for a second factor: with none left they would be a way around nothing.
        { sql: 'DELETE FROM recovery_codes WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ? AND confirmed = ?)', params: [userId, userId, true] },
      ],
      { lock: `gatehouse:factors:${userId}` },
    );
    if (removed) return true;
    if (!guard?.keepAnotherPasskey || (await this.findById(id))?.userId !== userId) return false;
    throw new LastSignInMethodError();
  }

  async deleteAllForUser(userId: string): Promise<number> {
    const factors = await this.db.run('DELETE FROM mfa_factors WHERE user_id = ?', [userId]);
    await this.db.run('DELETE FROM recovery_codes WHERE user_id = ?', [userId]);
    return factors;
  }
}
