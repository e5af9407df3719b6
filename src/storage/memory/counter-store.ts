import type { CounterStore } from '../../core/ports.js';

interface Window {
  count: number;
  resetAt: number;
}

// What may be dropped first when memory is full: plain request budgets, then failure counts of
// names that are no account. Locks and trusted networks go last, so that a flood of throwaway
// keys cannot erase an account's lockout (an attacker would otherwise flood, then guess again).
const EVICTION_ORDER: ((key: string) => boolean)[] = [(key) => key.startsWith('rate:'), (key) => key.startsWith('fail:'), () => true];

/**
 * Counters in this process's memory: right for one instance. Bounded, so a flood of distinct keys
 * cannot exhaust memory; when full, expired windows go first, then the cheapest (see above).
 */
export class MemoryCounterStore implements CounterStore {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly maxKeys = 200_000) {}

  increment(key: string, windowMs: number, now: number): { count: number; resetAt: number } {
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.evict(now);
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetAt: window.resetAt };
  }

  async get(key: string, now: number): Promise<{ count: number; resetAt: number } | null> {
    const window = this.windows.get(key);
    if (!window || window.resetAt <= now) return null;
    return { count: window.count, resetAt: window.resetAt };
  }

  async delete(...keys: string[]): Promise<void> {
    for (const key of keys) this.windows.delete(key);
  }

  private evict(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    // Still full: drop a tenth, oldest first (Map keeps insertion order), cheapest kind first.
    let drop = Math.ceil(this.maxKeys / 10) - (this.maxKeys - this.windows.size);
    for (const cheap of EVICTION_ORDER) {
      for (const key of this.windows.keys()) {
        if (drop <= 0) return;
        if (cheap(key)) {
          this.windows.delete(key);
          drop--;
        }
      }
    }
  }
}
