import { UnavailableError } from '../../core/errors.js';
import type { Storage } from '../../core/ports.js';
import type { Circuit } from '../circuit.js';
import { SqlAuditStore } from './audit-store.js';
import { SqlAuthorizationStore } from './authorization-store.js';
import { SqlClientStore } from './client-store.js';
import { SqlConsentStore } from './consent-store.js';
import { SqlEmailTokenStore } from './email-token-store.js';
import { SqlIdentityStore } from './identity-store.js';
import { SqlProviderStore } from './provider-store.js';
import { SqlOutboxStore } from './outbox-store.js';
import type { SqlDriver } from './driver.js';
import { SqlItemStore } from './item-store.js';
import { SqlKeyStore } from './key-store.js';
import { SqlSessionStore } from './session-store.js';
import { SqlSettingStore } from './setting-store.js';
import { SqlUserStore } from './user-store.js';
import { SqlFactorStore } from './factor-store.js';
import { SqlRecoveryCodeStore } from './recovery-code-store.js';
import { SqlChallengeStore } from './challenge-store.js';

const FULL_REPORTED_MS = 30_000;

/** A storage over SQL, with its database's circuit for /ready and the metrics. */
export type SqlStorage = Storage & { readonly circuit: Circuit };

/** Every store over one driver (one file each, beside this one); the same code serves SQLite and Postgres. */
export function createSqlStorage(db: SqlDriver): SqlStorage {
  return {
    users: new SqlUserStore(db),
    sessions: new SqlSessionStore(db),
    items: new SqlItemStore(db),
    keys: new SqlKeyStore(db),
    settings: new SqlSettingStore(db),
    audit: new SqlAuditStore(db),
    emailTokens: new SqlEmailTokenStore(db),
    outbox: new SqlOutboxStore(db),
    factors: new SqlFactorStore(db),
    recoveryCodes: new SqlRecoveryCodeStore(db),
    challenges: new SqlChallengeStore(db),
    identities: new SqlIdentityStore(db),
    providers: new SqlProviderStore(db),
    clients: new SqlClientStore(db),
    authorizations: new SqlAuthorizationStore(db),
    consents: new SqlConsentStore(db),
    idTokenKeys: new SqlKeyStore(db, 'id_token_keys'),
    ping: async (mode = 'read') => {
      await db.get('SELECT 1 AS ok');
      if (mode === 'write') {
        await db.run('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', ['ready_probe', String(Date.now())]);
        // A probe this small may still fit where real writes no longer do: a recent "no space"
        // answer to any write counts too, for half a minute.
        if (Date.now() - db.lastFullAt < FULL_REPORTED_MS) {
          throw UnavailableError.full('a write failed for want of space');
        }
      }
    },
    circuit: db.circuit,
    close: () => db.close(),
  };
}
