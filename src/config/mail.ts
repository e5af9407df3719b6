import { parseDuration } from './duration.js';

export type EmailVerificationMode = 'off' | 'optional' | 'required';

/** Mail and the email flows (see README "Mail"). */
export interface MailConfig {
  /** smtp:// or smtps:// with host and port; null: the development outbox. */
  readonly smtpUrl: string | null;
  readonly smtpUser: string | null;
  readonly smtpPassword: string | null;
  /** The From header; defaults to no-reply at PUBLIC_URL's host. */
  readonly from: string;
  readonly verification: EmailVerificationMode;
  readonly signIn: boolean;
  /** How long a link stays good (EMAIL_TOKEN_TTL); sign-in codes live 10 minutes whatever this says. */
  readonly tokenTtlMs: number;
  /** A folder whose templates and messages.json override the built-in ones (MAIL_TEMPLATES). */
  readonly templatesDir: string | null;
  /** How long the sender keeps retrying a message before it gives up (MAIL_GIVE_UP_AFTER). */
  readonly giveUpAfterMs: number;
  /** Product name in subjects and bodies (UI_TITLE, default Gatehouse). */
  readonly productName: string;
}

type Env = Record<string, string | undefined>;

// EMAIL-05: nothing that reaches a header may carry a line break or another control character.
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Reads the mail settings, adding every problem to `problems`. */
export function loadMailConfig(env: Env, publicUrl: string, problems: string[]): MailConfig {
  const text = (name: string) => env[name]?.trim() || null;
  const smtpUrl = text('SMTP_URL');
  if (smtpUrl !== null) {
    let url: URL | null = null;
    try {
      url = new URL(smtpUrl);
    } catch {
      problems.push('SMTP_URL must be a URL such as smtp://smtp.example.com:587 or smtps://smtp.example.com:465');
    }
    if (url && url.protocol !== 'smtp:' && url.protocol !== 'smtps:') problems.push(`SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (TLS) (got "${url.protocol}")`);
    if (url && url.hostname === '') problems.push('SMTP_URL must name the server host');
  }
  const smtpUser = text('SMTP_USER');
  const smtpPassword = env.SMTP_PASSWORD ?? null;
  if ((smtpUser === null) !== (smtpPassword === null || smtpPassword === '')) problems.push('SMTP_USER and SMTP_PASSWORD must be set together');

  const host = (() => {
    try {
      return new URL(publicUrl).hostname || 'localhost';
    } catch {
      return 'localhost';
    }
  })();
  const from = text('MAIL_FROM') ?? `no-reply@${host.includes('.') ? host : `${host}.localdomain`}`;
  if (CONTROL.test(from) || !/@[^@\s]+$/.test(from.replace(/>$/, '')))
    problems.push('MAIL_FROM must be an address such as "Example <no-reply@example.com>" or no-reply@example.com');

  const verification = (text('EMAIL_VERIFICATION') ?? 'optional').toLowerCase() as EmailVerificationMode;
  if (!['off', 'optional', 'required'].includes(verification)) problems.push(`EMAIL_VERIFICATION must be off, optional or required (got "${verification}")`);
  const signInRaw = (text('EMAIL_SIGN_IN') ?? 'off').toLowerCase();
  if (!['on', 'off'].includes(signInRaw)) problems.push(`EMAIL_SIGN_IN must be on or off (got "${signInRaw}")`);

  const duration = (name: string, fallback: string, max: number) => {
    const raw = text(name) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === null || ms <= 0 || ms > max) {
      problems.push(`${name} must be a duration such as 30m or 1h, at most ${max / 3_600_000}h (got "${raw}")`);
      return parseDuration(fallback)!;
    }
    return ms;
  };
  const productName = text('UI_TITLE') ?? 'Gatehouse';
  if (CONTROL.test(productName)) problems.push('UI_TITLE must not contain control characters');

  return Object.freeze({
    smtpUrl,
    smtpUser,
    smtpPassword: smtpPassword === '' ? null : smtpPassword,
    from,
    verification,
    signIn: signInRaw === 'on',
    tokenTtlMs: duration('EMAIL_TOKEN_TTL', '1h', 7 * 24 * 3_600_000),
    templatesDir: text('MAIL_TEMPLATES'),
    giveUpAfterMs: duration('MAIL_GIVE_UP_AFTER', '24h', 7 * 24 * 3_600_000),
    productName,
  });
}
