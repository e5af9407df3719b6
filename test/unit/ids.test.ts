import { describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.js';

describe('newId', () => {
  it('is a UUIDv7 whose order follows creation, also within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => newId(Date.UTC(2030, 0, 1)));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
