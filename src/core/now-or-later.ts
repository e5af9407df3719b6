/**
 * A value at hand (a cache hit) or one still coming (a read from storage). Code on the request path
 * passes these along rather than awaiting them, so a request that finds everything in memory is
 * answered in the tick it arrived in: each `await` costs a promise and a microtask turn, hit or not
 * (about 5% of a cached GET's requests per CPU-second, for the two a route used to take).
 */
export type NowOrLater<T> = T | Promise<T>;

/**
 * `next` of the value: called at once when the value is at hand, else when it comes. `failed`, if
 * given, takes a promise's failure (a callback-style hook hands it to `done`).
 */
export function thenOrNow<T, R>(value: NowOrLater<T>, next: (value: T) => R, failed?: (error: Error) => R): NowOrLater<R> {
  return value instanceof Promise ? value.then<R, R>(next, failed) : next(value);
}
