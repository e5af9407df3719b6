import { canonicalEmail } from './identifiers/email.js';
import { canonicalUsername } from './identifiers/username.js';

export { canonicalEmail, emailProblem } from './identifiers/email.js';
export { displayNameProblem, hasInvisible, isWellFormed } from './identifiers/text.js';
export { canonicalUsername, usernameProblem, usernameSkeleton } from './identifiers/username.js';

/**
 * ID-01/02: the key a login, a search prefix or a CLI reference is looked up by. It is the stored
 * form of whatever it names: an email's canonical form when it has an `@`, else a username's.
 */
export function normalizeIdentifier(value: string): string {
  const folded = canonicalUsername(value);
  return folded.includes('@') ? (canonicalEmail(value) ?? folded) : folded;
}
