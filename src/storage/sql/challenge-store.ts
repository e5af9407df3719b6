import type { AuthChallenge } from '../../core/model.js';
import type { ChallengeStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';

interface ChallengeRow {
  id: string;
  kind: AuthChallenge['kind'];
  user_id: string | null;
  secret_hash: string;
  data: string;
  expires_at: number;
  created_at: number;
}

const COLUMNS = 'id, kind, user_id, secret_hash, data, expires_at, created_at';

export class SqlChallengeStore implements ChallengeStore {
  constructor(private readonly db: SqlDriver) {}

  async create(c: AuthChallenge): Promise<void> {
    await this.db.run(`INSERT INTO auth_challenges (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
      c.id,
      c.kind,
      c.userId,
      c.secretHash,
      JSON.stringify(c.data),
      c.expiresAt,
      c.createdAt,
    ]);
  }

  async find(id: string, now: number): Promise<AuthChallenge | null> {
    const r = await this.db.get<ChallengeRow>(`SELECT ${COLUMNS} FROM auth_challenges WHERE id = ? AND expires_at > ?`, [id, now]);
    if (!r) return null;
    return { id: r.id, kind: r.kind, userId: r.user_id, secretHash: r.secret_hash, data: JSON.parse(r.data), expiresAt: Number(r.expires_at), createdAt: Number(r.created_at) };
  }

  async consume(id: string, now: number): Promise<boolean> {
    return (await this.db.run('DELETE FROM auth_challenges WHERE id = ? AND expires_at > ?', [id, now])) === 1;
  }

  async deleteExpired(before: number): Promise<number> {
    return this.db.run('DELETE FROM auth_challenges WHERE expires_at <= ?', [before]);
  }
}
