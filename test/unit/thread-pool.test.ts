import { describe, expect, it } from 'vitest';
import { threadPoolSize } from '../../src/cli/thread-pool.js';

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
