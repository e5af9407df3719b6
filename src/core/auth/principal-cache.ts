import type { Session, User } from '../model.js';
import type { Clock } from '../ports.js';

export interface Entry {
  readonly session: Session;
  readonly user: User;
  readonly loadedAt: number;
}

/**
 * Remembers recently checked sessions with their users, so a request with a live token costs no
 * storage round trip. Changes made in this process drop the affected entries at once; changes made
 * elsewhere (the CLI, another instance) are seen within `ttlMs`, the bound on staleness.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every forget: a load that started before one must not cache what it read. */
  private epoch = 0;
  /** Lookups answered from memory or from storage, for the metrics. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  /**
   * The session and its user: from memory when a fresh entry exists (synchronously, so a cached
   * request needs no promise), else loaded and remembered.
   */
  get(sessionId: string, load: (id: string) => Promise<{ session: Session; user: User } | null>): Entry | Promise<Entry | null> {
    const now = this.clock.now();
    const hit = this.entries.get(sessionId);
    if (hit !== undefined && now - hit.loadedAt < this.ttlMs) {
      this.stats.hits++;
      return hit;
    }
    this.stats.misses++;
    return this.load(sessionId, load, now);
  }

  private async load(sessionId: string, load: (id: string) => Promise<{ session: Session; user: User } | null>, now: number): Promise<Entry | null> {
    const epoch = this.epoch;
    const found = await load(sessionId);
    if (!found) {
      this.entries.delete(sessionId);
      return null;
    }
    const entry: Entry = { session: found.session, user: found.user, loadedAt: now };
    // A revocation or user change landed while we read: what we read may predate it. Use it for
    // this one request (as if it had arrived a moment earlier), but do not keep it.
    if (this.ttlMs > 0 && epoch === this.epoch) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(sessionId, entry);
    }
    return entry;
  }

  forgetSessions(sessionIds: readonly string[]): void {
    this.epoch++;
    for (const id of sessionIds) this.entries.delete(id);
  }

  /** A changed user may be behind any number of sessions; scanning is fine at this size and rate. */
  forgetUser(userId: string): void {
    this.epoch++;
    for (const [id, entry] of this.entries) if (entry.user.id === userId) this.entries.delete(id);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }
}
