import type { RequestContext } from '../core/audit.js';
import type { User } from '../core/model.js';
import type { UserUpdateInput } from '../core/users/user-service.js';
import type { Services } from '../services.js';

/**
 * A user changing their own account. A new address is not taken on their word: unless
 * EMAIL_VERIFICATION=off, it changes only once a link sent to it is followed, and the old address
 * is told (EMAIL-04). Other fields change at once. `pendingEmail` is set when a link went out.
 */
export async function updateOwnProfile(services: Services, user: User, input: UserUpdateInput, context: RequestContext): Promise<{ user: User; pendingEmail: string | null }> {
  const { email, ...rest } = input;
  if (email === undefined || services.config.mail.verification === 'off') {
    return { user: await services.users.update(user, user.id, input, context), pendingEmail: null };
  }
  const pending = await services.email.requestEmailChange(user, email, context);
  const updated = Object.keys(rest).length > 0 ? await services.users.update(user, user.id, rest, context) : user;
  return { user: updated, pendingEmail: pending === user.email ? null : pending };
}
