import type { Clock } from '../../src/core/ports.js';

/** A clock the test moves by hand: expiry is tested by advancing it, never by sleeping. */
export class TestClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}
