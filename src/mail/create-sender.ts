import type { Clock } from '../core/ports.js';
import type { Services } from '../services.js';
import { DevelopmentTransport } from './development-transport.js';
import { OutboxSender, type SenderOptions } from './outbox-sender.js';
import { SmtpTransport } from './smtp-transport.js';
import type { MailTransport } from './transport.js';

export interface SenderLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The transport the configuration asks for: SMTP_URL's server, or the development outbox. */
export function createTransport(services: Services, log: SenderLog): MailTransport {
  const { mail } = services.config;
  return mail.smtpUrl ? new SmtpTransport(mail) : new DevelopmentTransport((fields, message) => log.info(fields, message));
}

/** An outbox sender for this instance, woken whenever this process queues mail. */
export function createMailSender(
  services: Services,
  log: SenderLog,
  options: Partial<SenderOptions> & { clock?: Clock } = {},
  transport = createTransport(services, log),
): OutboxSender {
  const sender = new OutboxSender(services.storage.outbox, transport, services.audit, options.clock ?? services.clock, {
    from: services.config.mail.from,
    giveUpAfterMs: services.config.mail.giveUpAfterMs,
    log,
    ...options,
  });
  services.onMailQueued(() => sender.wake());
  return sender;
}
