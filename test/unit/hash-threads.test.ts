import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BusyError } from '../../src/core/errors.js';
import { hashSlots, PasswordHasher } from '../../src/core/auth/password-hasher.js';
import { CHEAP_ARGON2 } from '../helpers/app.js';

describe('PasswordHasher on its hashing threads', () => {
  it('PWD-05: hashes and verifies many at once, each answer to its own job', async () => {
    const hasher = new PasswordHasher(CHEAP_ARGON2, 2);
    const passwords = Array.from({ length: 24 }, (_, i) => `password number ${i}`);
    const hashes = await Promise.all(passwords.map((p) => hasher.hash(p)));
    expect(new Set(hashes).size).toBe(passwords.length);
    for (const h of hashes) expect(h).toMatch(/^\$argon2id\$v=19\$m=64,t=1,p=1\$/);
    // Right with its own hash, wrong with its neighbour's: the answers were not mixed up.
    const right = await Promise.all(passwords.map((p, i) => hasher.verify(hashes[i]!, p)));
    const crossed = await Promise.all(passwords.map((p, i) => hasher.verify(hashes[(i + 1) % hashes.length]!, p)));
    expect(right.every(Boolean)).toBe(true);
    expect(crossed.some(Boolean)).toBe(false);
  });

  it('a hash it cannot read verifies as false, and the thread goes on serving', async () => {
    const hasher = new PasswordHasher(CHEAP_ARGON2, 1);
    expect(await hasher.verify('not a hash at all', 'x')).toBe(false);
    expect(await hasher.verify('$argon2id$v=19$m=64,t=1,p=1$broken', 'x')).toBe(false);
    expect(await hasher.verify(await hasher.hash('still here'), 'still here')).toBe(true);
  });

  it('past 256 waiting hashes, says busy at once instead of queueing without end', async () => {
    const hasher = new PasswordHasher(CHEAP_ARGON2, 1);
    const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => hasher.hash(`p${i}`)));
    const busy = results.filter((r) => r.status === 'rejected');
    // Two handed to the thread, 256 waiting: the rest are refused.
    expect(busy).toHaveLength(300 - 2 - 256);
    for (const r of busy) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BusyError);
  });

  it('an idle hashing thread does not keep a process alive, a working one does', () => {
    // A CLI command (gatehouse users create) hashes and ends: it must neither hang on the thread
    // afterwards nor exit before the hash comes back.
    const script = `
      import { PasswordHasher } from './src/core/auth/password-hasher.ts';
      const hasher = new PasswordHasher({ memoryCost: 64, timeCost: 1, parallelism: 1 }, 1);
      hasher.hash('a password').then(async (hash) => console.log('verified', await hasher.verify(hash, 'a password')));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 20_000, encoding: 'utf8' });
    expect(out.trim()).toBe('verified true');
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
