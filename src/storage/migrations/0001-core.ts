import type { MigrationSource } from './render.js';

export default {
  version: 1,
  name: 'core',
  statements: [
    `CREATE TABLE users (
      id TEXT PRIMARY KEY,
      username {KEY} NOT NULL UNIQUE,
      email {KEY} NOT NULL UNIQUE,
      name TEXT,
      role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
      disabled {BOOL} NOT NULL DEFAULT {FALSE},
      password_hash TEXT NOT NULL,
      created_at {INT64} NOT NULL,
      updated_at {INT64} NOT NULL
    )`,
    `CREATE INDEX users_admins ON users (id) WHERE role = 'admin'`,
    `CREATE TABLE sessions (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at {INT64} NOT NULL,
      last_used_at {INT64} NOT NULL,
      expires_at {INT64} NOT NULL,
      revoked_at {INT64},
      user_agent TEXT,
      ip TEXT,
      refresh_id TEXT NOT NULL,
      rotated_at {INT64}
    )`,
    `CREATE INDEX sessions_user ON sessions (user_id)`,
    `CREATE TABLE refresh_tokens (
      id TEXT PRIMARY KEY,
      session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      secret_hash TEXT NOT NULL,
      parent_id TEXT,
      created_at {INT64} NOT NULL
    )`,
    `CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`,
    `CREATE TABLE items (
      name {KEY} PRIMARY KEY,
      price_cents {INT64} NOT NULL CHECK (price_cents >= 0),
      description TEXT,
      owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at {INT64} NOT NULL,
      updated_at {INT64} NOT NULL
    )`,
    `CREATE INDEX items_owner ON items (owner_id, name)`,
    `CREATE TABLE signing_keys (
      kid TEXT PRIMARY KEY,
      alg TEXT NOT NULL,
      private_key_pem TEXT NOT NULL,
      public_jwk TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
      created_at {INT64} NOT NULL,
      retired_at {INT64}
    )`,
    `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  ],
} satisfies MigrationSource;
