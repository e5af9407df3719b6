import { describe, expect, it } from 'vitest';
import { illFormedPath } from '../../src/http/well-formed.js';

const LONE = '\ud800';

describe('ID-05: the path of the first ill-formed string or key', () => {
  it('is null for well-formed values of every kind, undefined and null members included', () => {
    expect(illFormedPath({ a: 'x', b: [1, 'y', null, { c: undefined }], d: true, 'e/f': '👩‍💻' })).toBeNull();
    expect(illFormedPath('plain')).toBeNull();
    expect(illFormedPath(undefined)).toBeNull();
  });

  it('is a JSON pointer (RFC 6901) to a string, through objects and arrays, with ~ and / escaped', () => {
    expect(illFormedPath(`a${LONE}`)).toBe('/');
    expect(illFormedPath({ password: `x${LONE}` })).toBe('/password');
    expect(illFormedPath({ list: ['ok', { 'a/b~c': LONE }] })).toBe('/list/1/a~1b~0c');
    expect(illFormedPath({ a: undefined, b: [null, LONE] })).toBe('/b/1');
  });

  it('names a key that is ill-formed itself', () => {
    expect(illFormedPath({ outer: { [`k${LONE}`]: 'v' } })).toBe(`/outer/k${LONE}`);
  });

  it('walks a body nested far deeper than the call stack allows', () => {
    let deep: unknown = LONE;
    for (let i = 0; i < 100_000; i++) deep = { n: deep };
    expect(illFormedPath(deep)).toBe('/n'.repeat(100_000));
  });
});
