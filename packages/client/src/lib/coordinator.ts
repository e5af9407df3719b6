import type { User } from '../types.js';

/**
 * What tabs of one origin tell each other. Times are relative (`remainingMs`), never absolute: a tab
 * whose clock jumped (a laptop that slept) must not misread another tab's expiry.
 */
export type TabMessage =
  | { readonly type: 'token'; readonly accessToken: string; readonly remainingMs: number; readonly lifetimeMs: number; readonly user: User }
  | { readonly type: 'request' }
  | { readonly type: 'signed-out' };

/**
 * One refresh at a time across the tabs of an origin. With Web Locks, tabs take turns to refresh;
 * with BroadcastChannel, the tab that refreshed hands the new access token to the others, so the
 * ones that waited find a fresh token and do not refresh again. (Two tabs that refreshed the same
 * cookie at once would not lose the session, since the server answers a retry within
 * REFRESH_REUSE_GRACE with the same successor, but each would still spend a rotation.)
 * Without either API (Node, old browsers), it is a plain pass-through: the single flight within
 * this client still holds.
 */
export class Coordinator {
  private readonly channel: BroadcastChannel | null;
  private readonly locks: LockManager | null;

  constructor(
    private readonly name: string,
    enabled: boolean,
    onMessage: (message: TabMessage) => void,
  ) {
    this.locks = enabled ? ((globalThis as { navigator?: Navigator }).navigator?.locks ?? null) : null;
    this.channel = enabled && typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : null;
    this.channel?.addEventListener('message', (event) => onMessage((event as MessageEvent<TabMessage>).data));
    // Node: a channel nobody closes must not keep the process alive.
    (this.channel as { unref?: () => void } | null)?.unref?.();
  }

  get shared(): boolean {
    return this.channel !== null;
  }

  /** Runs `fn` while no other tab of this origin runs its own `exclusive` for the same service. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.locks ? (this.locks.request(this.name, fn) as Promise<T>) : fn();
  }

  post(message: TabMessage): void {
    this.channel?.postMessage(message);
  }

  /**
   * Lets messages already on their way arrive. The tab that held the lock posts its token before it
   * releases the lock, but the two travel separately; one macrotask is enough for the post to land.
   */
  settle(ms = 0): Promise<void> {
    return this.channel ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }

  close(): void {
    this.channel?.close();
  }
}
