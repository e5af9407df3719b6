import type { OutboxEntry, OutboxState, Page } from '../../core/model.js';
import type { OutboxStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';
import { insertMail } from './mail-statements.js';

interface OutboxRow {
  id: string;
  message_id: string;
  to_address: string;
  to_name: string | null;
  subject: string;
  text_body: string | null;
  html_body: string | null;
  kind: string;
  user_id: string | null;
  created_at: number;
  state: OutboxState;
  due_at: number;
  attempts: number;
  sent_at: number | null;
  failed_at: number | null;
  last_error: string | null;
}

const COLUMNS = 'id, message_id, to_address, to_name, subject, text_body, html_body, kind, user_id, created_at, state, due_at, attempts, sent_at, failed_at, last_error';

const toEntry = (r: OutboxRow): OutboxEntry => ({
  id: r.id,
  messageId: r.message_id,
  to: r.to_address,
  toName: r.to_name,
  subject: r.subject,
  text: r.text_body ?? '',
  html: r.html_body ?? '',
  kind: r.kind,
  userId: r.user_id,
  createdAt: r.created_at,
  state: r.state,
  dueAt: r.due_at,
  attempts: Number(r.attempts),
  sentAt: r.sent_at,
  failedAt: r.failed_at,
  lastError: r.last_error,
});

// An SMTP error text can be long (a server's multi-line reply); the first part says what matters.
const MAX_ERROR = 1000;

export class SqlOutboxStore implements OutboxStore {
  constructor(private readonly db: SqlDriver) {}

  async enqueue(mail: Parameters<OutboxStore['enqueue']>[0]): Promise<void> {
    if (mail.length > 0) await this.db.batch(mail.map(insertMail));
  }

  async claim(owner: string, now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]> {
    // One statement: the inner SELECT picks due rows nobody holds (skipping rows another sender is
    // claiming right now, on Postgres), the UPDATE takes the lease on exactly those.
    const rows = await this.db.all<OutboxRow>(
      `UPDATE mail_outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
        WHERE id IN (SELECT id FROM mail_outbox WHERE state = 'queued' AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
                     ORDER BY due_at LIMIT ? ${this.db.skipLocked})
        RETURNING ${COLUMNS}`,
      [owner, leaseUntil, now, now, limit],
    );
    return rows.map(toEntry).sort((a, b) => a.dueAt - b.dueAt);
  }

  async markSent(id: string, owner: string, at: number, scrub: boolean): Promise<boolean> {
    const bodies = scrub ? ', text_body = NULL, html_body = NULL' : '';
    return (
      (await this.db.run(
        `UPDATE mail_outbox SET state = 'sent', sent_at = ?, lease_owner = NULL, lease_until = NULL, last_error = NULL${bodies} WHERE id = ? AND lease_owner = ? AND state = 'queued'`,
        [at, id, owner],
      )) === 1
    );
  }

  async retryLater(id: string, owner: string, dueAt: number, error: string): Promise<void> {
    await this.db.run(`UPDATE mail_outbox SET due_at = ?, lease_owner = NULL, lease_until = NULL, last_error = ? WHERE id = ? AND lease_owner = ? AND state = 'queued'`, [
      dueAt,
      error.slice(0, MAX_ERROR),
      id,
      owner,
    ]);
  }

  async markFailed(id: string, owner: string, at: number, reason: string): Promise<void> {
    await this.db.run(
      `UPDATE mail_outbox SET state = 'failed', failed_at = ?, lease_owner = NULL, lease_until = NULL, last_error = ?, text_body = NULL, html_body = NULL WHERE id = ? AND lease_owner = ? AND state = 'queued'`,
      [at, reason.slice(0, MAX_ERROR), id, owner],
    );
  }

  async stats(now: number): Promise<{ depth: number; oldestDueAt: number | null }> {
    const row = await this.db.get<{ depth: number | string; oldest: number | string | null }>(
      `SELECT COUNT(*) AS depth, MIN(due_at) AS oldest FROM mail_outbox WHERE state = 'queued' AND due_at <= ?`,
      [now],
    );
    const total = await this.db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM mail_outbox WHERE state = 'queued'`);
    return { depth: Number(total?.n ?? 0), oldestDueAt: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest) };
  }

  async list(query: { limit: number; before?: string }): Promise<Page<OutboxEntry>> {
    const rows = await this.db.all<OutboxRow>(
      `SELECT ${COLUMNS} FROM mail_outbox ${query.before !== undefined ? 'WHERE id < ?' : ''} ORDER BY id DESC LIMIT ?`,
      query.before !== undefined ? [query.before, query.limit + 1] : [query.limit + 1],
    );
    const items = rows.map(toEntry);
    const more = items.length > query.limit;
    const page = more ? items.slice(0, query.limit) : items;
    return { items: page, next: more ? page[page.length - 1]!.id : null };
  }
}
