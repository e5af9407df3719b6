import { InvalidCredentialsError, ValidationError } from '../errors.js';
import type { User } from '../model.js';
import { normalizeIdentifier } from '../normalize.js';
import type { UserStore } from '../ports.js';
import type { UserService } from '../users/user-service.js';
import type { PasswordHasher } from './password-hasher.js';
import { PASSWORD_MAX_BYTES, checkNewPassword } from './password-policy.js';
import type { ClientContext, Principal, SessionService, TokenGrant } from './session-service.js';

/** Logging in and changing passwords. */
export class AuthService {
  constructor(
    private readonly users: UserStore,
    private readonly userService: UserService,
    private readonly sessions: SessionService,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * ENUM-01/02: an unknown login, a wrong password and a disabled account fail the same way, and
   * each spends one Argon2 verification, so neither the answer nor its timing tells them apart.
   */
  async login(login: string, password: string, client: ClientContext): Promise<TokenGrant> {
    const user = await this.checkCredentials(login, password);
    return this.sessions.start(user, client);
  }

  /** Returns the user the credentials belong to, or throws InvalidCredentialsError. */
  async checkCredentials(login: string, password: string): Promise<User> {
    // PWD-06: never feed an unbounded string to the hasher.
    if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) throw new InvalidCredentialsError();
    const key = normalizeIdentifier(login);
    const user = key.includes('@') ? await this.users.findByEmail(key) : await this.users.findByUsername(key);
    if (!user) {
      await this.hasher.verifyDummy(password);
      throw new InvalidCredentialsError();
    }
    const matches = await this.hasher.verify(user.passwordHash, password);
    if (!matches || user.disabled) throw new InvalidCredentialsError();
    // PWD-05: move old hashes to the current parameters while we hold the plain password.
    if (this.hasher.needsRehash(user.passwordHash)) await this.userService.setPasswordHash(user.id, await this.hasher.hash(password));
    return user;
  }

  /** PWD-04: the current password is required; SES-04: every other session ends. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<void> {
    const { user } = principal;
    if (!(await this.hasher.verify(user.passwordHash, currentPassword))) {
      throw ValidationError.field('current_password', 'is not correct');
    }
    checkNewPassword(newPassword, 'new_password', { username: user.username, email: user.email });
    await this.userService.setPasswordHash(user.id, await this.hasher.hash(newPassword));
    await this.sessions.revokeAll(user.id, principal.session.id);
  }
}
