import { describe, expect, it } from 'vitest';
import { memoizingSerializers } from '../../src/http/serializers.js';
import { userView } from '../../src/http/views.js';
import type { User } from '../../src/core/model.js';

const schema = { type: 'object', properties: { id: { type: 'string' }, name: { type: ['string', 'null'] } } };

describe('response serializers', () => {
  const compile = memoizingSerializers()({}, {});
  const serialize = compile({ method: 'GET', url: '/x', httpStatus: '200', schema }) as (data: unknown) => string;

  it('the schema stays the allow-list, for frozen views as for anything else', () => {
    expect(serialize({ id: 'a', name: 'A', secret: 's' })).toBe('{"id":"a","name":"A"}');
    expect(serialize(Object.freeze({ id: 'a', name: 'A', secret: 's' }))).toBe('{"id":"a","name":"A"}');
  });

  it('a frozen view is serialized once and its text reused; an object that can change is serialized each time', () => {
    const frozen = Object.freeze({ id: 'a', name: 'A' });
    const first = serialize(frozen);
    expect(serialize(frozen)).toBe(first);
    // Same text, and the same string: nothing was built the second time.
    expect(Object.is(serialize(frozen), first)).toBe(true);

    const open: { id: string; name: string } = { id: 'a', name: 'A' };
    expect(serialize(open)).toBe('{"id":"a","name":"A"}');
    open.name = 'B';
    expect(serialize(open)).toBe('{"id":"a","name":"B"}');
  });

  it('routes whose schemas are equal share one serializer; a different schema gets its own', () => {
    const problem = () => ({ type: 'object', properties: { status: { type: 'integer' }, title: { type: 'string' } } });
    const a = compile({ method: 'GET', url: '/a', httpStatus: '404', schema: problem() });
    const b = compile({ method: 'POST', url: '/b', httpStatus: '400', schema: problem() });
    expect(b).toBe(a);
    const other = compile({ method: 'GET', url: '/a', httpStatus: '200', schema: { type: 'object', properties: { status: { type: 'string' } } } });
    expect(other).not.toBe(a);
    // Each still writes what its own schema allows.
    expect((a as (d: unknown) => string)({ status: 404, title: 'Not Found', extra: 1 })).toBe('{"status":404,"title":"Not Found"}');
    expect((other as (d: unknown) => string)({ status: 'x', title: 'y' })).toBe('{"status":"x"}');
  });

  it('the views memoised per immutable user are frozen, so they cannot change under a kept text', () => {
    const user = {
      id: 'u',
      username: 'ann',
      name: null,
      role: 'user',
      email: 'ann@example.com',
      disabled: false,
      emailVerified: true,
      createdAt: 0,
      updatedAt: 0,
    } as unknown as User;
    const view = userView(user, user);
    expect(Object.isFrozen(view)).toBe(true);
    expect(userView(user, user)).toBe(view);
    expect(() => Object.assign(view, { role: 'admin' })).toThrow(TypeError);
  });
});
