import type { TokenGrant } from '../core/auth/session-service.js';
import { centsToPrice } from '../core/items/item-service.js';
import type { Item, Session, User } from '../core/model.js';

/** A token grant; a reauthentication's has no refresh token (the session keeps its own). */
export type AccessGrant = Omit<TokenGrant, 'refreshToken'> & { readonly refreshToken?: string };

const iso = (ms: number) => new Date(ms).toISOString();

type UserView = ReturnType<typeof buildUserView>;

function buildUserView(user: User, full: boolean) {
  return Object.freeze({
    id: user.id,
    username: user.username,
    name: user.name,
    role: user.role,
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
    ...(full ? { email: user.email, disabled: user.disabled, email_verified: user.emailVerified } : {}),
  });
}

// A User is immutable (a change makes a new object), so its views are built once per object and
// shared: the cached principal's user, or a user from the read cache, is the same object request
// after request. Views are frozen, which also tells the response serializer (serializers.ts) that
// their text can be kept.
type UserViews = { full?: UserView; limited?: UserView; directory?: DirectoryView };
const views = new WeakMap<User, UserViews>();

function memoOf(user: User): UserViews {
  let memo = views.get(user);
  if (memo === undefined) views.set(user, (memo = {}));
  return memo;
}

/** What `viewer` may see of `user`: email and disabled only for themself and admins. */
export function userView(user: User, viewer: User | null): UserView {
  const full = viewer !== null && (viewer.id === user.id || viewer.role === 'admin');
  const memo = memoOf(user);
  return full ? (memo.full ??= buildUserView(user, true)) : (memo.limited ??= buildUserView(user, false));
}

type DirectoryView = ReturnType<typeof buildDirectoryView>;

function buildDirectoryView(user: User) {
  return Object.freeze({ id: user.id, username: user.username, name: user.name });
}

/** What other signed-in users see of `user` (the directory); see UserDirectoryEntry. */
export function directoryView(user: User): DirectoryView {
  return (memoOf(user).directory ??= buildDirectoryView(user));
}

const itemViews = new WeakMap<Item, ReturnType<typeof buildItemView>>();

/** An item as the API shows it; built once per (immutable, often cached) item object. */
export function itemView(item: Item): ReturnType<typeof buildItemView> {
  let view = itemViews.get(item);
  if (view === undefined) itemViews.set(item, (view = buildItemView(item)));
  return view;
}

function buildItemView(item: Item) {
  return Object.freeze({
    name: item.name,
    price: centsToPrice(item.priceCents),
    description: item.description,
    owner_id: item.ownerId,
    created_at: iso(item.createdAt),
    updated_at: iso(item.updatedAt),
  });
}

export function sessionView(session: Session, currentId: string) {
  return {
    id: session.id,
    created_at: iso(session.createdAt),
    last_used_at: iso(session.lastUsedAt),
    expires_at: iso(session.expiresAt),
    user_agent: session.userAgent,
    ip: session.ip,
    current: session.id === currentId,
  };
}

/** The token response; in browser mode the refresh token travels only in its HttpOnly cookie. */
export function tokenView(grant: AccessGrant, options: { refreshInCookie?: boolean } = {}) {
  return {
    access_token: grant.accessToken,
    token_type: 'Bearer' as const,
    expires_in: grant.expiresIn,
    ...(options.refreshInCookie || grant.refreshToken === undefined ? {} : { refresh_token: grant.refreshToken }),
    refresh_expires_in: grant.refreshExpiresIn,
    scope: grant.scope,
    user: userView(grant.user, grant.user),
    amr: [...grant.amr],
  };
}
