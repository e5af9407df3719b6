/** What every message can say; templates fill these in. */
export const MAIL_KINDS = ['verify_email', 'reset_password', 'password_changed', 'change_email', 'email_change_notice', 'sign_in', 'identity_linked', 'mfa_reset', 'test'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

/** A rendered message: subject, plain text and HTML parts. */
export interface MailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * Renders messages from templates (src/mail/templates.ts implements it): the core says what to
 * send, the adapter how it reads. `vars` are plain text; the renderer escapes them for HTML.
 */
export interface MailComposer {
  compose(kind: MailKind, vars: Readonly<Record<string, string>>): MailContent;
}

// EMAIL-05: C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex -- EMAIL-05: control characters are what is removed from header values
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/**
 * What may reach a mail header: no CR/LF (a header injection would add recipients or headers)
 * and no other control character; runs of them become one space.
 */
export function headerSafe(value: string): string {
  return value.replace(CONTROLS, ' ').trim();
}
