import type { SigningKey } from '../../core/model.js';
import type { KeyStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';
import { where, type Condition } from './query.js';
import { KEY_COLUMNS, toKey, type KeyRow } from './rows.js';

/** Signing keys in `signing_keys` (access tokens) or, with that table name, `id_token_keys` (OIDC-04). */
export class SqlKeyStore implements KeyStore {
  constructor(
    private readonly db: SqlDriver,
    private readonly table: 'signing_keys' | 'id_token_keys' = 'signing_keys',
  ) {}

  private async select(condition: Condition): Promise<SigningKey[]> {
    const w = where([condition]);
    const rows = await this.db.all<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${this.table} ${w.sql} ORDER BY created_at DESC, kid`, w.params);
    return rows.map(toKey);
  }

  listUsable() {
    return this.select([`status <> 'retired'`]);
  }
  listAll() {
    return this.select(undefined);
  }

  async insert(k: SigningKey): Promise<void> {
    await this.db.run(`INSERT INTO ${this.table} (${KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING`, [
      k.kid,
      k.alg,
      k.privateKeyPem,
      JSON.stringify(k.publicJwk),
      k.status,
      k.createdAt,
      k.retiredAt,
    ]);
  }

  async insertFirst(k: SigningKey): Promise<void> {
    // One statement under a lock: two instances starting together cannot both see "no key" and
    // each make one (they would then sign with keys the other does not know yet).
    await this.db.batch(
      [
        {
          sql: `INSERT INTO ${this.table} (${KEY_COLUMNS})
                SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM ${this.table} WHERE alg = ? AND status <> 'retired')`,
          params: [k.kid, k.alg, k.privateKeyPem, JSON.stringify(k.publicJwk), k.status, k.createdAt, k.retiredAt, k.alg],
        },
      ],
      { lock: this.table === 'signing_keys' ? 'gatehouse:first-signing-key' : `gatehouse:first-key:${this.table}` },
    );
  }

  async setStatus(kid: string, status: SigningKey['status'], at: number): Promise<boolean> {
    const retiredAt = status === 'retired' ? at : null;
    return (await this.db.run(`UPDATE ${this.table} SET status = ?, retired_at = ? WHERE kid = ?`, [status, retiredAt, kid])) > 0;
  }
}
