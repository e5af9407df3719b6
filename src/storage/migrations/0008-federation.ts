import type { MigrationSource } from './render.js';

export default {
  version: 8,
  name: 'federation',
  statements: [
    // Providers added with `gatehouse providers add` (SSO_PROVIDERS ones live in the environment).
    // The client secret is sealed with the SecretBox: a copy of the database alone does not reveal it.
    `CREATE TABLE sso_providers (
      id TEXT PRIMARY KEY,
      settings TEXT NOT NULL,
      client_secret_sealed TEXT,
      created_at {INT64} NOT NULL
    )`,
    // One row per upstream account linked to a user; (provider, issuer, subject) names it for good
    // (FED-02): a subject is only unique at its issuer, and a provider id re-pointed to another
    // issuer (gitlab.com to a self-managed GitLab, github.com to an Enterprise server) must not let
    // the same number there sign in as the old account.
    `CREATE TABLE user_identities (
      id {KEY} PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      provider TEXT NOT NULL,
      issuer TEXT NOT NULL,
      subject TEXT NOT NULL,
      email TEXT,
      created_at {INT64} NOT NULL,
      last_used_at {INT64} NOT NULL
    )`,
    `CREATE UNIQUE INDEX user_identities_subject ON user_identities (provider, issuer, subject)`,
    `CREATE INDEX user_identities_user ON user_identities (user_id)`,
  ],
} satisfies MigrationSource;
