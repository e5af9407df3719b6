import { LastSignInMethodError } from '../errors.js';
import type { User } from '../model.js';

/** One way a user can sign in on their own: a password, a passkey, a linked upstream identity. */
export interface SignInMethod {
  /** `password`, `passkey`, `identity`, ... */
  readonly kind: string;
  /** Which one (a factor id, an identity id); the user id for the password. */
  readonly id: string;
}

/** Lists the ways of one kind a user has. Registered by each area that provides a way to sign in. */
export type SignInMethodSource = (user: User) => Promise<readonly SignInMethod[]>;

/**
 * A password hash that no password matches: a user created without one (by an upstream sign-in, or
 * who removed it) is stored with it, so a login attempt fails like any wrong password.
 */
export const NO_PASSWORD = '!';

/** Whether the user can sign in with a password at all. */
export function hasPassword(user: User): boolean {
  return user.passwordHash !== '' && !user.passwordHash.startsWith(NO_PASSWORD);
}

const passwordSource: SignInMethodSource = async (user) => (hasPassword(user) ? [{ kind: 'password', id: user.id }] : []);

/**
 * "How many ways to sign in does this user have": the password, plus whatever other areas register
 * (passkeys here; linked upstream identities from federation). MFA-07: the last one cannot be removed,
 * or the account would be locked for good (recovery by mail resets a password, not a passkey).
 */
export class SignInMethods {
  private readonly sources: SignInMethodSource[] = [passwordSource];

  /** Counts the methods `source` lists from now on. */
  add(source: SignInMethodSource): void {
    this.sources.push(source);
  }

  async list(user: User): Promise<SignInMethod[]> {
    return (await Promise.all(this.sources.map((source) => source(user)))).flat();
  }

  async count(user: User): Promise<number> {
    return (await this.list(user)).length;
  }

  /** Throws LastSignInMethodError when removing the methods `removed` picks would leave none. */
  async assertMayRemove(user: User, removed: (method: SignInMethod) => boolean): Promise<void> {
    const remaining = (await this.list(user)).filter((method) => !removed(method));
    if (remaining.length === 0) throw new LastSignInMethodError();
  }
}
