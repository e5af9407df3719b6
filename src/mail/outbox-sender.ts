import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AuditLog } from '../core/audit.js';
import type { OutboxEntry } from '../core/model.js';
import type { Clock, OutboxStore } from '../core/ports.js';
import { describeSmtpError } from './smtp-transport.js';
import type { MailTransport } from './transport.js';

export interface SenderOptions {
  readonly from: string;
  /** After this long since it was queued, a message that still fails is given up on. */
  readonly giveUpAfterMs: number;
  /** How long a claimed message is this sender's; longer than one SMTP transaction can take. */
  readonly leaseMs?: number;
  readonly batchSize?: number;
  /** How often the outbox is looked at when nothing wakes the sender. */
  readonly pollMs?: number;
  /** Retry delays: base × 2^(tries−1), capped, with ±20% jitter. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly log?: { warn(fields: object, message: string): void; error(fields: object, message: string): void };
}

/**
 * Sends the outbox (EMAIL-06). Every instance runs one; each message is leased to one sender at a
 * time, so it goes out once across instances and workers. While the server is down or answers
 * 4xx, messages wait with growing delays; after `giveUpAfterMs` they are marked failed with the
 * reason, and audited. Nothing is lost: a crash mid-send leaves the lease to run out, and
 * another sender takes the message.
 */
export class OutboxSender {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly store: OutboxStore,
    private readonly transport: MailTransport,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly options: SenderOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 120_000;
    this.batchSize = options.batchSize ?? 10;
    this.pollMs = options.pollMs ?? 2_000;
    this.retryBaseMs = options.retryBaseMs ?? 5_000;
    this.retryMaxMs = options.retryMaxMs ?? 300_000;
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Looks at the outbox now (mail was just queued here); coalesces with a pass under way. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.drain()
      .then(() => {})
      .catch((error: unknown) => this.options.log?.error({ err: error }, 'mail sender pass failed'))
      .finally(() => {
        this.running = null;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.wake();
          return;
        }
        this.timer = setTimeout(() => this.wake(), this.pollMs);
        this.timer.unref();
      });
  }

  /**
   * Stops looking at the outbox. A pass under way gets `graceMs` to finish; past that it is left
   * (shutdown must not wait on a stuck database or SMTP server): its leases run out and another
   * sender takes the messages.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.running, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    this.transport.close();
  }

  /** Sends every due message, batch by batch; returns how many were handled. */
  async drain(): Promise<number> {
    let handled = 0;
    for (;;) {
      const now = this.clock.now();
      const batch = await this.store.claim(this.owner, now, now + this.leaseMs, this.batchSize);
      if (batch.length === 0) return handled;
      for (const message of batch) await this.deliver(message);
      handled += batch.length;
      if (this.stopped) return handled;
    }
  }

  private async deliver(m: OutboxEntry): Promise<void> {
    try {
      await this.transport.send({
        from: this.options.from,
        to: { address: m.to, name: m.toName },
        subject: m.subject,
        text: m.text,
        html: m.html,
        messageId: m.messageId,
        outboxId: m.id,
        kind: m.kind,
      });
    } catch (raw) {
      const error = describeSmtpError(raw);
      const now = this.clock.now();
      const expired = now - m.createdAt >= this.options.giveUpAfterMs;
      if (!error.transient || expired) {
        const reason =
          expired && error.transient ? `gave up after ${Math.round((now - m.createdAt) / 60_000)} min and ${m.attempts} tries; last error: ${error.message}` : error.message;
        await this.store.markFailed(m.id, this.owner, now, reason);
        this.options.log?.error({ outbox_id: m.id, kind: m.kind, attempts: m.attempts, reason }, 'mail given up');
        await this.audit.record(
          'mail.failed',
          { userAgent: 'mail-sender' },
          { subjectId: m.userId, details: { outbox_id: m.id, kind: m.kind, attempts: m.attempts, reason: reason.slice(0, 300) } },
        );
        return;
      }
      const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.max(0, m.attempts - 1)) * (0.8 + Math.random() * 0.4);
      await this.store.retryLater(m.id, this.owner, now + Math.round(delay), error.message);
      this.options.log?.warn({ outbox_id: m.id, kind: m.kind, attempts: m.attempts, retry_in_ms: Math.round(delay), error: error.message }, 'mail not sent; will retry');
      return;
    }
    // The bodies carry link secrets: once an SMTP server has the message, they are not kept.
    // (The development outbox keeps them: showing them is its purpose.)
    await this.store.markSent(m.id, this.owner, this.clock.now(), this.transport.kind === 'smtp');
  }
}
