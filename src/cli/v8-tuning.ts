import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

// Four settings of V8 for a server process. All came from processes that, started the same way,
// settled at very different speeds for as long as they ran; all are measured in bench/README.md.

// 1. Allocation-site pretenuring off, before any other module is loaded (main.ts imports this
// module first). When a burst of requests finds many young objects alive at a
// scavenge (50 connections at once after a quiet minute is enough), V8 may decide that the sites
// allocating them make long-lived objects and allocate them in the old generation from then on. A
// request's objects die within the request, so the old generation then fills in a few hundred
// milliseconds and is marked and compacted over and over by the GC threads: measured here, about 1
// in 5 fresh server processes fell into that state at random and used 1.5 to 2 times the CPU per
// request (GC helper threads at about 9% each) for as long as they ran. With this setting none of
// 28 did. Nothing in Gatehouse lives in the pattern pretenuring is for (large, long-lived
// structures built in one burst).
v8.setFlagsFromString('--no-allocation-site-pretenuring');

// 2. V8's memory reducer off: `--no-memory-reducer` on node's command line (`npm start`, the
// production command in the README, the benchmark), because V8 reads it when it sets up the heap,
// before any of this runs. When the process has been idle a while, the reducer runs full
// collections that shrink the heap to what is live (here from 77 to 34 MB committed). The next
// burst of requests then grows it back under load: the old generation's smaller limit starts
// incremental marking over and over, and the young generation starts small, so the first seconds
// of traffic after a quiet spell cost more per request. Measured on GET /items/lamp after 30 s
// idle, fresh processes alternating: 60-63k requests per CPU-second without the reducer, 49-56k
// with it (the same process without the idle spell: 55-62k); twice the scavenges for the same
// traffic. The price is memory not handed back while idle: the heap stays at its working size.

/**
 * 3. process.nextTick warmed up, in the three shapes node's streams call it with, before the server
 * takes its first request (the serve command calls this; other commands need not pay). Every
 * answer goes through it several times (a request's end, the socket write's callback, the
 * request's dump). Left to warm up under load, the tick object it builds (an object
 * literal with two computed symbol keys) often ended up built through V8's runtime, in the inlined
 * copies in endReadable, onwrite and resume: V8 runtime calls were 12.9% of a slow process' profile
 * against 4.7% of a fast one's, and slow processes were the common case. Measured on GET /auth/me,
 * fresh processes pinned to a core, steady state: 51-57k requests per CPU-second in the 7 without
 * this, 58-65k in the 19 with it (partly interleaved). It costs about 30 ms at start.
 */
export function warmUpNextTick(): void {
  const noop = (): void => {};
  for (let i = 0; i < 20_000; i++) {
    process.nextTick(noop);
    process.nextTick(noop, i);
    process.nextTick(noop, i, i);
  }
}

/**
 * 4. One full garbage collection once the service is built, before it listens (the serve command
 * passes this to startServer). V8 gives an object its hidden class by transitions from the class
 * it had: every `{}` that gets a first property goes from the empty object's class through the
 * transition for that name, and that class keeps at most 1,536 of them. Building the app compiles
 * hundreds of schemas, and their compilers put objects with made-up first names on the way
 * (fast-json-stringify's `__fjs_root_<n>`, one per response schema; Ajv's generated `_errs<n>`,
 * `validate<n>`...): the table was full before the first request, with names of objects already
 * garbage. While it is full, V8 makes a new class for every `{}` that gets a property: node's
 * headers object of every request, and every object Fastify and Gatehouse build that way. Reads of
 * their properties then find a class never seen before, so they take V8's slowest lookups, and
 * each request allocates classes. Transitions to classes nothing uses any more are dropped only by
 * a full collection, which a server with a small heap may not do for minutes.
 * Measured on fresh processes alternating: GET /items/lamp 10-42% and GET /auth/me 6-18% more
 * requests per CPU-second (bench/README.md); test/e2e/hidden-classes.test.ts checks that room is
 * left. It costs one pause of tens of milliseconds, before the first request.
 */
export function collectStartupGarbage(): void {
  // --expose-gc gives `gc` to contexts made after it is set, not to this one.
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  v8.setFlagsFromString('--no-expose-gc');
  gc();
}
