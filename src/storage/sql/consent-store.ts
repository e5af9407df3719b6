import type { Consent } from '../../core/model.js';
import type { ConsentStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';

interface ConsentRow {
  user_id: string;
  client_id: string;
  scope: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'user_id, client_id, scope, created_at, updated_at';
const toConsent = (r: ConsentRow): Consent => ({ userId: r.user_id, clientId: r.client_id, scope: r.scope, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) });

export class SqlConsentStore implements ConsentStore {
  constructor(private readonly db: SqlDriver) {}

  async find(userId: string, clientId: string): Promise<Consent | null> {
    const row = await this.db.get<ConsentRow>(`SELECT ${COLUMNS} FROM oauth_consents WHERE user_id = ? AND client_id = ?`, [userId, clientId]);
    return row ? toConsent(row) : null;
  }

  async save(c: Consent): Promise<void> {
    await this.db.run(
      `INSERT INTO oauth_consents (${COLUMNS}) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at`,
      [c.userId, c.clientId, c.scope, c.createdAt, c.updatedAt],
    );
  }

  async listForUser(userId: string): Promise<Consent[]> {
    const rows = await this.db.all<ConsentRow>(`SELECT ${COLUMNS} FROM oauth_consents WHERE user_id = ? ORDER BY client_id LIMIT 100`, [userId]);
    return rows.map(toConsent);
  }

  async delete(userId: string, clientId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?', [userId, clientId])) > 0;
  }
}
