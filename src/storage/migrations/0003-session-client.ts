import type { MigrationSource } from './render.js';

export default {
  version: 3,
  name: 'session_client',
  // SES-08: a session's refresh tokens belong to one OAuth client. Every session before this one
  // was a first-party login, hence the default.
  statements: [`ALTER TABLE sessions ADD COLUMN client_id TEXT NOT NULL DEFAULT 'gatehouse'`, `ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT ''`],
} satisfies MigrationSource;
