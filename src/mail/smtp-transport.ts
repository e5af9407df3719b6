import nodemailer, { type Transporter } from 'nodemailer';
import type { MailConfig } from '../config/mail.js';
import { MailSendError, type MailTransport, type OutboundMail } from './transport.js';

/** Deadlines of every SMTP step, so a silent server never holds a sender (or `mail test`) for long. */
export const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, dnsTimeout: 10_000 };
/** The whole transaction, whatever the steps did. */
const SEND_DEADLINE_MS = 60_000;

/**
 * nodemailer options from SMTP_URL: `smtps://` is TLS from the first byte (port 465); `smtp://`
 * upgrades with STARTTLS whenever the server offers it, and `?starttls=required` refuses to go on
 * without it. Credentials come from the URL or SMTP_USER / SMTP_PASSWORD.
 */
export function smtpOptions(mail: Pick<MailConfig, 'smtpUrl' | 'smtpUser' | 'smtpPassword'>) {
  const url = new URL(mail.smtpUrl!);
  const secure = url.protocol === 'smtps:';
  const user = mail.smtpUser ?? (url.username ? decodeURIComponent(url.username) : null);
  const pass = mail.smtpPassword ?? (url.password ? decodeURIComponent(url.password) : null);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTLS: url.searchParams.get('starttls') === 'required',
    ignoreTLS: url.searchParams.get('starttls') === 'off',
    ...(user ? { auth: { user, pass: pass ?? '' } } : {}),
    ...SMTP_TIMEOUTS,
    tls: { servername: url.hostname, rejectUnauthorized: url.searchParams.get('tls') !== 'insecure' },
  };
}

interface NodemailerError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'the server refused the connection (is it running, and is the port right?)',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name was not found (DNS)',
  EAI_AGAIN: 'the host name could not be resolved right now (DNS)',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/** What went wrong, in words an operator can act on, and whether trying later may help. */
export function describeSmtpError(error: unknown): MailSendError {
  if (error instanceof MailSendError) return error;
  const e = error as NodemailerError;
  const cause = (e as { cause?: NodemailerError }).cause;
  const code = e.code ?? 'EUNKNOWN';
  const reply = e.response ?? null;
  const responseCode = e.responseCode ?? null;
  const syscall = (/\b(E[A-Z_]+)\b/.exec(e.message) ?? [])[1] ?? cause?.code;
  let what: string;
  if (code === 'EAUTH') what = `authentication refused${reply ? `: ${reply}` : ''} (check SMTP_USER and SMTP_PASSWORD, or the credentials in SMTP_URL)`;
  else if (code === 'ETLS' || /certificate|SSL|TLS|self[- ]signed/i.test(e.message))
    what = `TLS failed: ${e.message} (smtps:// needs a TLS port such as 465; smtp:// a plain one such as 587 or 25)`;
  else if (code === 'EDNS' || syscall === 'ENOTFOUND' || syscall === 'EAI_AGAIN') what = `DNS: ${NETWORK_CODES[syscall ?? 'ENOTFOUND'] ?? e.message}`;
  else if (code === 'ETIMEDOUT' || /timeout/i.test(e.message)) what = `timed out: ${e.message}`;
  else if (code === 'ECONNECTION' || code === 'ESOCKET') what = `connection failed: ${(syscall && NETWORK_CODES[syscall]) || e.message}`;
  else if (responseCode !== null) what = `the server answered ${reply ?? responseCode}${e.command ? ` to ${e.command}` : ''}`;
  else what = e.message;
  // 5xx to the recipient or the message itself will not change by waiting; everything else may
  // (a server that is down, busy, or refusing a login the operator is about to fix).
  const permanent = responseCode !== null && responseCode >= 500 && code !== 'EAUTH' && /^(RCPT|DATA|MESSAGE)/i.test(e.command ?? 'DATA');
  return new MailSendError(`${code}${responseCode ? ` ${responseCode}` : ''}: ${what}`, code, !permanent, responseCode, reply);
}

/** Sends through an SMTP server with nodemailer; every call has a deadline. */
export class SmtpTransport implements MailTransport {
  readonly kind = 'smtp' as const;
  private readonly transporter: Transporter;

  constructor(mail: Pick<MailConfig, 'smtpUrl' | 'smtpUser' | 'smtpPassword'>) {
    this.transporter = nodemailer.createTransport(smtpOptions(mail));
  }

  async send(m: OutboundMail): Promise<{ response: string }> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MailSendError(`ETIMEDOUT: no answer within ${SEND_DEADLINE_MS / 1000}s`, 'ETIMEDOUT', true)), SEND_DEADLINE_MS);
    });
    try {
      const info = await Promise.race([
        this.transporter.sendMail({
          from: m.from,
          to: m.to.name ? { name: m.to.name, address: m.to.address } : m.to.address,
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId: m.messageId,
          // Plain links, as written: no tracking rewrites, no auto-linking of addresses.
          disableUrlAccess: true,
          disableFileAccess: true,
        }),
        deadline,
      ]);
      return { response: String(info.response ?? '') };
    } catch (error) {
      throw describeSmtpError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Connects, greets, and logs in (if configured) without sending anything. */
  async verify(): Promise<void> {
    try {
      await this.transporter.verify();
    } catch (error) {
      throw describeSmtpError(error);
    }
  }

  close(): void {
    this.transporter.close();
  }
}
