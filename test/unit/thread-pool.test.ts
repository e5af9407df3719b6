import { describe, expect, it } from 'vitest';
import { threadPoolSize } from '../../src/cli/thread-pool.js';
import { hashSlots } from '../../src/core/auth/password-hasher.js';

// The access tokens' signatures and the Argon2id hashes share libuv's thread pool: the pool must
// keep threads beyond the hashes' slots, or a login storm holds every refresh's signature back.
describe("libuv's thread pool size", () => {
  it("keeps the operator's UV_THREADPOOL_SIZE", () => {
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '2' }, 15)).toBe('2');
  });

  it('is the hash slots plus 4 otherwise, so hashes alone never fill it', () => {
    expect(threadPoolSize({}, 1)).toBe('5');
    expect(threadPoolSize({}, 7)).toBe('11');
  });

  it("stays within libuv's limit of 1024 threads", () => {
    expect(threadPoolSize({}, 5000)).toBe('1024');
  });
});

// Each hash holds 19 MiB and a core: the processes serving on a machine share one budget of hashes.
describe('Argon2id slots per process', () => {
  it('is one per core but one for a single process', () => {
    expect(hashSlots(1, 8)).toBe(7);
    expect(hashSlots(1, 2)).toBe(1);
  });

  it('is shared among the workers, at least one each', () => {
    expect(hashSlots(8, 8)).toBe(1);
    expect(hashSlots(2, 9)).toBe(4);
    expect(hashSlots(4, 2)).toBe(1);
    expect(hashSlots(16, 16) * 16).toBeLessThanOrEqual(16);
  });
});
