import type { EmailToken, QueuedMail } from '../../core/model.js';
import type { MailEffects } from '../../core/ports.js';
import type { Statement } from './driver.js';

/**
 * The writes that queue mail and store its tokens, as statements any store can add to its own
 * transaction: that is what makes the outbox transactional (a change and its mail commit together).
 */
export function insertMail(m: QueuedMail): Statement {
  return {
    sql: `INSERT INTO mail_outbox (id, message_id, to_address, to_name, subject, text_body, html_body, kind, user_id, created_at, state, due_at, attempts)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, 0)`,
    params: [m.id, m.messageId, m.to, m.toName, m.subject, m.text, m.html, m.kind, m.userId, m.createdAt, m.createdAt],
  };
}

export function insertToken(t: EmailToken): Statement {
  return {
    sql: `INSERT INTO email_tokens (id, user_id, purpose, secret_hash, code_hash, email, new_email, password_fingerprint, attempts, expires_at, used_at, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    params: [t.id, t.userId, t.purpose, t.secretHash, t.codeHash, t.email, t.newEmail, t.passwordFingerprint, t.attempts, t.expiresAt, t.usedAt, t.createdAt],
  };
}

/** Statements for `effects`: earlier live tokens of the replaced purposes are voided, then the new rows written. */
export function effectStatements(effects: MailEffects | undefined): Statement[] {
  if (!effects) return [];
  const out: Statement[] = [];
  for (const token of effects.tokens ?? []) {
    for (const purpose of effects.replaces ?? []) {
      out.push({ sql: 'UPDATE email_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL', params: [token.createdAt, token.userId, purpose] });
    }
    out.push(insertToken(token));
  }
  for (const mail of effects.mail ?? []) out.push(insertMail(mail));
  return out;
}
