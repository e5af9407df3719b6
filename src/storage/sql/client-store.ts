import { ConflictError } from '../../core/errors.js';
import type { GrantType, OAuthClient, Page } from '../../core/model.js';
import type { ClientStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';
import { keysetPage, mapConflict } from './query.js';

interface ClientRow {
  id: string;
  name: string;
  type: OAuthClient['type'];
  first_party: number | boolean;
  grant_types: string;
  scopes: string;
  secret_hashes: string;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  id_token_alg: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, name, type, first_party, grant_types, scopes, secret_hashes, redirect_uris, post_logout_redirect_uris, id_token_alg, created_at, updated_at';

const list = <T = string>(text: string): T[] => JSON.parse(text) as T[];

const toClient = (r: ClientRow): OAuthClient => ({
  id: r.id,
  name: r.name,
  type: r.type,
  firstParty: Boolean(r.first_party),
  grantTypes: list<GrantType>(r.grant_types),
  scopes: list(r.scopes),
  secretHashes: list(r.secret_hashes),
  redirectUris: list(r.redirect_uris),
  postLogoutRedirectUris: list(r.post_logout_redirect_uris),
  idTokenAlg: r.id_token_alg,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The fields every write stores, in COLUMNS order after id. */
const values = (c: OAuthClient) => [
  c.name,
  c.type,
  c.firstParty,
  JSON.stringify(c.grantTypes),
  JSON.stringify(c.scopes),
  JSON.stringify(c.secretHashes),
  JSON.stringify(c.redirectUris),
  JSON.stringify(c.postLogoutRedirectUris),
  c.idTokenAlg,
];

export class SqlClientStore implements ClientStore {
  constructor(private readonly db: SqlDriver) {}

  async findById(id: string): Promise<OAuthClient | null> {
    const row = await this.db.get<ClientRow>(`SELECT ${COLUMNS} FROM oauth_clients WHERE id = ?`, [id]);
    return row ? toClient(row) : null;
  }

  async create(c: OAuthClient): Promise<void> {
    await mapConflict(
      this.db.run(`INSERT INTO oauth_clients (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [c.id, ...values(c), c.createdAt, c.updatedAt]),
      () => new ConflictError('ERR_CLIENT_CONFLICT', 'A client with that id exists.', 'id'),
    );
  }

  async update(c: OAuthClient): Promise<boolean> {
    const sql = `UPDATE oauth_clients SET name = ?, type = ?, first_party = ?, grant_types = ?, scopes = ?, secret_hashes = ?, redirect_uris = ?, post_logout_redirect_uris = ?, id_token_alg = ?, updated_at = ? WHERE id = ?`;
    return (await this.db.run(sql, [...values(c), c.updatedAt, c.id])) > 0;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM oauth_clients WHERE id = ?', [id])) > 0;
  }

  list(query: { limit: number; after?: string }): Promise<Page<OAuthClient>> {
    return keysetPage(this.db, {
      from: `SELECT ${COLUMNS} FROM oauth_clients`,
      conditions: [],
      key: 'id',
      after: query.after,
      limit: query.limit,
      map: toClient,
      keyOf: (c) => c.id,
    });
  }
}
