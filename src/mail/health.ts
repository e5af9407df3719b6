import type { Services } from '../services.js';

export interface OutboxHealth {
  /** `smtp` or `development` (no SMTP_URL: nothing leaves the machine). */
  readonly transport: 'smtp' | 'development';
  /** Messages waiting to be sent (due now or later). */
  readonly depth: number;
  /** How long the oldest due message has waited; 0 when none is due. A growing value means mail is stuck. */
  readonly oldest_due_age_seconds: number;
}

/**
 * The outbox as /ready and /metrics report it. Mail waiting does not make an instance unready (it
 * can still sign people in); it is reported so a monitor can alert on it.
 */
export async function outboxHealth(services: Services): Promise<OutboxHealth> {
  const now = services.clock.now();
  const { depth, oldestDueAt } = await services.storage.outbox.stats(now);
  return {
    transport: services.config.mail.smtpUrl ? 'smtp' : 'development',
    depth,
    oldest_due_age_seconds: oldestDueAt === null ? 0 : Math.max(0, Math.round((now - oldestDueAt) / 1000)),
  };
}
