import type { Dialect, Migration } from './sql/driver.js';

/**
 * Numbered migrations, one list per dialect where types differ. Never edit one that has shipped:
 * add the next number. Postgres text keys use the "C" collation so that keyset pagination orders
 * by bytes, exactly as SQLite does.
 */
const sqlite: Migration[] = [
  {
    version: 1,
    name: 'core',
    statements: [
      `CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        email TEXT NOT NULL UNIQUE,
        name TEXT,
        role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
        disabled INTEGER NOT NULL DEFAULT 0,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE INDEX users_admins ON users (id) WHERE role = 'admin'`,
      `CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        user_agent TEXT,
        ip TEXT,
        refresh_id TEXT NOT NULL,
        rotated_at INTEGER
      )`,
      `CREATE INDEX sessions_user ON sessions (user_id)`,
      `CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        secret_hash TEXT NOT NULL,
        parent_id TEXT,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`,
      `CREATE TABLE items (
        name TEXT PRIMARY KEY,
        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
        description TEXT,
        owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE INDEX items_owner ON items (owner_id, name)`,
      `CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        private_key_pem TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      )`,
      `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    ],
  },
  {
    version: 2,
    name: 'audit',
    statements: [
      `CREATE TABLE audit_events (
        id TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        actor_id TEXT,
        subject_id TEXT,
        ip TEXT,
        user_agent TEXT,
        request_id TEXT,
        details TEXT NOT NULL
      )`,
      `CREATE INDEX audit_events_subject ON audit_events (subject_id, id)`,
      `CREATE INDEX audit_events_actor ON audit_events (actor_id, id)`,
      `CREATE INDEX audit_events_type ON audit_events (type, id)`,
    ],
  },
];

const postgres: Migration[] = [
  {
    version: 1,
    name: 'core',
    statements: [
      `CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT COLLATE "C" NOT NULL UNIQUE,
        email TEXT COLLATE "C" NOT NULL UNIQUE,
        name TEXT,
        role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
        disabled BOOLEAN NOT NULL DEFAULT FALSE,
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE INDEX users_admins ON users (id) WHERE role = 'admin'`,
      `CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        user_agent TEXT,
        ip TEXT,
        refresh_id TEXT NOT NULL,
        rotated_at BIGINT
      )`,
      `CREATE INDEX sessions_user ON sessions (user_id)`,
      `CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        secret_hash TEXT NOT NULL,
        parent_id TEXT,
        created_at BIGINT NOT NULL
      )`,
      `CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`,
      `CREATE TABLE items (
        name TEXT COLLATE "C" PRIMARY KEY,
        price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
        description TEXT,
        owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE INDEX items_owner ON items (owner_id, name)`,
      `CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        private_key_pem TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
        created_at BIGINT NOT NULL,
        retired_at BIGINT
      )`,
      `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    ],
  },
  {
    version: 2,
    name: 'audit',
    statements: [
      `CREATE TABLE audit_events (
        id TEXT COLLATE "C" PRIMARY KEY,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        actor_id TEXT,
        subject_id TEXT,
        ip TEXT,
        user_agent TEXT,
        request_id TEXT,
        details TEXT NOT NULL
      )`,
      `CREATE INDEX audit_events_subject ON audit_events (subject_id, id)`,
      `CREATE INDEX audit_events_actor ON audit_events (actor_id, id)`,
      `CREATE INDEX audit_events_type ON audit_events (type, id)`,
    ],
  },
];

export const MIGRATIONS: Record<Dialect, readonly Migration[]> = { sqlite, postgres };
