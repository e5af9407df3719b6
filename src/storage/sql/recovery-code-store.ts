import type { RecoveryCodeStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';

export class SqlRecoveryCodeStore implements RecoveryCodeStore {
  constructor(private readonly db: SqlDriver) {}

  async replace(userId: string, hashes: readonly string[], at: number): Promise<void> {
    await this.db.batch([
      { sql: 'DELETE FROM recovery_codes WHERE user_id = ?', params: [userId] },
      ...hashes.map((hash) => ({ sql: 'INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)', params: [userId, hash, at] })),
    ]);
  }

  async use(userId: string, hash: string, at: number): Promise<boolean> {
    return (await this.db.run('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL', [at, userId, hash])) === 1;
  }

  async countUnused(userId: string): Promise<number> {
    const row = await this.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL', [userId]);
    return Number(row?.n ?? 0);
  }
}
