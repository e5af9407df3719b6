import { hashSlots } from '../core/auth/password-hasher.js';

/** libuv's own limit on its thread pool. */
const LIBUV_MAX_THREADS = 1024;

/**
 * The size of libuv's thread pool unless the operator chose one. The pool runs the Argon2id hashes
 * (PasswordHasher), the access tokens' signatures (jws.ts) and node's own async fs and dns.lookup
 * calls. libuv's default of 4 threads would let a login storm on a machine of 5 cores or more take
 * every thread with hashes (about 10 ms each), and every refresh would wait for one of them to end
 * before its signature could start. So: the most hashes one process may run (one per core but one;
 * fewer with several WORKERS), plus 4 threads for everything else.
 */
export function threadPoolSize(env: NodeJS.ProcessEnv, slots = hashSlots()): string {
  return env.UV_THREADPOOL_SIZE ?? String(Math.min(slots + 4, LIBUV_MAX_THREADS));
}

// libuv reads the variable once, when the pool first starts: main.ts imports this module right
// after dotenv (so a value in .env is kept) and before anything can use the pool.
process.env.UV_THREADPOOL_SIZE = threadPoolSize(process.env);
