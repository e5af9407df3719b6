import { BoundedMap } from './bounded-map.js';
import type { NowOrLater } from './now-or-later.js';
import type { Clock } from './ports.js';

interface Entry<V> {
  readonly value: V;
  readonly loadedAt: number;
}

/**
 * A read-through cache of things storage holds, for the reads every request makes. Changes made
 * in this process drop the affected entries at once (the services call forget); changes made
 * elsewhere arrive through the invalidation bus, and `ttlMs` bounds what a lost message or a
 * process without a bus (the CLI) can leave stale. A hit is answered synchronously, so a request
 * that finds everything in memory waits on no promise.
 */
export class FreshCache<V> {
  private readonly entries: BoundedMap<string, Entry<V>>;
  /** Bumped by every forget: a load that started before one must not cache what it read. */
  private epoch = 0;
  /** Lookups answered from memory or from storage, for the metrics. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    maxEntries: number,
  ) {
    this.entries = new BoundedMap(maxEntries);
  }

  get(key: string, load: (key: string) => Promise<V | null>): NowOrLater<V | null> {
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && now - hit.loadedAt < this.ttlMs) {
      this.stats.hits++;
      return hit.value;
    }
    this.stats.misses++;
    return this.load(key, load, now);
  }

  private async load(key: string, load: (key: string) => Promise<V | null>, now: number): Promise<V | null> {
    const epoch = this.epoch;
    const value = await load(key);
    if (value === null) {
      this.entries.delete(key);
      return null;
    }
    // A change landed while we read: what we read may predate it. Use it for this one request (as
    // if it had arrived a moment earlier), but do not keep it.
    if (this.ttlMs > 0 && epoch === this.epoch) {
      this.entries.set(key, { value, loadedAt: now });
    }
    return value;
  }

  forget(keys: Iterable<string>): void {
    this.epoch++;
    for (const key of keys) this.entries.delete(key);
  }

  /** Drops every entry `matches` picks; a scan, for changes that are rare (a user changed). */
  forgetWhere(matches: (value: V) => boolean): void {
    this.epoch++;
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }
}
