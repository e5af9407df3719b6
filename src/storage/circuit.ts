export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker for one dependency. Closed: calls go through. Once a call fails for want of the
 * dependency (timeout, refused, reset), it opens: callers stop waiting on it and fail fast (or fall
 * back) for `retryMs`; then one call goes through as a probe (half-open) and its outcome closes or
 * reopens it. Without this, every request would wait out the full deadline during an outage, and
 * a stalled dependency would pile up thousands of pending requests.
 */
export class Circuit {
  private current: CircuitState = 'closed';
  private openedAt = 0;
  /** Why it last opened, for /ready and the log (a message, never a secret-bearing object). */
  lastError: string | null = null;
  /** How many times it has opened since start (a metric). */
  openings = 0;

  constructor(
    readonly name: string,
    readonly retryMs: number,
    private readonly onChange: (circuit: Circuit) => void = () => {},
  ) {}

  get state(): CircuitState {
    return this.current;
  }

  /** Whether a call may go to the dependency now; after `retryMs` open, one probe may. */
  allow(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open' && Date.now() - this.openedAt >= this.retryMs) {
      this.set('half-open');
      return true;
    }
    return false;
  }

  succeed(): void {
    if (this.current !== 'closed') {
      this.lastError = null;
      this.set('closed');
    }
  }

  fail(error: unknown): void {
    this.lastError = describe(error);
    this.openedAt = Date.now();
    if (this.current !== 'open') {
      this.openings++;
      this.set('open');
    }
  }

  /** Seconds a client should wait before trying again. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryMs / 1000));
  }

  private set(state: CircuitState): void {
    this.current = state;
    this.onChange(this);
  }
}

/** One line about an error: its code and message, no stack, no connection string. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message.replace(/\/\/([^:/@]+):[^@]*@/g, '//$1:***@') || error.name;
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
