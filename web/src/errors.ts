import { GatehouseError } from './api';
import { messages } from './messages';

export interface Failure {
  /** The sentence shown above the form (announced by screen readers). */
  readonly message: string;
  /** Messages for single fields, keyed by the API's field name. */
  readonly fields: Readonly<Record<string, string>>;
  /** Seconds to wait before the next attempt (429), when the service said. */
  readonly retryAfter: number | null;
}

/**
 * What an error means to the person at the page. Sign-in failures say nothing about which part
 * was wrong or whether the account exists (the API answers them all alike: ENUM-01).
 */
export function describeError(error: unknown, labels: Readonly<Record<string, string>> = {}): Failure {
  // The browser's WebAuthn prompt closed or timed out (NotAllowedError), or no passkey was there.
  if (error instanceof Error && (error.name === 'NotAllowedError' || error.name === 'AbortError'))
    return { message: messages.errors.passkeyCancelled, fields: {}, retryAfter: null };
  if (!(error instanceof GatehouseError)) return { message: messages.errors.unexpected, fields: {}, retryAfter: null };
  const plain = (message: string, retryAfter: number | null = null): Failure => ({ message, fields: {}, retryAfter });
  switch (error.code) {
    case 'ERR_AUTH_INVALID_CREDENTIALS':
      return plain(messages.errors.invalidCredentials);
    case 'ERR_RATE_LIMITED':
      return plain(error.retryAfter !== null ? messages.errors.rateLimited(Math.max(1, Math.ceil(error.retryAfter))) : messages.errors.rateLimitedNoWait, error.retryAfter);
    case 'ERR_USER_CONFLICT':
      return plain(messages.errors.conflict);
    case 'ERR_TOKEN_INVALID':
      return plain(messages.errors.tokenInvalid);
    case 'ERR_EMAIL_UNVERIFIED':
      return plain(messages.errors.emailUnverified);
    case 'ERR_FORBIDDEN_ORIGIN':
      return plain(messages.errors.forbiddenOrigin);
    case 'ERR_FORBIDDEN':
      return plain(messages.errors.forbidden);
    case 'ERR_USER_LAST_ADMIN':
      return plain(messages.errors.lastAdmin);
    case 'ERR_MFA_INVALID_CODE':
      return plain(messages.errors.wrongCode);
    case 'ERR_MFA_TOKEN_INVALID':
      return plain(messages.errors.mfaExpired);
    case 'ERR_AUTH_STEP_UP_REQUIRED':
      return plain(messages.errors.stepUp);
    case 'ERR_MFA_ENROLMENT_REQUIRED':
      return plain(messages.errors.enrolmentRequired);
    case 'ERR_LAST_SIGN_IN_METHOD':
      return plain(messages.errors.lastSignInMethod);
    case 'ERR_WEBAUTHN_REFUSED':
    case 'ERR_WEBAUTHN_INVALID':
      return plain(messages.errors.passkeyRefused);
    case 'ERR_BUSY':
      return plain(messages.errors.busy, error.retryAfter);
    case 'ERR_CLIENT_NETWORK':
      return plain(messages.errors.network);
    case 'ERR_CLIENT_SIGNED_OUT':
    case 'ERR_AUTH_REQUIRED':
    case 'ERR_AUTH_TOKEN_INVALID':
    case 'ERR_AUTH_TOKEN_EXPIRED':
      return plain(messages.errors.signedOut);
    case 'ERR_VALIDATION': {
      const fields: Record<string, string> = {};
      const list = (error.problem?.errors ?? []) as { field: string; message: string }[];
      for (const { field, message } of list) {
        const name = field.replace(/^\//, '');
        fields[name] = messages.form.fieldError(labels[name] ?? name, message);
      }
      const lines = Object.values(fields);
      return { message: lines.length > 0 ? lines.join(' ') : messages.errors.unexpected, fields, retryAfter: null };
    }
    default:
      if (error.code in messages.sso.errors) return plain(messages.sso.errors[error.code]!);
      return plain(/_NOT_FOUND$/.test(error.code) ? messages.errors.notFound : messages.errors.unexpected);
  }
}
