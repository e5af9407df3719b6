import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../src/core/model.js';
import { RATE_RULES } from '../../src/http/plugins/rate-limit.js';
import { PASSWORD, allUsers, buildTestApp, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';
import { lastMail, tokenIn } from '../helpers/mail.js';

interface UserJson {
  id: string;
  username: string;
  email?: string;
  name: string | null;
  role: 'user' | 'admin';
  disabled?: boolean;
  created_at: string;
  updated_at: string;
}
interface PageJson<T> {
  items: T[];
  next_cursor: string | null;
}

let seq = 0;
/** A fresh, valid username; the tag keeps failures readable. */
const uname = (tag = 'u') => `${tag}${++seq}_${Math.random().toString(36).slice(2, 8)}`;

function register(t: TestApp, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url: '/auth/register', payload: body });
}

function login(t: TestApp, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url: '/auth/login', payload: body });
}

function me(t: TestApp, auth: { authorization: string }): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'GET', url: '/auth/me', headers: auth });
}

async function storedUser(t: TestApp, id: string): Promise<User | null> {
  return t.storage.users.findById(id);
}

function expectProblem(res: LightMyRequestResponse, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status);
  const problem = problemOf(res);
  expect(problem.status).toBe(status);
  if (code) expect(problem.code).toBe(code);
  return problem;
}

/** Fullwidth form of printable ASCII (ａ = U+FF41): NFKC maps it back (ID-01). */
const fullwidth = (s: string) => [...s].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');

describe('GET /users', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  const prefix = 'pg_';
  const paged = ['pg_a', 'pg_b', 'pg_c', 'pg_d', 'pg_e'];

  beforeAll(async () => {
    t = await buildTestApp();
    alice = await signUp(t, { username: 'alice' });
    bob = await signUp(t, { username: 'bob' });
    admin = await signUp(t, { username: 'root_admin', admin: true });
    for (const username of paged) {
      expect((await register(t, { username, email: `${username}@example.com`, password: PASSWORD })).statusCode).toBe(201);
    }
  });
  afterAll(() => t.close());

  async function listPage(query: string, auth = alice.auth): Promise<PageJson<UserJson>> {
    const res = await t.app.inject({ method: 'GET', url: `/users${query}`, headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<PageJson<UserJson>>();
  }

  it('pages through every user with limit and cursor, ordered by username, without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: PageJson<UserJson> = await listPage(`?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((u) => u.username));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 20);
    expect(cursor).toBeNull();
    expect(pages).toBeGreaterThan(1);
    const expected = (await allUsers(t)).map((u) => u.username);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort());
  });

  it('`?q=` is a username prefix search and paginates: next_cursor is null on the last page', async () => {
    const first = await listPage(`?q=${prefix}&limit=2`);
    expect(first.items.map((u) => u.username)).toEqual(['pg_a', 'pg_b']);
    expect(first.next_cursor).toEqual(expect.any(String));

    const second = await listPage(`?q=${prefix}&limit=2&cursor=${encodeURIComponent(first.next_cursor!)}`);
    expect(second.items.map((u) => u.username)).toEqual(['pg_c', 'pg_d']);
    expect(second.next_cursor).toEqual(expect.any(String));

    const last = await listPage(`?q=${prefix}&limit=2&cursor=${encodeURIComponent(second.next_cursor!)}`);
    expect(last.items.map((u) => u.username)).toEqual(['pg_e']);
    expect(last.next_cursor).toBeNull();
  });

  it('a page that ends exactly at the last row has next_cursor null', async () => {
    const page = await listPage(`?q=${prefix}&limit=5`);
    expect(page.items).toHaveLength(5);
    expect(page.next_cursor).toBeNull();
  });

  it('ID-01: `?q=` is normalised like usernames (case and fullwidth)', async () => {
    expect((await listPage('?q=PG_')).items.map((u) => u.username)).toEqual(paged);
    expect((await listPage(`?q=${encodeURIComponent(fullwidth('pg_'))}`)).items.map((u) => u.username)).toEqual(paged);
    expect((await listPage('?q=zzz_nobody')).items).toEqual([]);
  });

  it('defaults to 20 per page', async () => {
    for (let i = 0; i < 20; i++) await register(t, { username: `bulk_${i}`, email: `bulk_${i}@example.com`, password: PASSWORD });
    const page = await listPage('');
    expect(page.items).toHaveLength(20);
    expect(page.next_cursor).toEqual(expect.any(String));
  });

  it('users directory: a non-admin sees only id, username and name of everyone (themself included); never a role, email or password hash', async () => {
    const page = await listPage('?limit=100');
    expect(page.items.find((u) => u.id === alice.id)).toBeDefined();
    expect(page.items.find((u) => u.id === bob.id)).toBeDefined();
    expect(page.items.find((u) => u.id === admin.id)).toBeDefined();
    for (const u of page.items) {
      expect(Object.keys(u).sort()).toEqual(['id', 'name', 'username']);
      expect(JSON.stringify(u)).not.toMatch(/password|argon2|@/i);
    }
  });

  it('shows every email to an admin', async () => {
    const page = await listPage('?limit=100', admin.auth);
    expect(page.items.length).toBeGreaterThan(3);
    for (const u of page.items) expect(u.email).toEqual(expect.stringContaining('@'));
  });

  it('AC-01: needs a token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/users' });
    expectProblem(res, 401);
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
  });
});

describe('GET /users/:id', () => {
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

  it('users directory: another user gets only id, username and name (no role, no email)', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/users/${admin.id}`, headers: alice.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: admin.id, username: admin.username, name: null });
  });

  it('the user themself and admins get the full user', async () => {
    const self = await t.app.inject({ method: 'GET', url: `/users/${alice.id}`, headers: alice.auth });
    expect(self.json<UserJson>()).toMatchObject({ id: alice.id, role: 'user', email: alice.email, created_at: expect.any(String) });
    const byAdmin = await t.app.inject({ method: 'GET', url: `/users/${bob.id}`, headers: admin.auth });
    expect(byAdmin.json<UserJson>()).toMatchObject({ id: bob.id, role: 'user', email: bob.email });
  });

  it('shows email to the user themself and to an admin', async () => {
    const self = await t.app.inject({ method: 'GET', url: `/users/${alice.id}`, headers: alice.auth });
    expect(self.json<UserJson>().email).toBe(alice.email);
    const byAdmin = await t.app.inject({ method: 'GET', url: `/users/${alice.id}`, headers: admin.auth });
    expect(byAdmin.json<UserJson>().email).toBe(alice.email);
  });

  it('404 ERR_USER_NOT_FOUND for an unknown id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/users/00000000-0000-7000-8000-000000000000', headers: alice.auth });
    expectProblem(res, 404, 'ERR_USER_NOT_FOUND');
  });
});

describe('POST /users (admin)', () => {
  let t: TestApp;
  let user: TestUser;
  let admin: TestUser;
  beforeAll(async () => {
    t = await buildTestApp();
    user = await signUp(t);
    admin = await signUp(t, { admin: true });
    // The account every ID-01 variant below collides with.
    expect(
      (await t.app.inject({ method: 'POST', url: '/users', headers: admin.auth, payload: { username: 'alice', email: 'alice@example.com', password: PASSWORD } })).statusCode,
    ).toBe(201);
    expect(
      (await t.app.inject({ method: 'POST', url: '/users', headers: admin.auth, payload: { username: 'kate', email: 'kate@example.com', password: PASSWORD } })).statusCode,
    ).toBe(201);
  });
  afterAll(() => t.close());

  const create = (auth: { authorization: string }, body: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/users', headers: auth, payload: body });

  it('AC-03: a normal user gets 403 and no user is created', async () => {
    const username = uname('nope');
    const res = await create(user.auth, { username, email: `${username}@example.com`, password: PASSWORD });
    expectProblem(res, 403);
    expect(await t.services.users.find(username)).toBeNull();
  });

  it('an admin creates a user: 201, role user by default, location header', async () => {
    const username = uname('made');
    const res = await create(admin.auth, { username, email: `${username}@example.com`, password: PASSWORD, name: 'Made By Admin' });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<UserJson>();
    expect(body).toMatchObject({ username, email: `${username}@example.com`, name: 'Made By Admin', role: 'user' });
    expect(res.headers.location).toBe(`/users/${body.id}`);
    expect((await login(t, { login: username, password: PASSWORD })).statusCode).toBe(200);
  });

  it('an admin may set role: the new admin has admin rights', async () => {
    const username = uname('boss');
    const res = await create(admin.auth, { username, email: `${username}@example.com`, password: PASSWORD, role: 'admin' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<UserJson>().role).toBe('admin');
    const token = (await login(t, { login: username, password: PASSWORD })).json<{ access_token: string }>().access_token;
    const other = uname('byboss');
    expect((await create({ authorization: `Bearer ${token}` }, { username: other, email: `${other}@example.com`, password: PASSWORD })).statusCode).toBe(201);
  });

  it('AC-04: an admin still cannot set id, disabled or password_hash', async () => {
    for (const extra of [{ id: 'chosen-id' }, { disabled: true }, { password_hash: '$argon2id$v=19$m=1,t=1,p=1$x$y' }, { isAdmin: true }]) {
      const username = uname('mass');
      const res = await create(admin.auth, { username, email: `${username}@example.com`, password: PASSWORD, ...extra });
      const problem = expectProblem(res, 400);
      expect(problem.errors?.map((e) => e.field)).toContain(Object.keys(extra)[0]);
      expect(await t.services.users.find(username)).toBeNull();
    }
  });

  describe('ID-01: 409 ERR_USER_CONFLICT for a duplicate, however it is spelled', () => {
    const variants: [string, { username: string; email: string }][] = [
      ['same username', { username: 'alice', email: 'alice2@example.com' }],
      ['username in upper case', { username: 'ALICE', email: 'alice3@example.com' }],
      ['fullwidth username ａｌｉｃｅ', { username: fullwidth('alice'), email: 'alice4@example.com' }],
      ['username with surrounding spaces', { username: ' alice ', email: 'alice5@example.com' }],
      ['Kelvin sign \\u212A for K', { username: '\u212Aate', email: 'kate2@example.com' }],
      ['email Alice@EXAMPLE.com', { username: 'alice_other', email: 'Alice@EXAMPLE.com' }],
      ['fullwidth email', { username: 'alice_other2', email: `${fullwidth('alice')}@example.com` }],
      ['email with Kelvin sign', { username: 'kate_other', email: '\u212Aate@example.com' }],
    ];
    it.each(variants)('%s', async (_label, identity) => {
      const before = (await allUsers(t)).length;
      const res = await create(admin.auth, { ...identity, password: PASSWORD });
      expectProblem(res, 409, 'ERR_USER_CONFLICT');
      expect((await allUsers(t)).length).toBe(before);
    });

    it.each(variants)('via /auth/register too: %s', async (_label, identity) => {
      const before = (await allUsers(t)).length;
      expectProblem(await register(t, { ...identity, password: PASSWORD }), 409, 'ERR_USER_CONFLICT');
      expect((await allUsers(t)).length).toBe(before);
    });
  });
});

describe('PATCH /users/:id', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await buildTestApp();
    admin = await signUp(t, { admin: true });
    // A second admin, so demotions below never hit the last-admin rule.
    await signUp(t, { admin: true });
  });
  afterAll(() => t.close());

  const patch = (auth: { authorization: string }, id: string, body: Record<string, unknown>) =>
    t.app.inject({ method: 'PATCH', url: `/users/${id}`, headers: auth, payload: body });

  // Contract change (issue 13): an own new address is confirmed by a link first (202 pending_email).
  it('a user may change their own name and email (the email once confirmed)', async () => {
    const alice = await signUp(t);
    const res = await patch(alice.auth, alice.id, { name: 'Alice A.', email: `${alice.username}+new@example.com` });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ pending_email: `${alice.username}+new@example.com` });
    const token = tokenIn((await lastMail(t, `${alice.username}+new@example.com`, 'change_email')).text, 'change');
    expect((await t.app.inject({ method: 'POST', url: '/auth/email/change/confirm', payload: { token } })).statusCode).toBe(200);
    const me = await t.app.inject({ method: 'GET', url: `/users/${alice.id}`, headers: alice.auth });
    expect(me.json<UserJson>()).toMatchObject({ id: alice.id, name: 'Alice A.', email: `${alice.username}+new@example.com`, role: 'user' });
  });

  it('AC-02: another user gets 403 and the record is unchanged', async () => {
    const alice = await signUp(t);
    const mallory = await signUp(t);
    const before = await storedUser(t, alice.id);
    for (const body of [{ name: 'pwned' }, { email: 'mallory@evil.example' }, { username: uname('stolen') }]) {
      expectProblem(await patch(mallory.auth, alice.id, body), 403);
    }
    expect(await storedUser(t, alice.id)).toEqual(before);
  });

  it('AC-04: a non-admin cannot set role or disabled, even on themself', async () => {
    const alice = await signUp(t);
    const before = await storedUser(t, alice.id);
    expectProblem(await patch(alice.auth, alice.id, { role: 'admin' }), 403);
    expectProblem(await patch(alice.auth, alice.id, { disabled: false }), 403);
    expectProblem(await patch(alice.auth, alice.id, { name: 'sneaky', role: 'admin' }), 403);
    expect(await storedUser(t, alice.id)).toEqual(before);
    // And the role really did not change: admin routes still refuse.
    expectProblem(await t.app.inject({ method: 'POST', url: '/users', headers: alice.auth, payload: { username: uname(), email: 'x@example.com', password: PASSWORD } }), 403);
  });

  it('AC-04: unknown fields (isAdmin, id, password_hash) → 400 with a field error', async () => {
    const alice = await signUp(t);
    const before = await storedUser(t, alice.id);
    for (const extra of [{ isAdmin: true }, { id: 'other' }, { password_hash: 'x' }, { owner: 'x' }]) {
      const problem = expectProblem(await patch(admin.auth, alice.id, extra), 400);
      expect(problem.errors?.map((e) => e.field)).toContain(Object.keys(extra)[0]);
    }
    expect(await storedUser(t, alice.id)).toEqual(before);
  });

  it("an admin can change another user's role and name", async () => {
    const alice = await signUp(t);
    const res = await patch(admin.auth, alice.id, { role: 'admin', name: 'Promoted' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<UserJson>()).toMatchObject({ role: 'admin', name: 'Promoted' });
    // The promotion counts at once for the existing token too.
    const made = await t.app.inject({ method: 'POST', url: '/users', headers: alice.auth, payload: { username: uname(), email: `${uname()}@example.com`, password: PASSWORD } });
    expect(made.statusCode, made.body).toBe(201);
  });

  it('CLM-05: an admin disables a user: their existing token → 401 at once, and they cannot log in', async () => {
    const alice = await signUp(t);
    expect((await me(t, alice.auth)).statusCode).toBe(200);
    const res = await patch(admin.auth, alice.id, { disabled: true });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<UserJson>().disabled).toBe(true);
    const after = await me(t, alice.auth);
    expectProblem(after, 401);
    expect(String(after.headers['www-authenticate'])).toMatch(/^Bearer/);
    expectProblem(await login(t, { login: alice.username, password: PASSWORD }), 401, 'ERR_AUTH_INVALID_CREDENTIALS');
  });

  it('an admin can enable a disabled user again', async () => {
    const alice = await signUp(t);
    expect((await patch(admin.auth, alice.id, { disabled: true })).statusCode).toBe(200);
    expect((await patch(admin.auth, alice.id, { disabled: false })).statusCode).toBe(200);
    expect((await login(t, { login: alice.username, password: PASSWORD })).statusCode).toBe(200);
  });

  it('CLM-07: a demoted admin loses admin rights on the very next request', async () => {
    const other = await signUp(t, { admin: true });
    const body = () => {
      const username = uname('clm7');
      return { username, email: `${username}@example.com`, password: PASSWORD };
    };
    expect((await t.app.inject({ method: 'POST', url: '/users', headers: other.auth, payload: body() })).statusCode).toBe(201);
    expect((await patch(admin.auth, other.id, { role: 'user' })).statusCode).toBe(200);
    // Same access token as before: it still says role=admin, storage says user.
    expectProblem(await t.app.inject({ method: 'POST', url: '/users', headers: other.auth, payload: body() }), 403);
    const victim = await signUp(t);
    expectProblem(await patch(other.auth, victim.id, { name: 'x' }), 403);
    expectProblem(await patch(other.auth, other.id, { role: 'admin' }), 403);
    const seen = await t.app.inject({ method: 'GET', url: `/users/${victim.id}`, headers: other.auth });
    expect(seen.json()).not.toHaveProperty('email');
  });

  it('409 ERR_USER_CONFLICT when changing to a taken username or email (ID-01 variants)', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    const before = await storedUser(t, bob.id);
    expectProblem(await patch(bob.auth, bob.id, { username: alice.username.toUpperCase() }), 409, 'ERR_USER_CONFLICT');
    expectProblem(await patch(bob.auth, bob.id, { email: alice.email.toUpperCase() }), 409, 'ERR_USER_CONFLICT');
    expectProblem(await patch(bob.auth, bob.id, { username: fullwidth(alice.username) }), 409, 'ERR_USER_CONFLICT');
    expect(await storedUser(t, bob.id)).toEqual(before);
  });

  it('404 for an unknown user', async () => {
    expectProblem(await patch(admin.auth, '00000000-0000-7000-8000-000000000000', { name: 'x' }), 404, 'ERR_USER_NOT_FOUND');
  });
});

describe('the last admin (ERR_USER_LAST_ADMIN)', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await buildTestApp();
    admin = await signUp(t, { admin: true });
  });
  afterAll(() => t.close());

  it('cannot be demoted, disabled or deleted (409), and stays an admin', async () => {
    const before = await storedUser(t, admin.id);
    expectProblem(await t.app.inject({ method: 'PATCH', url: `/users/${admin.id}`, headers: admin.auth, payload: { role: 'user' } }), 409, 'ERR_USER_LAST_ADMIN');
    expectProblem(await t.app.inject({ method: 'PATCH', url: `/users/${admin.id}`, headers: admin.auth, payload: { disabled: true } }), 409, 'ERR_USER_LAST_ADMIN');
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/users/${admin.id}`, headers: admin.auth }), 409, 'ERR_USER_LAST_ADMIN');
    expect(await storedUser(t, admin.id)).toEqual(before);
    expect((await me(t, admin.auth)).json<UserJson>().role).toBe('admin');
  });

  it('can be demoted once a second admin exists', async () => {
    const second = await signUp(t, { admin: true });
    const res = await t.app.inject({ method: 'PATCH', url: `/users/${admin.id}`, headers: second.auth, payload: { role: 'user' } });
    expect(res.statusCode, res.body).toBe(200);
    // Now `second` is the last one.
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/users/${second.id}`, headers: second.auth }), 409, 'ERR_USER_LAST_ADMIN');
  });

  it('a disabled admin is not "the last admin": it can be demoted and deleted while an active admin remains', async () => {
    const t2 = await buildTestApp();
    try {
      const active = await signUp(t2, { admin: true });
      const dormant = await signUp(t2, { admin: true });
      expect((await t2.app.inject({ method: 'PATCH', url: `/users/${dormant.id}`, headers: active.auth, payload: { disabled: true } })).statusCode).toBe(200);
      // Neither change touches the one active admin, so the rule has nothing to protect.
      const demoted = await t2.app.inject({ method: 'PATCH', url: `/users/${dormant.id}`, headers: active.auth, payload: { role: 'user' } });
      expect(demoted.statusCode, demoted.body).toBe(200);
      const other = await signUp(t2, { admin: true });
      expect((await t2.app.inject({ method: 'PATCH', url: `/users/${other.id}`, headers: active.auth, payload: { disabled: true } })).statusCode).toBe(200);
      const deleted = await t2.app.inject({ method: 'DELETE', url: `/users/${other.id}`, headers: active.auth });
      expect(deleted.statusCode, deleted.body).toBe(204);
    } finally {
      await t2.close();
    }
  });
});

describe('DELETE /users/:id', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await buildTestApp();
    admin = await signUp(t, { admin: true });
  });
  afterAll(() => t.close());

  const del = (auth: { authorization: string }, id: string) => t.app.inject({ method: 'DELETE', url: `/users/${id}`, headers: auth });

  it('CLM-05: a user may delete themself: 204, their token → 401, and they cannot log in', async () => {
    const alice = await signUp(t);
    const res = await del(alice.auth, alice.id);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    const after = await me(t, alice.auth);
    expectProblem(after, 401);
    expect(String(after.headers['www-authenticate'])).toMatch(/^Bearer/);
    expectProblem(await login(t, { login: alice.username, password: PASSWORD }), 401, 'ERR_AUTH_INVALID_CREDENTIALS');
    expect(await storedUser(t, alice.id)).toBeNull();
  });

  it('AC-02: another user gets 403 and the user is still there', async () => {
    const alice = await signUp(t);
    const mallory = await signUp(t);
    const before = await storedUser(t, alice.id);
    expectProblem(await del(mallory.auth, alice.id), 403);
    expect(await storedUser(t, alice.id)).toEqual(before);
    expect((await me(t, alice.auth)).statusCode).toBe(200);
  });

  it('an admin may delete another user; their token stops working', async () => {
    const alice = await signUp(t);
    expect((await del(admin.auth, alice.id)).statusCode).toBe(204);
    expectProblem(await t.app.inject({ method: 'GET', url: `/users/${alice.id}`, headers: admin.auth }), 404, 'ERR_USER_NOT_FOUND');
    expectProblem(await me(t, alice.auth), 401);
  });

  it('404 for an unknown user', async () => {
    expectProblem(await del(admin.auth, '00000000-0000-7000-8000-000000000000'), 404, 'ERR_USER_NOT_FOUND');
  });
});

describe('PATCH /auth/me', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  const patchMe = (auth: { authorization: string }, body: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: '/auth/me', headers: auth, payload: body });

  // Contract change (issue 13): the new address applies once the link sent to it is followed.
  it('changes name and email; the email is normalised (ID-01) and usable for login', async () => {
    const alice = await signUp(t);
    const res = await patchMe(alice.auth, { name: 'Alice Liddell', email: `${alice.username}.NEW@Example.COM` });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ pending_email: `${alice.username}.new@example.com` });
    const token = tokenIn((await lastMail(t, `${alice.username}.new@example.com`, 'change_email')).text, 'change');
    const confirmed = await t.app.inject({ method: 'POST', url: '/auth/email/change/confirm', payload: { token } });
    expect(confirmed.json<UserJson>()).toMatchObject({ id: alice.id, name: 'Alice Liddell', email: `${alice.username}.new@example.com` });
    expect((await me(t, alice.auth)).json<UserJson>().email).toBe(`${alice.username}.new@example.com`);
    expect((await login(t, { email: `${alice.username}.new@example.com`, password: PASSWORD })).statusCode).toBe(200);
  });

  it('name may be cleared with null', async () => {
    const alice = await signUp(t);
    await patchMe(alice.auth, { name: 'Someone' });
    const res = await patchMe(alice.auth, { name: null });
    expect(res.statusCode).toBe(200);
    expect(res.json<UserJson>().name).toBeNull();
  });

  it.each([
    ['role', 'admin'],
    ['disabled', false],
    ['id', 'x'],
    ['password_hash', 'x'],
    ['isAdmin', true],
  ])('AC-04: `%s` → 400 with a field error, user unchanged', async (field, value) => {
    const alice = await signUp(t);
    const before = await storedUser(t, alice.id);
    const problem = expectProblem(await patchMe(alice.auth, { name: 'ok', [field]: value }), 400, 'ERR_VALIDATION');
    expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(await storedUser(t, alice.id)).toEqual(before);
  });

  it('409 when the email belongs to someone else (any case)', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    expectProblem(await patchMe(bob.auth, { email: alice.email.toUpperCase() }), 409, 'ERR_USER_CONFLICT');
  });
});

describe('registration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  const fresh = () => {
    const username = uname('reg');
    return { username, email: `${username}@example.com`, password: PASSWORD };
  };

  it('201 with the user, including email, and no password hash', async () => {
    const body = fresh();
    const res = await register(t, { ...body, name: 'Reg' });
    expect(res.statusCode, res.body).toBe(201);
    const user = res.json<UserJson>();
    expect(user).toMatchObject({ username: body.username, email: body.email, name: 'Reg', role: 'user' });
    expect(res.body).not.toMatch(/password|argon2/i);
  });

  describe('AC-04: mass assignment is refused with 400 and no user is created', () => {
    it.each([
      ['role', 'admin'],
      ['id', '00000000-0000-7000-8000-000000000001'],
      ['isAdmin', true],
      ['password_hash', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'],
      ['disabled', false],
      ['owner', 'x'],
    ])('%s', async (field, value) => {
      const body = fresh();
      const problem = expectProblem(await register(t, { ...body, [field]: value }), 400, 'ERR_VALIDATION');
      expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await t.services.users.find(body.username)).toBeNull();
    });

    it('form-encoded role=admin is refused too', async () => {
      const body = fresh();
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/register',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...body, role: 'admin' }).toString(),
      });
      expectProblem(res, 400);
      expect(await t.services.users.find(body.username)).toBeNull();
    });
  });

  it('accepts application/x-www-form-urlencoded → 201, and the account can log in by form', async () => {
    const body = fresh();
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(body).toString(),
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<UserJson>()).toMatchObject({ username: body.username, role: 'user' });
    const loggedIn = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: body.username, password: body.password }).toString(),
    });
    expect(loggedIn.statusCode, loggedIn.body).toBe(200);
  });

  describe('PWD-01: 8..1024 bytes of UTF-8, any characters', () => {
    const cases: [string, string, number][] = [
      ['7 ASCII bytes', 'k9#Lm2!', 400],
      ['8 ASCII bytes', 'k9#Lm2!q', 201],
      ['7 bytes in 4 characters (é is 2 bytes)', 'ééé1', 400],
      ['8 bytes in 2 characters (emoji are 4 bytes)', '🦊🌵', 201],
      ['1024 ASCII bytes', 'x'.repeat(1023) + 'y', 201],
      ['1025 ASCII bytes', 'x'.repeat(1024) + 'y', 400],
      ['1024 bytes in 512 characters', 'é'.repeat(512), 201],
      ['1025 bytes in 513 characters', 'é'.repeat(512) + 'y', 400],
    ];
    it.each(cases)('%s → %i', async (_label, password, status) => {
      const body = { ...fresh(), password };
      const res = await register(t, body);
      expect(res.statusCode, res.body).toBe(status);
      if (status === 400) {
        expect(problemOf(res).errors?.map((e) => e.field)).toContain('password');
        expect(await t.services.users.find(body.username)).toBeNull();
      } else {
        expect((await login(t, { login: body.username, password })).statusCode).toBe(200);
      }
    });
  });

  describe('PWD-02: the password is used exactly as given', () => {
    const password = '  🔐 Open Sesame, mon ami 🗝️  ';
    let username: string;
    beforeAll(async () => {
      const body = { ...fresh(), password };
      username = body.username;
      expect((await register(t, body)).statusCode).toBe(201);
    });

    it('logs in with the exact password (spaces and emoji)', async () => {
      expect((await login(t, { login: username, password })).statusCode).toBe(200);
    });

    it.each([
      ['trimmed', password.trim()],
      ['leading spaces dropped', password.trimStart()],
      ['trailing spaces dropped', password.trimEnd()],
      ['upper-cased', password.toUpperCase()],
      ['lower-cased', password.toLowerCase()],
      ['one byte short', password.slice(0, -1)],
    ])('refuses the password %s', async (_label, variant) => {
      expect(variant).not.toBe(password);
      expectProblem(await login(t, { login: username, password: variant }), 401, 'ERR_AUTH_INVALID_CREDENTIALS');
    });

    it("a long password is not truncated (beyond bcrypt's 72 bytes)", async () => {
      const long = 'a'.repeat(100) + 'Z';
      const body = { ...fresh(), password: long };
      expect((await register(t, body)).statusCode).toBe(201);
      expect((await login(t, { login: body.username, password: long })).statusCode).toBe(200);
      expectProblem(await login(t, { login: body.username, password: 'a'.repeat(100) + 'Y' }), 401);
      expectProblem(await login(t, { login: body.username, password: 'a'.repeat(72) }), 401);
    });
  });
});

describe('login', () => {
  let t: TestApp;
  let alice: TestUser;
  let disabled: TestUser;
  beforeAll(async () => {
    t = await buildTestApp();
    alice = await signUp(t);
    disabled = await signUp(t);
    const admin = await signUp(t, { admin: true });
    expect((await t.app.inject({ method: 'PATCH', url: `/users/${disabled.id}`, headers: admin.auth, payload: { disabled: true } })).statusCode).toBe(200);
  });
  afterAll(() => t.close());

  it.each([
    ['login = username', () => ({ login: alice.username })],
    ['login = username in upper case', () => ({ login: alice.username.toUpperCase() })],
    ['login = email', () => ({ login: alice.email })],
    ['login = email in upper case', () => ({ login: alice.email.toUpperCase() })],
    ['username field', () => ({ username: alice.username.toUpperCase() })],
    ['email field', () => ({ email: alice.email.toUpperCase() })],
  ])('ID-01: by %s → 200 with a token response', async (_label, name) => {
    const res = await login(t, { ...name(), password: PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ token_type: 'Bearer', user: { id: alice.id } });
    expect(res.headers['cache-control']).toContain('no-store');
  });

  it('400 when more than one of login/username/email is sent', async () => {
    expectProblem(await login(t, { login: alice.username, email: alice.email, password: PASSWORD }), 400);
  });

  it('ENUM-01: wrong password, unknown user and disabled account give identical status and body', async () => {
    const wrong = await login(t, { login: alice.username, password: 'not the password at all' });
    const unknown = await login(t, { login: 'nobody_here_at_all', password: PASSWORD });
    const unknownEmail = await login(t, { login: 'nobody@example.com', password: PASSWORD });
    const off = await login(t, { login: disabled.username, password: PASSWORD });
    for (const res of [wrong, unknown, unknownEmail, off]) {
      expectProblem(res, 401, 'ERR_AUTH_INVALID_CREDENTIALS');
      expect(res.headers['content-type']).toBe(wrong.headers['content-type']);
      expect(res.body).toBe(wrong.body);
    }
  });
});

describe('users directory: budget per caller and USER_DIRECTORY', () => {
  const { max, windowMs } = RATE_RULES.directory;

  it(`users directory: a non-admin gets ${max} directory requests a window, counted by user id (RateLimit headers, then 429 problem+json with Retry-After)`, async () => {
    const t = await buildTestApp({ RATE_LIMIT: 'on' });
    try {
      const alice = await signUp(t);
      const bob = await signUp(t);
      const admin = await signUp(t, { admin: true });
      const get = (auth: { authorization: string }, url: string) => t.app.inject({ method: 'GET', url, headers: auth });
      const first = await get(alice.auth, '/users');
      expect(first.headers['ratelimit-limit']).toBe(String(max));
      expect(first.headers['ratelimit-remaining']).toBe(String(max - 1));
      // The list and lookups of others share the budget.
      for (let i = 1; i < max; i++) {
        const res = await get(alice.auth, i % 2 ? `/users/${bob.id}` : '/users?limit=1');
        if (res.statusCode !== 200) throw new Error(`request ${i}: ${res.statusCode} ${res.body}`);
      }
      const refused = await get(alice.auth, '/users');
      expect(refused.statusCode).toBe(429);
      expect(problemOf(refused).code).toBe('ERR_RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(windowMs / 1000);
      expect((await get(alice.auth, `/users/${bob.id}`)).statusCode).toBe(429);
      // Her own record and the rest of the API are not part of it.
      expect((await get(alice.auth, `/users/${alice.id}`)).statusCode).toBe(200);
      expect((await get(alice.auth, '/auth/me')).statusCode).toBe(200);
      // Counted by user, not by address: bob, from the same address, has his whole budget.
      const other = await get(bob.auth, '/users');
      expect(other.statusCode).toBe(200);
      expect(other.headers['ratelimit-remaining']).toBe(String(max - 1));
      // Admins are not budgeted.
      const byAdmin = await get(admin.auth, '/users');
      expect(byAdmin.statusCode).toBe(200);
      expect(byAdmin.headers['ratelimit-limit']).toBeUndefined();
      // The window passes: the budget is back.
      t.clock.advance(windowMs);
      const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: alice.username, password: PASSWORD } });
      expect((await get({ authorization: `Bearer ${login.json<{ access_token: string }>().access_token}` }, '/users')).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('USER_DIRECTORY=off: only admins list users (403 for others); lookups by id keep the directory view', async () => {
    const t = await buildTestApp({ USER_DIRECTORY: 'off' });
    try {
      const alice = await signUp(t);
      const bob = await signUp(t);
      const admin = await signUp(t, { admin: true });
      const refused = await t.app.inject({ method: 'GET', url: '/users', headers: alice.auth });
      expect(refused.statusCode).toBe(403);
      expect(problemOf(refused).code).toBe('ERR_FORBIDDEN');
      const listed = await t.app.inject({ method: 'GET', url: '/users', headers: admin.auth });
      expect(listed.statusCode).toBe(200);
      expect(listed.json<PageJson<UserJson>>().items.map((u) => u.role)).toContain('admin');
      const lookup = await t.app.inject({ method: 'GET', url: `/users/${bob.id}`, headers: alice.auth });
      expect(lookup.json()).toEqual({ id: bob.id, username: bob.username, name: null });
    } finally {
      await t.close();
    }
  });
});
