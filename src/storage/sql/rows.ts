import type { UserChanges } from '../../core/ports.js';
import type { AuditEvent, AuditType, Item, Role, Session, SigningKey, User } from '../../core/model.js';

// Rows use snake_case columns; the core uses camelCase. They meet only here.

export interface UserRow {
  id: string;
  username: string;
  email: string;
  name: string | null;
  role: Role;
  disabled: number | boolean;
  email_verified: number | boolean;
  password_hash: string;
  created_at: number;
  updated_at: number;
}
export const USER_COLUMNS = 'id, username, email, name, role, disabled, email_verified, password_hash, created_at, updated_at';
/** Columns of UserChanges, and the skeleton the store derives from a new username (ID-04). */
export const USER_CHANGE_COLUMNS: Record<keyof UserChanges | 'usernameSkeleton', string> = {
  username: 'username',
  usernameSkeleton: 'username_skeleton',
  email: 'email',
  name: 'name',
  role: 'role',
  disabled: 'disabled',
  passwordHash: 'password_hash',
  emailVerified: 'email_verified',
  updatedAt: 'updated_at',
};
export const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  email: r.email,
  name: r.name,
  role: r.role,
  disabled: Boolean(r.disabled),
  emailVerified: Boolean(r.email_verified),
  passwordHash: r.password_hash,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface SessionRow {
  id: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
  user_agent: string | null;
  ip: string | null;
  refresh_id: string;
  refresh_hash: string | null;
  rotated_at: number | null;
  client_id: string;
  scope: string;
  auth_time: number | null;
  amr: string;
  acr: string;
}
export const SESSION_COLUMNS =
  'id, user_id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip, refresh_id, rotated_at, client_id, scope, auth_time, amr, acr, refresh_hash';
export const toSession = (r: SessionRow): Session => ({
  id: r.id,
  userId: r.user_id,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  userAgent: r.user_agent,
  ip: r.ip,
  refreshId: r.refresh_id,
  refreshHash: r.refresh_hash,
  rotatedAt: r.rotated_at,
  clientId: r.client_id,
  scope: r.scope,
  // Sessions from before 0006 were password logins at their creation.
  authTime: r.auth_time ?? r.created_at,
  amr: r.amr.split(' ').filter(Boolean),
  acr: r.acr,
});

/** A session joined with its user (`s`, `u`); the user's clashing columns carry a `u_` prefix. */
export type SessionUserRow = SessionRow & Omit<UserRow, 'id' | 'created_at' | 'updated_at'> & { u_id: string; u_created_at: number; u_updated_at: number };
export const SESSION_USER_COLUMNS = `s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.revoked_at, s.user_agent, s.ip, s.refresh_id, s.rotated_at, s.client_id, s.scope, s.auth_time, s.amr, s.acr, s.refresh_hash,
  u.id AS u_id, u.username, u.email, u.name, u.role, u.disabled, u.email_verified, u.password_hash, u.created_at AS u_created_at, u.updated_at AS u_updated_at`;
export const toSessionAndUser = (row: SessionUserRow): { session: Session; user: User } => ({
  session: toSession(row),
  user: toUser({ ...row, id: row.u_id, created_at: row.u_created_at, updated_at: row.u_updated_at }),
});

export const REFRESH_COLUMNS = 'id, session_id, secret_hash, parent_id, created_at';

export interface ItemRow {
  name: string;
  price_cents: number;
  description: string | null;
  owner_id: string;
  created_at: number;
  updated_at: number;
}
export const ITEM_COLUMNS = 'name, price_cents, description, owner_id, created_at, updated_at';
export const toItem = (r: ItemRow): Item => ({
  name: r.name,
  priceCents: r.price_cents,
  description: r.description,
  ownerId: r.owner_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface KeyRow {
  kid: string;
  alg: SigningKey['alg'];
  private_key_pem: string;
  public_jwk: string;
  status: SigningKey['status'];
  created_at: number;
  retired_at: number | null;
}
export const KEY_COLUMNS = 'kid, alg, private_key_pem, public_jwk, status, created_at, retired_at';
export const toKey = (r: KeyRow): SigningKey => ({
  kid: r.kid,
  alg: r.alg,
  privateKeyPem: r.private_key_pem,
  publicJwk: JSON.parse(r.public_jwk) as Record<string, string>,
  status: r.status,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
});

export interface AuditRow {
  id: string;
  at: number;
  type: AuditType;
  actor_id: string | null;
  subject_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: string;
}
export const AUDIT_COLUMNS = 'id, at, type, actor_id, subject_id, ip, user_agent, request_id, details';
export const toAuditEvent = (r: AuditRow): AuditEvent => ({
  id: r.id,
  at: r.at,
  type: r.type,
  actorId: r.actor_id,
  subjectId: r.subject_id,
  ip: r.ip,
  userAgent: r.user_agent,
  requestId: r.request_id,
  details: JSON.parse(r.details) as AuditEvent['details'],
});
