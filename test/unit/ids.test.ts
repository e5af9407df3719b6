import { describe, expect, it } from 'vitest';
import { idTimeBound, newId, randomToken } from '../../src/core/ids.js';

describe('newId', () => {
  it('is a UUIDv7 whose order follows creation, also within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => newId(Date.UTC(2030, 0, 1)));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The first 48 bits are the millisecond: idTimeBound's ranges rely on it.
    expect(ids[0]!.replace('-', '').slice(0, 12)).toBe(Date.UTC(2030, 0, 1).toString(16).padStart(12, '0'));
    expect(ids[0]! >= idTimeBound(Date.UTC(2030, 0, 1)) && ids[0]! < idTimeBound(Date.UTC(2030, 0, 1) + 1)).toBe(true);
  });
});

describe('randomToken', () => {
  it('hands out each random byte once: tokens across many refills of the pool are distinct and of full length', () => {
    const sizes = [12, 16, 24, 32, 4095, 5000];
    const tokens = Array.from({ length: 3000 }, (_, i) => randomToken(sizes[i % sizes.length]!));
    for (const [i, token] of tokens.entries()) expect(Buffer.from(token, 'base64url')).toHaveLength(sizes[i % sizes.length]!);
    expect(new Set(tokens).size).toBe(tokens.length);
    // No 16-byte window repeats across the tokens (a pool handed out twice would repeat whole runs).
    const windows = new Set<string>();
    for (const token of tokens) {
      const bytes = Buffer.from(token, 'base64url');
      for (let at = 0; at + 16 <= bytes.length; at += 16) {
        const w = bytes.subarray(at, at + 16).toString('hex');
        expect(windows.has(w)).toBe(false);
        windows.add(w);
      }
    }
  });
});
