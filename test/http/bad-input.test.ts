import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Item, User } from '../../src/core/model.js';
import { PASSWORD, allItems, allUsers, buildTestApp, problemOf, signUp, type TestApp, type TestUser } from '../helpers/app.js';

/**
 * SECURITY.md "Bad inputs": every endpoint survives them with a 4xx problem+json carrying a
 * stable code, no internals in the body, and no new or changed rows.
 */

const JSON_CT = 'application/json';
const FORM_CT = 'application/x-www-form-urlencoded';
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

// What an error body must never show (IN-07): stack frames, source paths, SQL or library internals.
const LEAKS: [string, RegExp][] = [
  ['stack frame', /\bat .*\(?[^\s()]+:\d+:\d+\)?/],
  ['"at " line', /\n\s+at /],
  ['source path', /\/(work|src|dist|node_modules)\/|[\w-]+\.(ts|js|mjs|cjs):\d+/],
  ['SQLite', /sqlite/i],
  ['SQL text', /\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*\b(FROM|INTO|SET|WHERE)\b/],
  ['SQL constraint', /UNIQUE constraint|SQLITE_|constraint failed/i],
  ['JS error name', /\b(TypeError|ReferenceError|SyntaxError|RangeError)\b/],
  ['Fastify code', /FST_ERR/],
];

/** Asserts a clean 4xx: RFC 9457 body with a stable code and nothing internal. */
function expectCleanRejection(res: LightMyRequestResponse, status?: number | number[]) {
  expect(res.statusCode, res.body.slice(0, 500)).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, res.body.slice(0, 500)).toBeLessThan(500);
  if (status !== undefined) expect([status].flat(), res.body.slice(0, 500)).toContain(res.statusCode);
  const problem = problemOf(res);
  expect(problem.status).toBe(res.statusCode);
  expect(problem.code).toMatch(/^ERR_[A-Z0-9_]+$/);
  for (const [what, pattern] of LEAKS) expect(res.body, `leaks ${what}`).not.toMatch(pattern);
  if (res.statusCode === 401) expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
  return problem;
}

/** Every user and item, every column: equal before and after means nothing was created or changed. */
async function snapshot(t: TestApp): Promise<{ users: User[]; items: Item[] }> {
  return { users: await allUsers(t), items: await allItems(t) };
}

const stringify = (body: Record<string, unknown>) => Object.fromEntries(Object.entries(body).map(([k, v]) => [k, String(v)]));
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
/** `body` as JSON with `raw` spliced in as the value of `field`. */
const withRaw = (body: Record<string, unknown>, field: string, raw: string) => JSON.stringify({ ...body, [field]: '\u0001RAW\u0001' }).replace('"\\u0001RAW\\u0001"', raw);
/** Prepends raw JSON members to an object body. */
const prepend = (body: Record<string, unknown>, members: string) => JSON.stringify(body).replace(/^\{/, `{${members},`);

const EMAIL_300 = `${'a'.repeat(288)}@example.com`;
const WRONG_STRING_VALUES: unknown[] = [123, null, {}, [], true, ['a']];

let seq = 0;
const fresh = (tag: string) => `${tag}${++seq}_${Math.random().toString(36).slice(2, 7)}`;

/** One endpoint that takes a body, described well enough to build bad variants of a good request. */
interface BodyTarget {
  readonly label: string;
  readonly method: Method;
  url(): string;
  headers(): Record<string, string>;
  /** A request body the endpoint accepts. */
  valid(): Record<string, unknown>;
  readonly okStatus: number;
  /** Whether forms are accepted here (else a form is a 415). */
  readonly form: boolean;
  /** Field → values of the wrong type for it. */
  readonly wrongTypes: Record<string, unknown[]>;
  /** Fields a caller must not be able to set (AC-04 / mass assignment). */
  readonly extras: Record<string, unknown>;
  /** Text fields a NUL byte must be refused in, and with which status. */
  readonly nulFields: string[];
  readonly nulStatus?: number;
  /** The body with a 300-character email, if the endpoint takes one. */
  withEmail?(email: string): Record<string, unknown>;
  /** Whether the body carries a password. */
  readonly password?: boolean;
}

interface BodyCase {
  readonly label: string;
  /** Built at run time: the good body may depend on fixtures made in beforeAll. */
  readonly payload: () => string;
  readonly contentType: string;
  readonly status?: number | number[];
  readonly code?: string;
  /** A field the problem's `errors` must name. */
  readonly field?: string;
}

function bodyCases(target: BodyTarget): BodyCase[] {
  const v = () => target.valid();
  const json = (body: unknown) => JSON.stringify(body);
  const first = Object.keys(target.wrongTypes)[0]!;
  const cases: BodyCase[] = [
    { label: 'truncated JSON', payload: () => json(v()).slice(0, -4), contentType: JSON_CT, status: 400, code: 'ERR_BAD_REQUEST' },
    { label: 'JSON cut after the first brace', payload: () => '{', contentType: JSON_CT, status: 400 },
    { label: 'empty JSON body', payload: () => '', contentType: JSON_CT, status: 400 },
    { label: 'IN-03: text/plain → 415', payload: () => json(v()), contentType: 'text/plain', status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
    { label: 'IN-03: application/xml → 415', payload: () => '<user><role>admin</role></user>', contentType: 'application/xml', status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
    {
      label: 'IN-03: multipart/form-data (not parsed here) → 415',
      payload: () => '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n',
      contentType: 'multipart/form-data; boundary=x',
      status: 415,
    },
    { label: 'IN-04: body just over 64 KiB → 413', payload: () => json({ ...v(), pad: 'x'.repeat(64 * 1024) }), contentType: JSON_CT, status: 413, code: 'ERR_BODY_TOO_LARGE' },
    { label: 'IN-04: 10 MB body → 413', payload: () => json({ ...v(), pad: 'x'.repeat(10 * 1024 * 1024) }), contentType: JSON_CT, status: 413, code: 'ERR_BODY_TOO_LARGE' },
    { label: 'deeply nested arrays as the body', payload: () => nested(20_000), contentType: JSON_CT, status: 400 },
    { label: `deeply nested arrays as "${first}"`, payload: () => withRaw(v(), first, nested(20_000)), contentType: JSON_CT, status: 400 },
    { label: 'deeply nested objects as the body', payload: () => '{"a":'.repeat(5000) + '1' + '}'.repeat(5000), contentType: JSON_CT, status: 400 },
    { label: 'IN-05: __proto__ payload', payload: () => prepend(v(), '"__proto__":{"role":"admin","isAdmin":true,"owner_id":"x"}'), contentType: JSON_CT, status: 400 },
    {
      label: 'IN-05: constructor.prototype payload',
      payload: () => prepend(v(), '"constructor":{"prototype":{"role":"admin","isAdmin":true}}'),
      contentType: JSON_CT,
      status: 400,
    },
    { label: 'IN-05: __proto__ nested in a field', payload: () => withRaw(v(), first, '{"__proto__":{"role":"admin"}}'), contentType: JSON_CT, status: 400 },
  ];
  for (const raw of ['123', 'null', '[]', '"text"', 'true', '{}']) {
    cases.push({ label: `wrong body type ${raw}`, payload: () => raw, contentType: JSON_CT, status: 400, code: 'ERR_VALIDATION' });
  }
  cases.push({ label: 'wrong body type: the good body inside an array', payload: () => json([v()]), contentType: JSON_CT, status: 400, code: 'ERR_VALIDATION' });
  if (target.form) {
    const form = (extra: string) => `${new URLSearchParams(stringify(v())).toString()}&${extra}`;
    cases.push(
      { label: 'IN-05: form __proto__[role]=admin', payload: () => form('__proto__%5Brole%5D=admin'), contentType: FORM_CT, status: 400 },
      { label: 'IN-05: form __proto__=x', payload: () => form('__proto__=x'), contentType: FORM_CT, status: 400 },
      { label: 'AC-04: form role=admin', payload: () => form('role=admin'), contentType: FORM_CT, status: 400 },
      { label: 'form with a repeated field', payload: () => form(`${first}=again`), contentType: FORM_CT, status: 400 },
      { label: 'IN-04: form body over 64 KiB → 413', payload: () => form(`pad=${'x'.repeat(64 * 1024)}`), contentType: FORM_CT, status: 413 },
    );
  } else {
    cases.push({ label: 'IN-03: a form on a JSON-only route → 415', payload: () => new URLSearchParams(stringify(v())).toString(), contentType: FORM_CT, status: 415 });
  }
  for (const [field, value] of Object.entries(target.extras)) {
    cases.push({ label: `AC-04: extra field "${field}"`, payload: () => json({ ...v(), [field]: value }), contentType: JSON_CT, status: 400, code: 'ERR_VALIDATION', field });
  }
  for (const [field, values] of Object.entries(target.wrongTypes)) {
    for (const value of values) {
      cases.push({
        label: `IN-01: "${field}" = ${JSON.stringify(value)}`,
        payload: () => json({ ...v(), [field]: value }),
        contentType: JSON_CT,
        status: 400,
        code: 'ERR_VALIDATION',
        field,
      });
    }
  }
  const withEmail = target.withEmail;
  if (withEmail) {
    cases.push({ label: 'IN-01: a 300-character email', payload: () => json(withEmail(EMAIL_300)), contentType: JSON_CT, status: 400, field: 'email' });
  }
  for (const field of target.nulFields) {
    const payload = () => {
      const good = v();
      const base = typeof good[field] === 'string' ? (good[field] as string) : 'abcdef';
      return json({ ...good, [field]: `${base.slice(0, 2)}\u0000${base.slice(2)}` });
    };
    cases.push({ label: `NUL byte in "${field}"`, payload, contentType: JSON_CT, status: target.nulStatus ?? 400 });
  }
  if (target.password) {
    cases.push(
      { label: 'PWD-06: 1 MB password → 413', payload: () => json({ ...v(), password: 'p'.repeat(1024 * 1024) }), contentType: JSON_CT, status: 413 },
      { label: 'PWD-06: 60 KB password (under the body limit) → 400', payload: () => json({ ...v(), password: 'p'.repeat(60 * 1024) }), contentType: JSON_CT, status: 400 },
    );
  }
  return cases;
}

describe('bad inputs', () => {
  let t: TestApp;
  let user: TestUser; // the caller of the protected body routes
  let admin: TestUser;
  let victim: TestUser; // exists so login and conflicts have something to hit
  let itemName: string;

  beforeAll(async () => {
    t = await buildTestApp();
    user = await signUp(t);
    admin = await signUp(t, { admin: true });
    victim = await signUp(t);
    itemName = fresh('item-');
    const res = await t.app.inject({ method: 'POST', url: '/items', headers: user.auth, payload: { name: itemName, price: 5, description: 'original' } });
    expect(res.statusCode).toBe(201);
  });
  afterAll(() => t.close());

  /** Sends a request that must be refused, then checks the refusal and that no row moved. */
  async function expectRefused(options: InjectOptions, status?: number | number[]) {
    const before = await snapshot(t);
    t.clock.advance(1000); // any write now changes updated_at as well
    const res = await t.app.inject(options);
    const problem = expectCleanRejection(res, status);
    expect(await snapshot(t)).toEqual(before);
    return { res, problem };
  }

  const targets: BodyTarget[] = [
    {
      label: 'POST /auth/register',
      method: 'POST',
      url: () => '/auth/register',
      headers: () => ({}),
      valid: () => {
        const username = fresh('reg');
        return { username, email: `${username}@example.com`, password: PASSWORD };
      },
      okStatus: 201,
      form: true,
      wrongTypes: { username: WRONG_STRING_VALUES, email: WRONG_STRING_VALUES, password: WRONG_STRING_VALUES, name: [123, null, {}, [], true] },
      extras: { role: 'admin', id: 'chosen', isAdmin: true, disabled: false, password_hash: '$argon2id$x', owner: 'x' },
      nulFields: ['username', 'email', 'name'],
      withEmail: (email) => ({ username: fresh('reg'), email, password: PASSWORD }),
      password: true,
    },
    {
      label: 'POST /auth/login',
      method: 'POST',
      url: () => '/auth/login',
      headers: () => ({}),
      valid: () => ({ login: victim.username, password: PASSWORD }),
      okStatus: 200,
      form: true,
      wrongTypes: { login: WRONG_STRING_VALUES, password: WRONG_STRING_VALUES },
      extras: { role: 'admin', isAdmin: true, id: 'x', scope: 'admin' },
      // A NUL can never be part of a login name (Postgres could not even compare it): refused by the schema.
      nulFields: ['login'],
      withEmail: (email) => ({ email, password: PASSWORD }),
      password: true,
    },
    {
      label: 'POST /users (as admin)',
      method: 'POST',
      url: () => '/users',
      headers: () => admin.auth,
      valid: () => {
        const username = fresh('adm');
        return { username, email: `${username}@example.com`, password: PASSWORD };
      },
      okStatus: 201,
      form: false,
      wrongTypes: { username: WRONG_STRING_VALUES, email: WRONG_STRING_VALUES, password: WRONG_STRING_VALUES, role: [123, null, 'superuser', ['admin'], {}] },
      extras: { id: 'chosen', isAdmin: true, disabled: true, password_hash: '$argon2id$x' },
      nulFields: ['username', 'email', 'name'],
      withEmail: (email) => ({ username: fresh('adm'), email, password: PASSWORD }),
      password: true,
    },
    {
      label: 'PATCH /users/:id (self)',
      method: 'PATCH',
      url: () => `/users/${user.id}`,
      headers: () => user.auth,
      valid: () => ({ name: fresh('Name ') }),
      okStatus: 200,
      form: false,
      wrongTypes: {
        username: WRONG_STRING_VALUES,
        email: WRONG_STRING_VALUES,
        name: [123, {}, [], true],
        role: [123, null, 'superuser', ['admin']],
        disabled: ['true', 1, null, []],
      },
      extras: { id: 'x', isAdmin: true, password_hash: '$argon2id$x', owner: 'x', password: 'new password here' },
      nulFields: ['username', 'email', 'name'],
      withEmail: (email) => ({ email }),
    },
    {
      label: 'PATCH /auth/me',
      method: 'PATCH',
      url: () => '/auth/me',
      headers: () => user.auth,
      valid: () => ({ name: fresh('Me ') }),
      okStatus: 200,
      form: false,
      wrongTypes: { username: WRONG_STRING_VALUES, email: WRONG_STRING_VALUES, name: [123, {}, [], true] },
      extras: { role: 'admin', id: 'x', isAdmin: true, disabled: false, password_hash: '$argon2id$x', password: 'new password here' },
      nulFields: ['username', 'email', 'name'],
      withEmail: (email) => ({ email }),
    },
    {
      label: 'POST /items',
      method: 'POST',
      url: () => '/items',
      headers: () => user.auth,
      valid: () => ({ name: fresh('new-item-'), price: 1.5 }),
      okStatus: 201,
      form: false,
      wrongTypes: { name: WRONG_STRING_VALUES, price: ['12', null, {}, [], true, '1e3'], description: [123, {}, [], true] },
      extras: { owner: 'x', owner_id: 'x', id: 'x', isAdmin: true, price_cents: 1 },
      nulFields: ['name'],
    },
    {
      label: 'PUT /items/:name (owner)',
      method: 'PUT',
      url: () => `/items/${encodeURIComponent(itemName)}`,
      headers: () => user.auth,
      valid: () => ({ price: 2.5 }),
      okStatus: 200,
      form: false,
      wrongTypes: { price: ['12', null, {}, [], true], description: [123, {}, [], true] },
      extras: { name: 'renamed', owner: 'x', owner_id: 'x', id: 'x' },
      nulFields: [],
    },
    {
      label: 'PATCH /items/:name (owner)',
      method: 'PATCH',
      url: () => `/items/${encodeURIComponent(itemName)}`,
      headers: () => user.auth,
      valid: () => ({ price: 3.5 }),
      okStatus: 200,
      form: false,
      wrongTypes: { name: WRONG_STRING_VALUES, price: ['12', null, {}, [], true], description: [123, {}, [], true] },
      extras: { owner: 'x', owner_id: 'x', id: 'x' },
      nulFields: ['name'],
    },
  ];

  describe.each(targets)('$label', (target) => {
    it('control: the good request is accepted', async () => {
      const res = await t.app.inject({ method: target.method, url: target.url(), headers: target.headers(), payload: target.valid() });
      expect(res.statusCode, res.body).toBe(target.okStatus);
    });

    it.each(bodyCases(target))('$label', async (c) => {
      const { problem, res } = await expectRefused(
        { method: target.method, url: target.url(), headers: { ...target.headers(), 'content-type': c.contentType }, payload: c.payload() },
        c.status,
      );
      if (c.code) expect(problem.code).toBe(c.code);
      if (c.field)
        expect(
          problem.errors?.map((e) => e.field),
          res.body,
        ).toContain(c.field);
      if (res.statusCode === 413) {
        // IN-04: the process stays up and keeps answering.
        expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
        expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: user.auth })).statusCode).toBe(200);
      }
      // IN-05: nothing leaked onto Object.prototype.
      expect(({} as Record<string, unknown>).role).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    });
  });

  describe("IN-02: ' OR 1=1-- and friends", () => {
    const injections = ["' OR 1=1--", "' OR '1'='1", "admin'--", '"; DROP TABLE users; --', "x' UNION SELECT password_hash FROM users--"];

    it.each(injections)('as a username at registration → 400, no row: %s', async (username) => {
      const { problem } = await expectRefused({ method: 'POST', url: '/auth/register', payload: { username, email: `${fresh('sql')}@example.com`, password: PASSWORD } }, 400);
      expect(problem.errors?.map((e) => e.field)).toContain('username');
    });

    it.each(injections)('as login / username / email at login → 401 ERR_AUTH_INVALID_CREDENTIALS: %s', async (name) => {
      for (const key of ['login', 'username', 'email']) {
        for (const password of [PASSWORD, "' OR 1=1--"]) {
          const { problem } = await expectRefused({ method: 'POST', url: '/auth/login', payload: { [key]: name, password } }, 401);
          expect(problem.code).toBe('ERR_AUTH_INVALID_CREDENTIALS');
        }
      }
    });

    it('a known username followed by a comment does not log in', async () => {
      await expectRefused({ method: 'POST', url: '/auth/login', payload: { login: `${victim.username}'--`, password: 'wrong' } }, 401);
      await expectRefused({ method: 'POST', url: '/auth/login', payload: { login: `${victim.username}' OR '1'='1`, password: 'wrong' } }, 401);
    });

    it('as `?q=` matches nobody rather than everybody', async () => {
      const res = await t.app.inject({ method: 'GET', url: `/users?q=${encodeURIComponent("' OR 1=1--")}`, headers: user.auth });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ items: [], next_cursor: null });
    });

    it('as `?owner=` is not an id → 400', async () => {
      const { problem } = await expectRefused({ method: 'GET', url: `/items?owner=${encodeURIComponent("' OR 1=1--")}`, headers: user.auth }, 400);
      expect(problem.errors?.[0]?.field).toBe('owner');
    });

    it('as a user id is not an id → 400; as an item name matches nothing → 404', async () => {
      const { problem } = await expectRefused({ method: 'GET', url: `/users/${encodeURIComponent("' OR 1=1--")}`, headers: user.auth }, 400);
      expect(problem.code).toBe('ERR_VALIDATION');
      const item = await expectRefused({ method: 'GET', url: `/items/${encodeURIComponent("' OR 1=1--")}`, headers: user.auth }, 404);
      expect(item.problem.code).toBe('ERR_ITEM_NOT_FOUND');
      await expectRefused({ method: 'DELETE', url: `/items/${encodeURIComponent("x' OR '1'='1")}`, headers: user.auth }, 404);
      await expectRefused({ method: 'PATCH', url: `/users/${encodeURIComponent("' OR 1=1--")}`, headers: admin.auth, payload: { name: 'x' } }, 400);
    });

    it('as an item name it is stored literally and touches nothing else', async () => {
      const before = await allItems(t);
      const name = `' OR 1=1-- ${fresh('')}`;
      const res = await t.app.inject({ method: 'POST', url: '/items', headers: user.auth, payload: { name, price: 1 } });
      expect(res.statusCode).toBe(201);
      const after = await allItems(t);
      expect(after).toHaveLength(before.length + 1);
      expect(after.filter((i) => !before.some((b) => b.name === i.name)).map((i) => i.name)).toEqual([name]);
      expect((await t.app.inject({ method: 'GET', url: `/items/${encodeURIComponent(name)}`, headers: user.auth })).json()).toMatchObject({ name });
    });
  });

  describe('NUL bytes where text is free-form', () => {
    it('an item description with NUL is never a 5xx: refused, or stored exactly', async () => {
      const name = fresh('nul-');
      const description = 'before\u0000after';
      const res = await t.app.inject({ method: 'POST', url: '/items', headers: user.auth, payload: { name, price: 1, description } });
      expect(res.statusCode).toBeLessThan(500);
      if (res.statusCode === 201) expect((await t.storage.items.findByName(name))!.description).toBe(description);
      else expectCleanRejection(res, 400);
    });

    it('a password with NUL is never truncated at the NUL (PWD-02)', async () => {
      const username = fresh('nulpw');
      const password = 'first part\u0000second part';
      const res = await t.app.inject({ method: 'POST', url: '/auth/register', payload: { username, email: `${username}@example.com`, password } });
      expect(res.statusCode).toBeLessThan(500);
      if (res.statusCode !== 201) return void expectCleanRejection(res, 400);
      expect((await t.app.inject({ method: 'POST', url: '/auth/login', payload: { login: username, password } })).statusCode).toBe(200);
      await expectRefused({ method: 'POST', url: '/auth/login', payload: { login: username, password: 'first part' } }, 401);
    });
  });

  describe('Authorization header abuse', () => {
    const protectedRoutes: [string, Method, () => string, (() => Record<string, unknown>) | null][] = [
      ['GET /auth/me', 'GET', () => '/auth/me', null],
      ['PATCH /auth/me', 'PATCH', () => '/auth/me', () => ({ name: 'hijacked' })],
      ['GET /users', 'GET', () => '/users', null],
      ['POST /users', 'POST', () => '/users', () => ({ username: fresh('hdr'), email: `${fresh('hdr')}@example.com`, password: PASSWORD, role: 'admin' })],
      ['PATCH /users/:id', 'PATCH', () => `/users/${user.id}`, () => ({ name: 'hijacked' })],
      ['DELETE /users/:id', 'DELETE', () => `/users/${user.id}`, null],
      ['GET /items', 'GET', () => '/items', null],
      ['POST /items', 'POST', () => '/items', () => ({ name: fresh('hdr-'), price: 1 })],
      ['PUT /items/:name', 'PUT', () => `/items/${encodeURIComponent(itemName)}`, () => ({ price: 0 })],
      ['PATCH /items/:name', 'PATCH', () => `/items/${encodeURIComponent(itemName)}`, () => ({ price: 0 })],
      ['DELETE /items/:name', 'DELETE', () => `/items/${encodeURIComponent(itemName)}`, null],
    ];

    const variants: [string, () => Record<string, string | string[]>, number | number[]][] = [
      // Node's parser joins duplicate Authorization headers; inject passes both as raw headers.
      ['two Authorization headers (same token)', () => ({ authorization: [user.auth.authorization, user.auth.authorization] }), [400, 401]],
      ['two Authorization headers (admin token second)', () => ({ authorization: ['Bearer garbage', admin.auth.authorization] }), [400, 401]],
      ['two x-access-token headers', () => ({ 'x-access-token': [user.accessToken, admin.accessToken] }), 400],
      ['Authorization and x-access-token together', () => ({ ...user.auth, 'x-access-token': admin.accessToken }), [400, 401]],
      ['empty "Bearer "', () => ({ authorization: 'Bearer ' }), 401],
      ['"Bearer" with no token', () => ({ authorization: 'Bearer' }), 401],
      ['Basic credentials', () => ({ authorization: 'Basic abc' }), 401],
      ['Basic with a real username and password', () => ({ authorization: `Basic ${Buffer.from(`${user.username}:${PASSWORD}`).toString('base64')}` }), 401],
      ['a bare token without scheme', () => ({ authorization: user.accessToken }), 401],
      ['two tokens in one header', () => ({ authorization: `Bearer ${user.accessToken} ${admin.accessToken}` }), 401],
      ['an empty x-access-token', () => ({ 'x-access-token': '' }), 401],
      ['a 20 KB token', () => ({ authorization: `Bearer ${'a'.repeat(20_000)}` }), 401],
    ];

    for (const [label, method, url, body] of protectedRoutes) {
      describe(label, () => {
        it.each(variants)('%s → 4xx, nothing changed', async (_label, headers, status) => {
          const payload = body?.();
          await expectRefused({ method, url: url(), headers: headers(), ...(payload ? { payload } : {}) }, status);
        });
      });
    }
  });

  describe('query strings', () => {
    const lists = ['/users', '/items'];
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad: [string, string][] = [
      ['repeated ?limit=1&limit=2', 'limit=1&limit=2'],
      ['?limit=1e9', 'limit=1e9'],
      ['?limit=0', 'limit=0'],
      ['?limit=-1', 'limit=-1'],
      ['?limit=101', 'limit=101'],
      ['?limit=1.5', 'limit=1.5'],
      ['?limit=abc', 'limit=abc'],
      ['?limit= (empty)', 'limit='],
      ['?limit[]=1', 'limit%5B%5D=1'],
      ['unknown sort field ?sort=password', 'sort=password'],
      ['?order=password_hash', 'order=password_hash'],
      ['?role=admin', 'role=admin'],
      ['?__proto__=x', '__proto__=x'],
      ['invalid cursor (garbage)', 'cursor=!!not-a-cursor!!'],
      ['invalid cursor (base64 of null)', `cursor=${cursor(null)}`],
      ['invalid cursor (k is a number)', `cursor=${cursor({ k: 1 })}`],
      ['invalid cursor (not JSON)', `cursor=${Buffer.from('hello').toString('base64url')}`],
      ['over-long cursor', `cursor=${'A'.repeat(600)}`],
      ['repeated cursor', `cursor=${cursor({ k: 'a' })}&cursor=${cursor({ k: 'b' })}`],
    ];

    for (const list of lists) {
      describe(`GET ${list}`, () => {
        it.each(bad)('%s → 400', async (_label, query) => {
          const { problem } = await expectRefused({ method: 'GET', url: `${list}?${query}`, headers: user.auth }, 400);
          expect(problem.code).toBe('ERR_VALIDATION');
        });
      });
    }

    it.each([
      ['/users', 'q=a&q=b'],
      ['/users', 'q='],
      ['/users', `q=${'a'.repeat(65)}`],
      ['/items', 'owner=a&owner=b'],
      ['/items', 'owner='],
    ])('GET %s?%s → 400', async (list, query) => {
      await expectRefused({ method: 'GET', url: `${list}?${query}`, headers: user.auth }, 400);
    });
  });

  describe('unsupported methods', () => {
    const routes: [string, string, boolean][] = [
      ['PUT', '/users', true],
      ['DELETE', '/users', true],
      ['PATCH', '/users', true],
      ['POST', '/users/:id', true],
      ['PUT', '/users/:id', true],
      ['DELETE', '/items', true],
      ['PATCH', '/items', true],
      ['PUT', '/items', true],
      ['POST', '/items/:name', true],
      ['PUT', '/auth/me', true],
      ['POST', '/auth/me', true],
      ['DELETE', '/auth/me', true],
      ['GET', '/auth/register', false],
      ['PUT', '/auth/register', false],
      ['DELETE', '/auth/register', false],
      ['GET', '/auth/login', false],
      ['PATCH', '/auth/login', false],
      ['TRACE', '/users', true],
      ['PROPFIND', '/items', true],
    ];
    it.each(routes)('%s %s → 404 or 405, nothing changed', async (method, route, auth) => {
      const url = route.replace(':id', victim.id).replace(':name', encodeURIComponent(itemName));
      const payload = ['POST', 'PUT', 'PATCH'].includes(method) ? { name: 'x', price: 0, role: 'admin' } : undefined;
      await expectRefused({ method: method as Method, url, headers: auth ? admin.auth : {}, ...(payload ? { payload } : {}) }, [404, 405]);
    });
  });

  describe('malformed paths (IN-07)', () => {
    it.each([
      ['broken percent-encoding in an item name', () => '/items/%E0%A4%A'],
      ['broken percent-encoding in a user id', () => '/users/%ZZ'],
      ['a NUL byte in an item name', () => '/items/a%00b'],
      ['a control character in an item name', () => '/items/a%07b'],
      ['an over-long user id', () => `/users/${'a'.repeat(300)}`],
      ['an over-long item name', () => `/items/${'a'.repeat(300)}`],
    ])('%s → 4xx problem+json', async (_label, url) => {
      await expectRefused({ method: 'GET', url: url(), headers: user.auth });
    });

    it('a path with dot segments does not reach another route', async () => {
      const res = await t.app.inject({ method: 'GET', url: `/items/..%2Fusers`, headers: user.auth });
      expectCleanRejection(res, [400, 404]);
    });
  });
});
