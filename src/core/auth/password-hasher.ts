import { availableParallelism } from 'node:os';
import { BusyError } from '../errors.js';
import { QueueFullError, Semaphore } from '../semaphore.js';
import { HashThreads, type HashJob } from './hash-threads.js';

// @node-rs/argon2's Algorithm is an ambient const enum, which isolated modules cannot import.
const ARGON2ID = 2;
import { randomToken } from '../ids.js';

export interface Argon2Params {
  /** KiB */
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** PWD-05: OWASP's Argon2id floor (m=19 MiB, t=2, p=1). */
export const OWASP_ARGON2ID: Argon2Params = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1 });

/**
 * How many hashes a process runs at once: one per core but one (see PasswordHasher), shared among
 * the processes serving on the machine (WORKERS), at least one each. Each hash holds 19 MiB: with
 * a full share per worker, 16 workers on 16 cores would have run 240 at once in a login storm.
 */
export function hashSlots(workers = 1, cores = availableParallelism()): number {
  return Math.max(1, Math.floor((cores - 1) / workers));
}

/**
 * Argon2id hashing, on threads of its own (HashThreads), so a login storm never stalls the event
 * loop. At most one hash per core but one runs at a time on the machine (hashSlots, shared among
 * WORKERS): the remaining core keeps answering every other request promptly, and a storm queues
 * logins instead of starving the service.
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | null = null;
  private readonly slots: Semaphore;
  private readonly threads: HashThreads;

  constructor(
    readonly params: Argon2Params = OWASP_ARGON2ID,
    concurrency = hashSlots(),
  ) {
    this.threads = HashThreads.forProcess(concurrency);
    // Two jobs per thread: one running, the next already handed over. Past a few seconds' worth of
    // waiting hashes, say "busy" at once rather than queue forever.
    this.slots = new Semaphore(2 * concurrency, 256);
  }

  private run(job: HashJob): Promise<string | boolean> {
    return this.slots
      .run(() => this.threads.run(job))
      .catch((error: unknown) => {
        throw error instanceof QueueFullError ? new BusyError(2) : error;
      });
  }

  async hash(password: string): Promise<string> {
    return (await this.run({ password, options: { algorithm: ARGON2ID, ...this.params } })) as string;
  }

  /** False for a wrong password and for a hash it cannot read; never throws for those. */
  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return (await this.run({ password, hash: passwordHash })) === true;
    } catch (error) {
      if (error instanceof BusyError) throw error;
      return false;
    }
  }

  /**
   * ENUM-02: spend one real verification when there is no user, so that an unknown login takes
   * as long as a wrong password and timing does not tell which accounts exist.
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash(randomToken(24));
    await this.verify(await this.dummyHash, password);
    return false;
  }

  /** True when the stored hash was made with other parameters than ours (rehash on login). */
  needsRehash(passwordHash: string): boolean {
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(passwordHash);
    if (!match) return true;
    const [, m, t, p] = match.map(Number) as [number, number, number, number];
    return m !== this.params.memoryCost || t !== this.params.timeCost || p !== this.params.parallelism;
  }
}
