import type { Dialect, Migration } from './sql/driver.js';

/**
 * Numbered migrations. Never edit one that has shipped: add the next number.
 *
 * Each is written once; the dialects differ only in a few column types, named here:
 * - KEY: text that is ordered or paged by; Postgres uses the "C" collation so that keyset
 *   pagination orders by bytes, exactly as SQLite does.
 * - INT64: a 64-bit integer (epoch milliseconds, cents).
 * - BOOL: a flag (SQLite stores 0/1).
 */
const TYPES: Record<Dialect, Record<'KEY' | 'INT64' | 'BOOL' | 'FALSE', string>> = {
  sqlite: { KEY: 'TEXT', INT64: 'INTEGER', BOOL: 'INTEGER', FALSE: '0' },
  postgres: { KEY: 'TEXT COLLATE "C"', INT64: 'BIGINT', BOOL: 'BOOLEAN', FALSE: 'FALSE' },
};

const MIGRATIONS_SQL: { version: number; name: string; statements: string[] }[] = [
  {
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
  },
  {
    version: 2,
    name: 'audit',
    statements: [
      `CREATE TABLE audit_events (
        id {KEY} PRIMARY KEY,
        at {INT64} NOT NULL,
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
  {
    version: 3,
    name: 'session_client',
    // SES-08: a session's refresh tokens belong to one OAuth client. Every session before this one
    // was a first-party login, hence the default.
    statements: [
      `ALTER TABLE sessions ADD COLUMN client_id TEXT NOT NULL DEFAULT 'gatehouse'`,
      `ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT ''`,
    ],
  },
  {
    version: 4,
    name: 'username skeleton',
    statements: [
      // ID-04: NULL until filled at start-up (UserService.reindexLegacyUsers); NULLs never collide.
      // Skeletons depend on the confusables.txt version: a later version needs a migration setting
      // the column back to NULL, and start-up computes them again.
      `ALTER TABLE users ADD COLUMN username_skeleton {KEY}`,
      `CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton)`,
    ],
  },
  {
    version: 5,
    name: 'email',
    statements: [
      `ALTER TABLE users ADD COLUMN email_verified {BOOL} NOT NULL DEFAULT {FALSE}`,
      // EMAIL-01: only keyed hashes of the link secret and the code are kept.
      `CREATE TABLE email_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        code_hash TEXT,
        email TEXT NOT NULL,
        new_email TEXT,
        password_fingerprint TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        expires_at {INT64} NOT NULL,
        used_at {INT64},
        created_at {INT64} NOT NULL
      )`,
      `CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose, created_at)`,
      // EMAIL-06: the transactional outbox. Bodies are dropped once sent through SMTP.
      `CREATE TABLE mail_outbox (
        id {KEY} PRIMARY KEY,
        message_id TEXT NOT NULL,
        to_address TEXT NOT NULL,
        to_name TEXT,
        subject TEXT NOT NULL,
        text_body TEXT,
        html_body TEXT,
        kind TEXT NOT NULL,
        user_id TEXT,
        created_at {INT64} NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
        due_at {INT64} NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until {INT64},
        sent_at {INT64},
        failed_at {INT64},
        last_error TEXT
      )`,
      `CREATE INDEX mail_outbox_due ON mail_outbox (due_at) WHERE state = 'queued'`,
    ],
  },
];

function render(dialect: Dialect): Migration[] {
  const types = TYPES[dialect];
  return MIGRATIONS_SQL.map((m) => ({
    ...m,
    statements: m.statements.map((sql) => sql.replace(/\{(KEY|INT64|BOOL|FALSE)\}/g, (_, name: keyof typeof types) => types[name])),
  }));
}

export const MIGRATIONS: Record<Dialect, readonly Migration[]> = { sqlite: render('sqlite'), postgres: render('postgres') };
