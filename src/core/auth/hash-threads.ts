import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** One Argon2id job: a hash of `password` (with `options`), or a check of it against `hash`. */
export type HashJob = { readonly password: string; readonly options: object; readonly hash?: undefined } | { readonly password: string; readonly hash: string };

// Each thread runs its jobs one after the other, synchronously, in the order they arrive. Plain
// JavaScript, given as source: the thread runs outside any TypeScript loader (the tests run the
// sources), and it needs nothing but @node-rs/argon2, whose resolved path it is handed.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const argon2 = require(workerData);
parentPort.on('message', ({ id, password, options, hash }) => {
  let answer;
  try {
    answer = { id, value: hash === undefined ? argon2.hashSync(password, options) : argon2.verifySync(hash, password) };
  } catch (error) {
    answer = { id, error: String(error && error.message ? error.message : error) };
  }
  parentPort.postMessage(answer);
});
`;

const ARGON2 = createRequire(import.meta.url).resolve('@node-rs/argon2');

interface Waiting {
  readonly resolve: (value: string | boolean) => void;
  readonly reject: (error: Error) => void;
}

/** A thread of its own for Argon2id, kept in the process only while it has work. */
class HashThread {
  // None of the process's node flags: the thread needs none, and one such as --input-type=module
  // would read the source as a module.
  private readonly worker = new Worker(THREAD_SOURCE, { eval: true, workerData: ARGON2, execArgv: [] });
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  gone = false;

  constructor() {
    this.worker.unref();
    this.worker.on('message', ({ id, value, error }: { id: number; value?: string | boolean; error?: string }) => {
      const job = this.waiting.get(id)!;
      this.waiting.delete(id);
      if (this.waiting.size === 0) this.worker.unref();
      if (error === undefined) job.resolve(value!);
      else job.reject(new Error(error));
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the hashing thread stopped (exit code ${code})`)));
  }

  /** Jobs sent and not answered yet. */
  get load(): number {
    return this.waiting.size;
  }

  run(job: HashJob): Promise<string | boolean> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      // While it has work, the thread keeps the process alive (a CLI command awaiting a hash).
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...job });
    });
  }

  private fail(error: Error): void {
    if (this.gone) return;
    this.gone = true;
    for (const job of this.waiting.values()) job.reject(error);
    this.waiting.clear();
    this.worker.unref();
  }
}

/**
 * Threads that run Argon2id hashes, one at a time each. A hash on libuv's pool (the async API of
 * @node-rs/argon2) ends on the event loop, which then starts the next one: under load the loop is
 * busy with other requests, and the hash slot stood idle meanwhile (logins 0.87-0.92x the raw
 * Argon2id rate). Here each thread is handed its next job while it still works on the current one
 * (`run` spreads jobs over the threads by load; PasswordHasher allows two per thread), so it goes
 * on to the next the moment one ends, whatever the event loop is doing.
 *
 * One set per process, grown to the largest size asked for: the tests build many services in one
 * process. Idle threads do not keep the process alive; a thread that dies fails its jobs and is
 * replaced at the next one.
 */
export class HashThreads {
  private static shared: HashThreads | undefined;
  private threads: HashThread[] = [];

  private constructor(private size: number) {}

  /** The process's hashing threads, at least `size` of them. */
  static forProcess(size: number): HashThreads {
    const threads = (HashThreads.shared ??= new HashThreads(size));
    threads.size = Math.max(threads.size, size);
    return threads;
  }

  run(job: HashJob): Promise<string | boolean> {
    this.threads = this.threads.filter((thread) => !thread.gone);
    if (this.threads.length < this.size) {
      const thread = new HashThread();
      this.threads.push(thread);
      return thread.run(job);
    }
    let idlest = this.threads[0]!;
    for (const thread of this.threads) if (thread.load < idlest.load) idlest = thread;
    return idlest.run(job);
  }
}
