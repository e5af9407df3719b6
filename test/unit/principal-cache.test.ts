import { describe, expect, it } from 'vitest';
import { PrincipalCache } from '../../src/core/auth/principal-cache.js';
import type { Session, User } from '../../src/core/model.js';
import { TestClock } from '../helpers/clock.js';

const user = { id: 'u1', role: 'user', disabled: false } as User;
const session = (revokedAt: number | null) => ({ id: 's1', userId: 'u1', clientId: 'gatehouse', revokedAt }) as Session;

/** What the cache answers from memory alone: a hit is synchronous, anything else is a promise. */
function cached(cache: PrincipalCache, id: string) {
  const answer = cache.get(id, async () => null);
  return answer instanceof Promise ? undefined : answer;
}

describe('PrincipalCache', () => {
  it('serves from memory within the TTL and asks storage again after it', async () => {
    const clock = new TestClock();
    const cache = new PrincipalCache(clock, 1000);
    let loads = 0;
    const load = async () => (loads++, { session: session(null), user, firstParty: true });
    await cache.get('s1', load);
    await cache.get('s1', load);
    expect(loads).toBe(1);
    // A hit needs no promise: the authentication hook answers in the same tick.
    expect(cache.get('s1', load)).not.toBeInstanceOf(Promise);
    expect(cached(cache, 's1')).toBeDefined();
    clock.advance(1000);
    expect(cached(cache, 's1')).toBeUndefined();
    await cache.get('s1', load);
    expect(loads).toBe(2);
  });

  it('SES-03: a revocation during a slow load does not leave the old row cached', async () => {
    const cache = new PrincipalCache(new TestClock(), 60_000);
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    // The load read the row before the logout committed...
    const inFlight = cache.get('s1', async () => {
      await slow;
      return { session: session(null), user, firstParty: true };
    });
    cache.forgetSessions(['s1']); // ...the logout lands while the read is on its way...
    release();
    await inFlight;
    // ...and the stale row was not kept: the next request reads storage again.
    expect(cached(cache, 's1')).toBeUndefined();
    let reloaded = false;
    const fresh = await cache.get('s1', async () => ((reloaded = true), { session: session(Date.now()), user, firstParty: true }));
    expect(reloaded).toBe(true);
    expect(fresh?.session.revokedAt).not.toBeNull();
  });

  it('forgets every session of a changed user', async () => {
    const cache = new PrincipalCache(new TestClock(), 60_000);
    await cache.get('s1', async () => ({ session: session(null), user, firstParty: true }));
    await cache.get('s2', async () => ({ session: { ...session(null), id: 's2' }, user, firstParty: true }));
    cache.forgetUser('u1');
    expect(cached(cache, 's1')).toBeUndefined();
    expect(cached(cache, 's2')).toBeUndefined();
  });

  it('forgets every session of a changed client (its first-party flag may have changed), and only those', async () => {
    const cache = new PrincipalCache(new TestClock(), 60_000);
    await cache.get('s1', async () => ({ session: { ...session(null), clientId: 'app' }, user, firstParty: false }));
    await cache.get('s2', async () => ({ session: { ...session(null), id: 's2' }, user, firstParty: true }));
    cache.forgetClient('app');
    expect(cached(cache, 's1')).toBeUndefined();
    expect(cached(cache, 's2')).toBeDefined();
  });
});
