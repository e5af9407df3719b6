import type { MigrationSource } from './render.js';

export default {
  version: 6,
  name: 'second_factors',
  statements: [
    // How the session's user proved who they are (RFC 8176 `amr`, `acr`) and when (`auth_time`, epoch
    // ms): sessions from before this migration were password logins at their creation.
    `ALTER TABLE sessions ADD COLUMN auth_time {INT64}`,
    `ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd'`,
    `ALTER TABLE sessions ADD COLUMN acr TEXT NOT NULL DEFAULT 'aal1'`,
    // A user's second factors and passkeys. TOTP seeds are sealed (SecretBox), never stored in the
    // clear (MFA-01); `last_step` is the last TOTP step accepted, so a code is good once.
    `CREATE TABLE mfa_factors (
      id {KEY} PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      type TEXT NOT NULL CHECK (type IN ('totp', 'webauthn')),
      name TEXT NOT NULL,
      confirmed {BOOL} NOT NULL DEFAULT {FALSE},
      secret_sealed TEXT,
      last_step {INT64},
      credential_id TEXT UNIQUE,
      public_key TEXT,
      sign_count {INT64},
      transports TEXT,
      backup_eligible {BOOL},
      backup_state {BOOL},
      created_at {INT64} NOT NULL,
      last_used_at {INT64}
    )`,
    `CREATE INDEX mfa_factors_user ON mfa_factors (user_id, created_at)`,
    // MFA-03: only SHA-256 hashes of recovery codes (each carries 50+ bits of randomness).
    `CREATE TABLE recovery_codes (
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      code_hash TEXT NOT NULL,
      used_at {INT64},
      created_at {INT64} NOT NULL,
      PRIMARY KEY (user_id, code_hash)
    )`,
    // Short-lived, single-use ceremony state: a pending second step (mfa_token) or a WebAuthn
    // challenge. Only a hash of an mfa_token's secret is kept.
    `CREATE TABLE auth_challenges (
      id {KEY} PRIMARY KEY,
      kind TEXT NOT NULL,
      user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
      secret_hash TEXT NOT NULL,
      data TEXT NOT NULL,
      expires_at {INT64} NOT NULL,
      created_at {INT64} NOT NULL
    )`,
    `CREATE INDEX auth_challenges_expiry ON auth_challenges (expires_at)`,
  ],
} satisfies MigrationSource;
