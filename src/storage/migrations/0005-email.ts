import type { MigrationSource } from './render.js';

export default {
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
} satisfies MigrationSource;
