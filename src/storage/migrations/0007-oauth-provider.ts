import type { MigrationSource } from './render.js';

export default {
  version: 7,
  name: 'oauth_provider',
  statements: [
    // Lists are JSON arrays; secret_hashes holds SHA-256 hashes only, newest first (OIDC-05).
    `CREATE TABLE oauth_clients (
      id {KEY} PRIMARY KEY,
      name TEXT NOT NULL,
      type TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
      first_party {BOOL} NOT NULL DEFAULT {FALSE},
      grant_types TEXT NOT NULL,
      scopes TEXT NOT NULL,
      secret_hashes TEXT NOT NULL,
      redirect_uris TEXT NOT NULL,
      post_logout_redirect_uris TEXT NOT NULL,
      id_token_alg TEXT NOT NULL DEFAULT 'RS256',
      created_at {INT64} NOT NULL,
      updated_at {INT64} NOT NULL
    )`,
    `CREATE TABLE oauth_requests (
      id TEXT PRIMARY KEY,
      client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
      redirect_uri TEXT NOT NULL,
      scope TEXT NOT NULL,
      state TEXT,
      nonce TEXT,
      code_challenge TEXT NOT NULL,
      prompt TEXT NOT NULL,
      max_age INTEGER,
      login_hint TEXT,
      created_at {INT64} NOT NULL,
      expires_at {INT64} NOT NULL
    )`,
    `CREATE INDEX oauth_requests_expiry ON oauth_requests (expires_at)`,
    // OIDC-03: the code itself is never stored, only its SHA-256.
    `CREATE TABLE oauth_codes (
      id TEXT PRIMARY KEY,
      client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      redirect_uri TEXT NOT NULL,
      code_challenge TEXT NOT NULL,
      scope TEXT NOT NULL,
      nonce TEXT,
      auth_time {INT64} NOT NULL,
      amr TEXT NOT NULL,
      browser_session_id TEXT NOT NULL,
      created_at {INT64} NOT NULL,
      expires_at {INT64} NOT NULL,
      used_at {INT64},
      session_id TEXT,
      replayed_at {INT64}
    )`,
    `CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at)`,
    // Client-credentials tokens revoked before they expire (RFC 7009); kept only until they would have.
    `CREATE TABLE oauth_revoked_tokens (
      jti TEXT PRIMARY KEY,
      client_id TEXT NOT NULL,
      expires_at {INT64} NOT NULL
    )`,
    `CREATE INDEX oauth_revoked_tokens_expiry ON oauth_revoked_tokens (expires_at)`,
    `CREATE TABLE oauth_consents (
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
      scope TEXT NOT NULL,
      created_at {INT64} NOT NULL,
      updated_at {INT64} NOT NULL,
      PRIMARY KEY (user_id, client_id)
    )`,
    // OIDC-04: ID tokens are signed by their own RS256 keys, never by the access-token keys.
    `CREATE TABLE id_token_keys (
      kid TEXT PRIMARY KEY,
      alg TEXT NOT NULL,
      private_key_pem TEXT NOT NULL,
      public_jwk TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
      created_at {INT64} NOT NULL,
      retired_at {INT64}
    )`,
  ],
} satisfies MigrationSource;
