import type { Role, User } from '../../core/model.js';
import type { UserChanges } from '../../core/ports.js';
import type { SqlParam } from './driver.js';

/** The users row, shared by every store that reads or writes one. */
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

/** Columns of UserChanges, and the skeleton the store derives from a new username (ID-04). */
export const USER_CHANGE_COLUMNS: Record<keyof UserChanges | 'usernameSkeleton', string> = {
  username: 'username', usernameSkeleton: 'username_skeleton', email: 'email', name: 'name', role: 'role', disabled: 'disabled', passwordHash: 'password_hash', emailVerified: 'email_verified', updatedAt: 'updated_at',
};

/** Builds `SET a = ?, b = ?` from the defined entries of `changes`, mapped to column names. */
export function assignments(changes: object, columns: Record<string, string>): { sql: string; params: SqlParam[] } {
  const entries = Object.entries(changes).filter(([key, value]) => value !== undefined && key in columns);
  return { sql: entries.map(([key]) => `${columns[key]} = ?`).join(', '), params: entries.map(([, value]) => value as SqlParam) };
}

export const userAssignments = (changes: UserChanges) => assignments(changes, USER_CHANGE_COLUMNS);
