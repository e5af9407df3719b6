import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/core/bounded-map.js';

describe('BoundedMap', () => {
  it('holds at most its limit: a new key drops the oldest entry, a known key only changes its value', () => {
    const map = new BoundedMap<string, number>(3);
    for (const [k, v] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      map.set(k, v);
    map.set('b', 20);
    expect([...map]).toEqual([
      ['a', 1],
      ['b', 20],
      ['c', 3],
    ]);
    map.set('d', 4);
    expect([...map]).toEqual([
      ['b', 20],
      ['c', 3],
      ['d', 4],
    ]);
    for (let i = 0; i < 1000; i++) map.set(`k${i}`, i);
    expect(map.size).toBe(3);
    expect([...map.keys()]).toEqual(['k997', 'k998', 'k999']);
  });
});
