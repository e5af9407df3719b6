import { ValidationError } from '../errors.js';
import { normalizeIdentifier } from '../normalize.js';

export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 1024;

/**
 * PWD-01/02: length counted in UTF-8 bytes, any characters allowed, no composition rules, and the
 * password is used exactly as given (never trimmed, truncated or case-changed).
 * PWD-03: a password equal to the account's own username or email is refused.
 */
export function checkNewPassword(password: string, field: string, identity: { username?: string; email?: string } = {}): void {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < PASSWORD_MIN_BYTES || bytes > PASSWORD_MAX_BYTES) {
    throw ValidationError.field(field, `must be ${PASSWORD_MIN_BYTES} to ${PASSWORD_MAX_BYTES} bytes long`);
  }
  const folded = normalizeIdentifier(password);
  if ((identity.username && folded === normalizeIdentifier(identity.username)) || (identity.email && folded === normalizeIdentifier(identity.email))) {
    throw ValidationError.field(field, 'must not be the same as the username or email');
  }
}
