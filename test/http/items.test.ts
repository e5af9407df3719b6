import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/model.js';
import { buildTestApp, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';

interface ItemJson {
  name: string;
  price: number;
  description: string | null;
  owner_id: string;
  created_at: string;
  updated_at: string;
}
interface PageJson<T> {
  items: T[];
  next_cursor: string | null;
}
type Auth = { authorization: string };

let seq = 0;
const itemName = (tag = 'item') => `${tag}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
const path = (name: string) => `/items/${encodeURIComponent(name)}`;

function expectProblem(res: LightMyRequestResponse, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status);
  const problem = problemOf(res);
  expect(problem.status).toBe(status);
  if (code) expect(problem.code).toBe(code);
  return problem;
}

describe('items', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    t = await buildTestApp();
    alice = await signUp(t);
    bob = await signUp(t);
    admin = await signUp(t, { admin: true });
  });
  afterAll(() => t.close());

  const post = (auth: Auth, body: unknown) => t.app.inject({ method: 'POST', url: '/items', headers: auth, payload: body as Record<string, unknown> });
  const get = (auth: Auth, name: string) => t.app.inject({ method: 'GET', url: path(name), headers: auth });
  const put = (auth: Auth, name: string, body: unknown) => t.app.inject({ method: 'PUT', url: path(name), headers: auth, payload: body as Record<string, unknown> });
  const patch = (auth: Auth, name: string, body: unknown) => t.app.inject({ method: 'PATCH', url: path(name), headers: auth, payload: body as Record<string, unknown> });
  const del = (auth: Auth, name: string) => t.app.inject({ method: 'DELETE', url: path(name), headers: auth });

  /** Creates an item owned by `owner` and returns its name. */
  async function make(owner: Auth, body: { price?: number; description?: string | null } = {}, name = itemName()): Promise<string> {
    const res = await post(owner, { name, price: 10, ...body });
    expect(res.statusCode, res.body).toBe(201);
    return name;
  }

  const stored = (name: string): Promise<Item | null> => t.storage.items.findByName(name);

  describe('POST /items', () => {
    it('201; the owner is the caller; location header', async () => {
      const name = itemName('post');
      const res = await post(alice.auth, { name, price: 12.5, description: 'A thing' });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json<ItemJson>()).toMatchObject({ name, price: 12.5, description: 'A thing', owner_id: alice.id });
      expect(res.headers.location).toBe(path(name));
      expect((await get(bob.auth, name)).json<ItemJson>().owner_id).toBe(alice.id);
    });

    it('description is optional and defaults to null', async () => {
      const name = itemName();
      const res = await post(alice.auth, { name, price: 1 });
      expect(res.statusCode).toBe(201);
      expect(res.json<ItemJson>().description).toBeNull();
    });

    it('409 ERR_ITEM_CONFLICT when the name exists; the existing item is unchanged', async () => {
      const name = await make(alice.auth, { price: 5 });
      const before = await stored(name);
      const res = await post(bob.auth, { name, price: 99 });
      expectProblem(res, 409, 'ERR_ITEM_CONFLICT');
      expect(await stored(name)).toEqual(before);
    });

    it('AC-04: the owner cannot be chosen by the caller', async () => {
      for (const extra of [{ owner_id: bob.id }, { owner: bob.id }, { id: 'x' }]) {
        const name = itemName();
        const problem = expectProblem(await post(alice.auth, { name, price: 1, ...extra }), 400, 'ERR_VALIDATION');
        expect(problem.errors?.map((e) => e.field)).toContain(Object.keys(extra)[0]);
        expect(await stored(name)).toBeNull();
      }
    });
  });

  describe('price rules', () => {
    it('19.99 is stored and returned exactly as 19.99', async () => {
      const name = itemName('price');
      const res = await post(alice.auth, { name, price: 19.99 });
      expect(res.statusCode).toBe(201);
      expect(res.json<ItemJson>().price).toBe(19.99);
      expect((await stored(name))!.priceCents).toBe(1999);
      expect((await get(alice.auth, name)).json<ItemJson>().price).toBe(19.99);
      // The raw JSON text, not just the parsed number.
      expect((await get(alice.auth, name)).body).toContain('"price":19.99');
    });

    it.each([0, 0.01, 0.1, 1.1, 0.07, 100, 1234567.89])('%s is accepted and round-trips exactly', async (price) => {
      const name = itemName('price');
      const res = await post(alice.auth, { name, price });
      expect(res.statusCode, res.body).toBe(201);
      expect((await get(alice.auth, name)).json<ItemJson>().price).toBe(price);
    });

    it.each([
      ['-1', -1],
      ['-0.01', -0.01],
      ['1.234 (three decimals)', 1.234],
      ['0.1 + 0.2 (float noise)', 0.1 + 0.2],
      ['"12" (a string: bodies are not coerced)', '12'],
      ['"19.99" (a string)', '19.99'],
      ['null', null],
      ['true', true],
      ['[]', []],
      ['{}', {}],
    ])('%s → 400, nothing stored', async (_label, price) => {
      const name = itemName('badprice');
      const problem = expectProblem(await post(alice.auth, { name, price }), 400, 'ERR_VALIDATION');
      expect(problem.errors?.map((e) => e.field)).toContain('price');
      expect(await stored(name)).toBeNull();
    });

    it('PUT and PATCH apply the same price rules', async () => {
      const name = await make(alice.auth, { price: 3 });
      const before = await stored(name);
      expectProblem(await put(alice.auth, name, { price: 1.234 }), 400);
      expectProblem(await put(alice.auth, name, { price: '12' }), 400);
      expectProblem(await patch(alice.auth, name, { price: -1 }), 400);
      expectProblem(await patch(alice.auth, name, { price: '12' }), 400);
      expect(await stored(name)).toEqual(before);
      const ok = await patch(alice.auth, name, { price: 19.99 });
      expect(ok.statusCode).toBe(200);
      expect(ok.json<ItemJson>().price).toBe(19.99);
    });
  });

  describe('name rules', () => {
    it('100 characters ok, 101 → 400', async () => {
      const base = itemName('len');
      const hundred = base + 'x'.repeat(100 - base.length);
      expect((await post(alice.auth, { name: hundred, price: 1 })).statusCode).toBe(201);
      const long = base + 'y'.repeat(101 - base.length);
      const problem = expectProblem(await post(alice.auth, { name: long, price: 1 }), 400, 'ERR_VALIDATION');
      expect(problem.errors?.map((e) => e.field)).toContain('name');
      expect(await stored(long)).toBeNull();
    });

    it('empty name → 400', async () => {
      expectProblem(await post(alice.auth, { name: '', price: 1 }), 400);
    });

    it('a name with spaces and non-ASCII characters is addressable by URL', async () => {
      const name = `Crème brûlée ${itemName()}`;
      await make(alice.auth, {}, name);
      const res = await get(bob.auth, name);
      expect(res.statusCode).toBe(200);
      expect(res.json<ItemJson>().name).toBe(name);
    });
  });

  describe('GET /items', () => {
    let carol: TestUser;
    const names: string[] = [];
    beforeAll(async () => {
      carol = await signUp(t);
      for (const letter of ['e', 'a', 'd', 'b', 'c']) names.push(await make(carol.auth, {}, `carol-${letter}-${carol.id}`));
      names.sort();
    });

    const page = async (query: string, auth: Auth = alice.auth): Promise<PageJson<ItemJson>> => {
      const res = await t.app.inject({ method: 'GET', url: `/items${query}`, headers: auth });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<PageJson<ItemJson>>();
    };

    it("`?owner=` returns only that owner's items", async () => {
      const res = await page(`?owner=${carol.id}`);
      expect(res.items.map((i) => i.name)).toEqual(names);
      expect(res.items.every((i) => i.owner_id === carol.id)).toBe(true);
      expect(res.next_cursor).toBeNull();
    });

    it('paginates with limit and cursor across several pages; next_cursor null on the last', async () => {
      const first = await page(`?owner=${carol.id}&limit=2`);
      expect(first.items.map((i) => i.name)).toEqual(names.slice(0, 2));
      expect(first.next_cursor).toEqual(expect.any(String));
      const second = await page(`?owner=${carol.id}&limit=2&cursor=${encodeURIComponent(first.next_cursor!)}`);
      expect(second.items.map((i) => i.name)).toEqual(names.slice(2, 4));
      expect(second.next_cursor).toEqual(expect.any(String));
      const last = await page(`?owner=${carol.id}&limit=2&cursor=${encodeURIComponent(second.next_cursor!)}`);
      expect(last.items.map((i) => i.name)).toEqual(names.slice(4));
      expect(last.next_cursor).toBeNull();
    });

    it('walking the whole list visits every item once, in name order', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const p: PageJson<ItemJson> = await page(`?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, bob.auth);
        seen.push(...p.items.map((i) => i.name));
        cursor = p.next_cursor;
      } while (cursor !== null && ++pages < 100);
      expect(cursor).toBeNull();
      const all = await t.services.items.list({ limit: 100_000 });
      expect(seen).toEqual(all.items.map((i) => i.name));
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('an owner with no items gives an empty page', async () => {
      expect(await page('?owner=00000000-0000-7000-8000-000000000000')).toEqual({ items: [], next_cursor: null });
    });
  });

  describe('GET /items/:name', () => {
    it('200 for any signed-in user', async () => {
      const name = await make(alice.auth, { price: 7.5, description: 'd' });
      const res = await get(bob.auth, name);
      expect(res.statusCode).toBe(200);
      expect(res.json<ItemJson>()).toMatchObject({ name, price: 7.5, description: 'd', owner_id: alice.id });
    });

    it('404 ERR_ITEM_NOT_FOUND for an unknown name', async () => {
      expectProblem(await get(alice.auth, itemName('missing')), 404, 'ERR_ITEM_NOT_FOUND');
    });
  });

  describe('PUT /items/:name', () => {
    it('201 when new, for any signed-in user, owned by the caller', async () => {
      const name = itemName('put');
      const res = await put(bob.auth, name, { price: 4.25, description: 'new' });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json<ItemJson>()).toMatchObject({ name, price: 4.25, description: 'new', owner_id: bob.id });
    });

    it('200 when the owner replaces it; omitted description becomes null', async () => {
      const name = await make(alice.auth, { price: 1, description: 'old' });
      const res = await put(alice.auth, name, { price: 2 });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<ItemJson>()).toMatchObject({ name, price: 2, description: null, owner_id: alice.id });
      expect((await get(alice.auth, name)).json<ItemJson>()).toMatchObject({ price: 2, description: null });
    });

    it('AC-02: another user gets 403 and the item is unchanged', async () => {
      const name = await make(alice.auth, { price: 1, description: 'mine' });
      const before = await stored(name);
      t.clock.advance(1000);
      expectProblem(await put(bob.auth, name, { price: 0, description: 'stolen' }), 403);
      expect(await stored(name)).toEqual(before);
    });

    it("an admin may replace anyone's item; the owner stays", async () => {
      const name = await make(alice.auth, { price: 1 });
      const res = await put(admin.auth, name, { price: 3, description: 'by admin' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<ItemJson>()).toMatchObject({ price: 3, description: 'by admin', owner_id: alice.id });
    });

    it('AC-04: the body cannot carry name or owner', async () => {
      const name = await make(alice.auth, { price: 1 });
      const before = await stored(name);
      expectProblem(await put(alice.auth, name, { price: 1, owner_id: bob.id }), 400);
      expectProblem(await put(alice.auth, name, { price: 1, name: 'renamed' }), 400);
      expect(await stored(name)).toEqual(before);
    });
  });

  describe('PATCH /items/:name', () => {
    it('the owner may change price and description', async () => {
      const name = await make(alice.auth, { price: 1, description: 'a' });
      const res = await patch(alice.auth, name, { description: 'b' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<ItemJson>()).toMatchObject({ name, price: 1, description: 'b', owner_id: alice.id });
    });

    it('the owner may rename; the old name is then 404', async () => {
      const name = await make(alice.auth);
      const renamed = itemName('renamed');
      const res = await patch(alice.auth, name, { name: renamed });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<ItemJson>().name).toBe(renamed);
      expectProblem(await get(alice.auth, name), 404);
      expect((await get(alice.auth, renamed)).statusCode).toBe(200);
    });

    it('renaming onto an existing name → 409, nothing changes', async () => {
      const a = await make(alice.auth);
      const b = await make(alice.auth);
      const before = [await stored(a), await stored(b)];
      expectProblem(await patch(alice.auth, a, { name: b }), 409, 'ERR_ITEM_CONFLICT');
      expect([await stored(a), await stored(b)]).toEqual(before);
    });

    it('AC-02: another user gets 403 and the item is unchanged', async () => {
      const name = await make(alice.auth, { price: 5, description: 'keep' });
      const before = await stored(name);
      t.clock.advance(1000);
      for (const body of [{ price: 0 }, { description: 'pwned' }, { name: itemName('hijack') }]) {
        expectProblem(await patch(bob.auth, name, body), 403);
      }
      expect(await stored(name)).toEqual(before);
    });

    it("an admin may change anyone's item", async () => {
      const name = await make(alice.auth, { price: 5 });
      const res = await patch(admin.auth, name, { price: 6 });
      expect(res.statusCode).toBe(200);
      expect(res.json<ItemJson>()).toMatchObject({ price: 6, owner_id: alice.id });
    });

    it('an empty patch → 400', async () => {
      const name = await make(alice.auth);
      expectProblem(await patch(alice.auth, name, {}), 400);
    });

    it('404 for an unknown item', async () => {
      expectProblem(await patch(alice.auth, itemName('missing'), { price: 1 }), 404, 'ERR_ITEM_NOT_FOUND');
    });
  });

  describe('DELETE /items/:name', () => {
    it('the owner may delete: 204, then 404 for GET and for a second DELETE', async () => {
      const name = await make(alice.auth);
      const res = await del(alice.auth, name);
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expectProblem(await get(alice.auth, name), 404, 'ERR_ITEM_NOT_FOUND');
      expectProblem(await del(alice.auth, name), 404, 'ERR_ITEM_NOT_FOUND');
    });

    it('AC-02: another user gets 403 and the item is still there', async () => {
      const name = await make(alice.auth);
      const before = await stored(name);
      expectProblem(await del(bob.auth, name), 403);
      expect(await stored(name)).toEqual(before);
    });

    it("an admin may delete anyone's item", async () => {
      const name = await make(alice.auth);
      expect((await del(admin.auth, name)).statusCode).toBe(204);
      expectProblem(await get(alice.auth, name), 404);
    });
  });

  describe('AC-01: every items route needs a token', () => {
    const routes: [string, string, Record<string, unknown> | undefined][] = [
      ['GET', '/items', undefined],
      ['POST', '/items', { name: 'no-token', price: 1 }],
      ['GET', '/items/anything', undefined],
      ['PUT', '/items/anything', { price: 1 }],
      ['PATCH', '/items/anything', { price: 1 }],
      ['DELETE', '/items/anything', undefined],
    ];

    it.each(routes)('%s %s without a token → 401 with WWW-Authenticate: Bearer', async (method, url, payload) => {
      const res = await t.app.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) });
      expectProblem(res, 401, 'ERR_AUTH_REQUIRED');
      expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
    });

    it.each(routes)('%s %s with a garbage token → 401 with error="invalid_token"', async (method, url, payload) => {
      const res = await t.app.inject({ method: method as 'GET', url, headers: { authorization: 'Bearer not.a.jwt' }, ...(payload ? { payload } : {}) });
      expectProblem(res, 401);
      expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer .*error="invalid_token"/);
    });

    it('nothing was created by the refused requests', async () => {
      expect(await stored('no-token')).toBeNull();
      expect(await stored('anything')).toBeNull();
    });
  });
});
