import { ConflictError } from '../../core/errors.js';
import type { ProviderStore, StoredProvider } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';
import { mapConflict } from './query.js';

interface ProviderRow {
  id: string;
  settings: string;
  client_secret_sealed: string | null;
  created_at: number;
}

export class SqlProviderStore implements ProviderStore {
  constructor(private readonly db: SqlDriver) {}

  async list(): Promise<StoredProvider[]> {
    const rows = await this.db.all<ProviderRow>('SELECT id, settings, client_secret_sealed, created_at FROM sso_providers ORDER BY id');
    return rows.map((r) => ({ id: r.id, settings: r.settings, clientSecretSealed: r.client_secret_sealed, createdAt: Number(r.created_at) }));
  }

  async add(p: StoredProvider): Promise<void> {
    await mapConflict(
      this.db.run('INSERT INTO sso_providers (id, settings, client_secret_sealed, created_at) VALUES (?, ?, ?, ?)', [p.id, p.settings, p.clientSecretSealed, p.createdAt]),
      () => new ConflictError('ERR_SSO_PROVIDER_CONFLICT'),
    );
  }

  async remove(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM sso_providers WHERE id = ?', [id])) === 1;
  }
}
