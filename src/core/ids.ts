import { randomFillSync } from 'node:crypto';

// CSPRNG bytes are drawn 4 KiB at a time and handed out once each, in order (as node's own
// randomUUID does): one randomBytes call costs more than a request's other id work, and a refresh
// or a login makes several.
const pool = Buffer.alloc(4096);
let used = pool.length;

/** `n` fresh random bytes, in a buffer of their own. */
function randomBytes(n: number): Buffer {
  if (n > pool.length) return randomFillSync(Buffer.alloc(n));
  if (used + n > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const bytes = Buffer.from(pool.subarray(used, used + n));
  // What was handed out does not stay behind in the pool (a heap dump would hold recent secrets).
  pool.fill(0, used, used + n);
  used += n;
  return bytes;
}

let lastMs = -1;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): time-ordered, so new rows land at the end of the primary-key index and
 * lists ordered by id are ordered by time. Within one millisecond a 12-bit counter keeps this
 * process's ids increasing (RFC 9562 §6.2, method 1); 62 random bits keep them unguessable.
 */
export function newId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs += 1;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The text every id made at `ms` or later sorts at or after, and every earlier one before: the
 * 48-bit time of a UUIDv7 leads it, so a time range over ids is a range over the primary key.
 */
export function idTimeBound(ms: number): string {
  const hex = Math.max(0, Math.min(ms, 0xffffffffffff)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}`;
}

/** `bytes` random bytes, base64url: for opaque token ids and secrets. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
