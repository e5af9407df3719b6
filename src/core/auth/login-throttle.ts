import { TooManyRequestsError } from '../errors.js';
import { clientBucket } from '../net.js';
import type { Clock, CounterStore } from '../ports.js';

export interface ThrottlePolicy {
  /** Failures from one network against one account before backoff starts. */
  readonly freePerNetwork: number;
  /** Failures against one account from networks it never logged in from, before backoff starts. */
  readonly freePerAccount: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** How long failures are remembered. */
  readonly failureWindowMs: number;
  /** How long a network where the account logged in stays trusted. */
  readonly knownNetworkMs: number;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = Object.freeze({
  freePerNetwork: 5,
  freePerAccount: 20,
  firstDelayMs: 2_000,
  maxDelayMs: 15 * 60_000,
  failureWindowMs: 24 * 3_600_000,
  knownNetworkMs: 30 * 86_400_000,
});

/**
 * ENUM-04: failed logins slow down the guesser, not the owner.
 *
 * - Per network and account: after a few failures each further one doubles the wait, from 2 s up
 *   to 15 minutes. This is what stops a guesser; it touches nobody else.
 * - Per account, across networks: a higher threshold catches guessing spread over many addresses.
 *   It does not apply on networks where the account has logged in successfully before, so an
 *   attacker cannot lock the owner out of their usual network, and no lock outlives 15 minutes
 *   after the attempts stop.
 * - Success clears the counters. Counters are keyed by the name as typed, for real and unknown
 *   accounts alike, so a 429 says nothing about whether an account exists, nor which email goes
 *   with which username.
 */
export class LoginThrottle {
  constructor(
    private readonly counters: CounterStore,
    private readonly clock: Clock,
    private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {}

  private keys(account: string, ip: string | null | undefined) {
    const network = clientBucket(ip);
    return {
      networkFailures: `fail:net:${network}:${account}`,
      networkLock: `lock:net:${network}:${account}`,
      accountFailures: `fail:acct:${account}`,
      accountLock: `lock:acct:${account}`,
      known: `known:${account}:${network}`,
    };
  }

  /**
   * Reserves one attempt, before the password is checked, and throws TooManyRequestsError when the
   * account is locked for this client. The attempt is counted as a failure until succeed() clears
   * it, so a burst of concurrent guesses cannot slip in before the first failure is counted: past
   * the free allowance, only the attempt that opens a lock window gets its password checked; the
   * rest of the burst meets that lock. Returns the lock this attempt started, if any (for the audit).
   */
  async begin(account: string, ip: string | null | undefined): Promise<{ scope: 'network' | 'account'; seconds: number } | null> {
    const now = this.clock.now();
    const k = this.keys(account, ip);
    const p = this.policy;
    const refuse = (lock: { resetAt: number }) => new TooManyRequestsError((lock.resetAt - now) / 1000);
    const known = (await this.counters.get(k.known, now)) !== null;
    const networkLock = await this.counters.get(k.networkLock, now);
    if (networkLock) throw refuse(networkLock);
    const accountLock = known ? null : await this.counters.get(k.accountLock, now);
    if (accountLock) throw refuse(accountLock);

    const delay = (over: number) => Math.min(p.firstDelayMs * 2 ** (over - 1), p.maxDelayMs);
    const network = await this.counters.increment(k.networkFailures, p.failureWindowMs, now);
    const account_ = await this.counters.increment(k.accountFailures, p.failureWindowMs, now);
    let started: { scope: 'network' | 'account'; seconds: number } | null = null;
    if (network.count > p.freePerNetwork) {
      const ms = delay(network.count - p.freePerNetwork);
      const lock = await this.counters.increment(k.networkLock, ms, now);
      if (lock.count > 1) throw refuse(lock);
      started = { scope: 'network', seconds: Math.ceil(ms / 1000) };
    }
    if (!known && account_.count > p.freePerAccount) {
      const ms = delay(account_.count - p.freePerAccount);
      const lock = await this.counters.increment(k.accountLock, ms, now);
      if (lock.count > 1) throw refuse(lock);
      started ??= { scope: 'account', seconds: Math.ceil(ms / 1000) };
    }
    return started;
  }

  /** Clears the counters and remembers this network as one the owner uses. */
  async succeed(account: string, ip: string | null | undefined): Promise<void> {
    const k = this.keys(account, ip);
    await this.counters.delete(k.networkFailures, k.networkLock, k.accountFailures, k.accountLock, k.known);
    await this.counters.increment(k.known, this.policy.knownNetworkMs, this.clock.now());
  }
}
