/** A message as a transport sends it. */
export interface OutboundMail {
  readonly from: string;
  readonly to: { readonly address: string; readonly name: string | null };
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly messageId: string;
  /** The outbox row, and which template made it: for the development outbox's log line. */
  readonly outboxId?: string;
  readonly kind?: string;
}

/** Where mail goes: an SMTP server, or the development outbox. */
export interface MailTransport {
  readonly kind: 'smtp' | 'development';
  /** Sends one message; resolves with the server's final reply, or throws MailSendError. */
  send(message: OutboundMail): Promise<{ response: string }>;
  close(): void;
}

/**
 * A failed send, said the way an operator can act on it: `code` (ECONNECTION, EAUTH, ETLS, EDNS,
 * ETIMEDOUT, ...) and, when the server answered, its reply code and text. `transient`: worth
 * trying again later (the server is down, busy, or answered 4xx).
 */
export class MailSendError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly transient: boolean,
    readonly responseCode: number | null = null,
    readonly response: string | null = null,
  ) {
    super(message);
    this.name = 'MailSendError';
  }
}
