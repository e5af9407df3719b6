import { FreshCache } from '../fresh-cache.js';
import type { Session, User } from '../model.js';
import type { Clock } from '../ports.js';

export interface Entry {
  readonly session: Session;
  readonly user: User;
  /** The session's client is first-party (see Principal.firstParty). */
  readonly firstParty: boolean;
}

/**
 * Recently checked sessions with their users, so a request with a live token costs no storage
 * round trip. Changes made in this process drop the affected entries at once; changes made
 * elsewhere are seen within `ttlMs`, the bound on staleness.
 */
export class PrincipalCache extends FreshCache<Entry> {
  constructor(clock: Clock, ttlMs: number, maxEntries = 50_000) {
    super(clock, ttlMs, maxEntries);
  }

  forgetSessions(sessionIds: readonly string[]): void {
    this.forget(sessionIds);
  }

  /** A changed or deleted client may be behind any number of sessions; rare, so a scan. */
  forgetClient(clientId: string): void {
    this.forgetWhere((entry) => entry.session.clientId === clientId);
  }

  /** A changed user may be behind any number of sessions. */
  forgetUser(userId: string): void {
    this.forgetWhere((entry) => entry.user.id === userId);
  }
}
