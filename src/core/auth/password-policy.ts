import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.js';
import { isWellFormed, normalizeIdentifier } from '../normalize.js';

export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 1024;

/** The shipped list (resources/common-passwords.txt); the same path from src/ and dist/. */
export function loadCommonPasswords(file: URL = new URL('../../../resources/common-passwords.txt', import.meta.url)): ReadonlySet<string> {
  return new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}

/**
 * What a new password must satisfy, and nothing more (NIST SP 800-63B, OWASP):
 * - PWD-01/02: 8..1024 UTF-8 bytes, any characters, no composition rules; used exactly as given,
 *   never trimmed, truncated or case-changed.
 * - PWD-03: not one of the most common passwords, compared without regard to case, and not the
 *   account's own username or email.
 */
export class PasswordPolicy {
  constructor(private readonly common: ReadonlySet<string> = new Set()) {}

  check(password: string, field: string, identity: { username?: string; email?: string } = {}): void {
    // ID-05: UTF-8 would carry a lone surrogate as U+FFFD, so another such password would match it.
    if (!isWellFormed(password)) throw ValidationError.field(field, 'must be well-formed Unicode (no lone surrogates)');
    const bytes = Buffer.byteLength(password, 'utf8');
    if (bytes < PASSWORD_MIN_BYTES || bytes > PASSWORD_MAX_BYTES) {
      throw ValidationError.field(field, `must be ${PASSWORD_MIN_BYTES} to ${PASSWORD_MAX_BYTES} bytes long`);
    }
    const folded = normalizeIdentifier(password);
    if (this.common.has(folded)) throw ValidationError.field(field, 'is one of the most common passwords; choose another');
    const sameAs = (value?: string) => value !== undefined && folded === normalizeIdentifier(value);
    if (sameAs(identity.username) || sameAs(identity.email)) {
      throw ValidationError.field(field, 'must not be the same as the username or email');
    }
  }
}
