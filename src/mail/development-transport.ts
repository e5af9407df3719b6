import type { MailTransport, OutboundMail } from './transport.js';

/**
 * Without SMTP_URL: messages stay in the outbox table (`gatehouse mail outbox` shows them, links
 * and all) and each gets one log line. The line names the message, never its link: the link's
 * secret must not reach a log (EMAIL-01).
 */
export class DevelopmentTransport implements MailTransport {
  readonly kind = 'development' as const;

  constructor(private readonly log: (line: Record<string, unknown>, message: string) => void) {}

  async send(m: OutboundMail): Promise<{ response: string }> {
    this.log(
      { outbox_id: m.outboxId, kind: m.kind, to: m.to.address, subject: m.subject, message_id: m.messageId },
      'mail kept in the development outbox (gatehouse mail outbox shows it)',
    );
    return { response: 'kept in the development outbox' };
  }

  close(): void {}
}
