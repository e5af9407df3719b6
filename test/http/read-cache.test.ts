import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signUp, type TestApp, type TestUser } from '../helpers/app.js';

/**
 * Users and items read by GET are served from memory for up to SESSION_CACHE_TTL; every change made
 * through this process must show at the next read all the same. The clock never moves here, so an
 * old copy would still be fresh by its age: only the invalidation can make these pass.
 */
describe('read caches of users and items', () => {
  let t: TestApp;
  let owner: TestUser;
  let admin: TestUser;
  beforeAll(async () => {
    t = await buildTestApp({ SESSION_CACHE_TTL: '60s' });
    owner = await signUp(t);
    admin = await signUp(t, { admin: true });
  });
  afterAll(() => t.close());

  const getItem = (name: string) => t.app.inject({ url: `/items/${encodeURIComponent(name)}`, headers: owner.auth });
  const json = (auth: { authorization: string }) => ({ ...auth, 'content-type': 'application/json' });

  it('AC-02: a changed, renamed or deleted item shows at the next read', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/items', headers: json(owner.auth), payload: { name: 'cached-lamp', price: 1 } })).statusCode).toBe(201);
    expect((await getItem('cached-lamp')).json().price).toBe(1);
    expect((await t.app.inject({ method: 'PATCH', url: '/items/cached-lamp', headers: json(owner.auth), payload: { price: 2 } })).statusCode).toBe(200);
    expect((await getItem('cached-lamp')).json().price).toBe(2);
    expect((await t.app.inject({ method: 'PUT', url: '/items/cached-lamp', headers: json(admin.auth), payload: { price: 3 } })).statusCode).toBe(200);
    expect((await getItem('cached-lamp')).json().price).toBe(3);
    expect((await t.app.inject({ method: 'PATCH', url: '/items/cached-lamp', headers: json(owner.auth), payload: { name: 'cached-lamp-2' } })).statusCode).toBe(200);
    expect((await getItem('cached-lamp')).statusCode).toBe(404);
    expect((await getItem('cached-lamp-2')).json().price).toBe(3);
    expect((await t.app.inject({ method: 'DELETE', url: '/items/cached-lamp-2', headers: owner.auth })).statusCode).toBe(204);
    expect((await getItem('cached-lamp-2')).statusCode).toBe(404);
  });

  it('a cached user or item is handed over in the same tick (no promise), a miss and an unknown one are not', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/items', headers: json(owner.auth), payload: { name: 'tick-lamp', price: 1 } })).statusCode).toBe(201);
    const miss = t.services.items.get('tick-lamp');
    expect(miss).toBeInstanceOf(Promise);
    expect((await miss).priceCents).toBe(100);
    // Now in memory: the route gets the item itself, and answers without awaiting anything.
    const hit = t.services.items.get('tick-lamp');
    expect(hit).not.toBeInstanceOf(Promise);
    expect(hit).toMatchObject({ name: 'tick-lamp', ownerId: owner.id });
    await t.services.users.get(owner.id);
    expect(t.services.users.get(owner.id)).toMatchObject({ id: owner.id });
    // An unknown one is never cached: a 404 from storage each time, thrown from the promise.
    await expect(t.services.items.get('no-such-lamp')).rejects.toMatchObject({ code: 'ERR_ITEM_NOT_FOUND' });
    const again = t.services.items.get('no-such-lamp');
    expect(again).toBeInstanceOf(Promise);
    await expect(again).rejects.toMatchObject({ code: 'ERR_ITEM_NOT_FOUND' });
    expect((await getItem('tick-lamp')).json()).toMatchObject({ name: 'tick-lamp', price: 1 });
  });

  it('AC-02: a write is checked against storage, never against a cached owner', async () => {
    const other = await signUp(t);
    expect((await t.app.inject({ method: 'POST', url: '/items', headers: json(other.auth), payload: { name: 'theirs', price: 1 } })).statusCode).toBe(201);
    expect((await getItem('theirs')).statusCode).toBe(200); // cached, owned by `other`
    expect((await t.app.inject({ method: 'PATCH', url: '/items/theirs', headers: json(owner.auth), payload: { price: 9 } })).statusCode).toBe(403);
  });

  it('CLM-07: a renamed, demoted or disabled user shows at the next read', async () => {
    const user = await signUp(t);
    const read = () => t.app.inject({ url: `/users/${user.id}`, headers: admin.auth }).then((r) => r.json());
    expect((await read()).role).toBe('user');
    expect((await t.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: json(admin.auth), payload: { role: 'admin', name: 'Promoted' } })).statusCode).toBe(200);
    expect(await read()).toMatchObject({ role: 'admin', name: 'Promoted' });
    expect((await t.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: json(admin.auth), payload: { role: 'user', disabled: true } })).statusCode).toBe(200);
    expect(await read()).toMatchObject({ role: 'user', disabled: true });
  });

  it('users directory: a renamed user shows their new username and name to other users at the next read, and still no more than that', async () => {
    const user = await signUp(t);
    const entry = () => t.app.inject({ url: `/users/${user.id}`, headers: owner.auth }).then((r) => r.json());
    expect(Object.keys(await entry()).sort()).toEqual(['id', 'name', 'username']);
    const username = `renamed_${user.id.slice(-6)}`;
    expect((await t.app.inject({ method: 'PATCH', url: '/auth/me', headers: json(user.auth), payload: { username, name: 'Renamed' } })).statusCode).toBe(200);
    expect(await entry()).toEqual({ id: user.id, username, name: 'Renamed' });
  });

  it('CLM-05: a deleted user is gone at the next read, and so are their items', async () => {
    const user = await signUp(t);
    expect((await t.app.inject({ method: 'POST', url: '/items', headers: json(user.auth), payload: { name: 'goes-with-owner', price: 1 } })).statusCode).toBe(201);
    expect((await getItem('goes-with-owner')).statusCode).toBe(200);
    expect((await t.app.inject({ url: `/users/${user.id}`, headers: admin.auth })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: admin.auth })).statusCode).toBe(204);
    expect((await t.app.inject({ url: `/users/${user.id}`, headers: admin.auth })).statusCode).toBe(404);
    expect((await getItem('goes-with-owner')).statusCode).toBe(404);
  });
});
