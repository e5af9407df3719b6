import type { TokenGrant } from '../core/auth/session-service.js';
import { centsToPrice } from '../core/items/item-service.js';
import type { Item, Session, User } from '../core/model.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** What `viewer` may see of `user`: email and disabled only for themself and admins. */
export function userView(user: User, viewer: User | null) {
  const full = viewer !== null && (viewer.id === user.id || viewer.role === 'admin');
  // Keys in the order the compiled serializer writes them (required first, then optional), so the
  // fast path's JSON.stringify gives the same bytes.
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    role: user.role,
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
    ...(full ? { email: user.email, disabled: user.disabled, email_verified: user.emailVerified } : {}),
  };
}

/** What other signed-in users see of `user` (the directory); see UserDirectoryEntry. */
export function directoryView(user: User) {
  return { id: user.id, username: user.username, name: user.name };
}

export function itemView(item: Item) {
  return {
    name: item.name,
    price: centsToPrice(item.priceCents),
    description: item.description,
    owner_id: item.ownerId,
    created_at: iso(item.createdAt),
    updated_at: iso(item.updatedAt),
  };
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
export function tokenView(grant: TokenGrant, options: { refreshInCookie?: boolean } = {}) {
  return {
    access_token: grant.accessToken,
    token_type: 'Bearer' as const,
    expires_in: grant.expiresIn,
    ...(options.refreshInCookie ? {} : { refresh_token: grant.refreshToken }),
    refresh_expires_in: grant.refreshExpiresIn,
    scope: grant.scope,
    user: userView(grant.user, grant.user),
  };
}
