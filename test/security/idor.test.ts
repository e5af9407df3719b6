import { beforeAll, describe, expect, it } from 'vitest';
import { adminLogin, api, signUp, snapshot, snapshotDiff, useSecurityServer, type Account, type ApiResponse, type SecurityServer } from './server.js';

/**
 * Access control against the RUNNING server (SECURITY.md AC-01..04): user B acting on A's records,
 * mass assignment of privileged fields, admin routes with a normal user's token. Each refusal is
 * checked twice: by its status, and by the rows in the server's SQLite file (users, items, sessions),
 * which must be exactly what they were.
 */

interface Attempt {
  readonly label: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly form?: string;
  readonly token?: string;
  /** Acceptable statuses. */
  readonly expect: readonly number[];
}

const LEAKS = /\bat .*\(.*:\d+:\d+\)|node_modules|\/work\/|SQLITE|SqliteError|\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{16,}\$/;

/** Sends every attempt; collects each that got another status or a body that leaks internals. */
async function run(server: SecurityServer, attempts: readonly Attempt[]): Promise<string[]> {
  const failures: string[] = [];
  for (const a of attempts) {
    let res: ApiResponse;
    if (a.form !== undefined) {
      res = await api(server, a.method, a.path, { token: a.token, body: a.form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    } else {
      res = await api(server, a.method, a.path, { token: a.token, body: a.body });
    }
    if (!a.expect.includes(res.status)) failures.push(`${a.label}: ${a.method} ${a.path} → ${res.status} (want ${a.expect.join('/')}) ${res.text.slice(0, 200)}`);
    else if (res.status >= 400 && !res.headers.get('content-type')?.startsWith('application/problem+json')) failures.push(`${a.label}: ${res.status} is not problem+json`);
    if (LEAKS.test(res.text)) failures.push(`${a.label}: body leaks internals: ${res.text.slice(0, 200)}`);
  }
  return failures;
}

/** The privileged or server-owned fields an attacker tries to smuggle in (AC-04). */
function smuggled(victim: Account): [string, unknown][] {
  return [
    ['role', 'admin'],
    ['id', victim.id],
    ['owner_id', victim.id],
    ['owner', victim.id],
    ['isAdmin', true],
    ['is_admin', true],
    ['admin', true],
    ['password_hash', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$AAAA'],
    ['passwordHash', 'x'],
    ['disabled', false],
    ['created_at', 0],
    ['updated_at', 0],
    ['ownerId', victim.id],
  ];
}

describe('access control against the running server', () => {
  const ctx = useSecurityServer();
  let alice: Account;
  let bob: Account;
  let admin: Account;
  let aliceSessionId: string;
  const lamp = 'a-lamp';
  const cafe = 'caf\u00e9-a'; // NFC; the NFD spelling below must name the same item
  const cafeNfd = 'cafe\u0301-a';

  beforeAll(async () => {
    const server = ctx.server;
    [alice, bob, admin] = await Promise.all([signUp(server, 'alice'), signUp(server, 'bob'), adminLogin(server)]);
    for (const [name, price] of [
      [lamp, 19.99],
      [cafe, 3.5],
    ] as const) {
      const res = await api(server, 'POST', '/items', { token: alice.access, body: { name, price, description: 'alice owns this' } });
      expect(res.status, res.text).toBe(201);
    }
    const sessions = await api(server, 'GET', '/auth/sessions', { token: alice.access });
    aliceSessionId = (sessions.json as { items: { id: string; current: boolean }[] }).items.find((s) => s.current)!.id;
  });

  describe("AC-02: user B on A's records", () => {
    it("B can read what is readable by any signed-in user, but never A's email, disabled flag or password hash", async () => {
      const server = ctx.server;
      const user = await api(server, 'GET', `/users/${alice.id}`, { token: bob.access });
      expect(user.status).toBe(200);
      // The directory entry (API.md "Users directory"): no role, no email, no dates.
      expect(Object.keys(user.json as object).sort()).toEqual(['id', 'name', 'username']);
      const list = await api(server, 'GET', `/users?q=${alice.username}`, { token: bob.access });
      expect(list.status).toBe(200);
      const listed = (list.json as { items: Record<string, unknown>[] }).items;
      expect(listed.map((u) => u.id)).toContain(alice.id);
      for (const u of listed) expect(Object.keys(u).sort()).toEqual(['id', 'name', 'username']);
      expect(list.text).not.toMatch(/password|argon2|@example\.com/);
      const item = await api(server, 'GET', `/items/${lamp}`, { token: bob.access });
      expect(item.status).toBe(200);
      expect((item.json as { owner_id: string }).owner_id).toBe(alice.id);
    });

    it("B writing or deleting A's user record, items and sessions → 403/404, and no row changes", async () => {
      const server = ctx.server;
      const before = snapshot(server);
      const B = bob.access;
      const no = [403, 404];
      const id = alice.id;
      const attempts: Attempt[] = [
        // A's user record, and spellings of its id that a sloppy lookup might also match.
        ...[id, id.toUpperCase(), `${id}/`, `${id}%20`, encodeURIComponent(` ${id}`), `${id}%00`].flatMap((ref): Attempt[] => [
          { label: `PATCH user name (${ref})`, method: 'PATCH', path: `/users/${ref}`, token: B, body: { name: 'pwned by bob' }, expect: ref === id ? no : [...no, 400] },
          {
            label: `PATCH user email (${ref})`,
            method: 'PATCH',
            path: `/users/${ref}`,
            token: B,
            body: { email: 'bob-owns-this@example.com' },
            expect: ref === id ? no : [...no, 400],
          },
          { label: `PATCH user username (${ref})`, method: 'PATCH', path: `/users/${ref}`, token: B, body: { username: 'alice-now-bob' }, expect: ref === id ? no : [...no, 400] },
          { label: `DELETE user (${ref})`, method: 'DELETE', path: `/users/${ref}`, token: B, expect: ref === id ? no : [...no, 400] },
        ]),
        { label: 'PATCH user role', method: 'PATCH', path: `/users/${id}`, token: B, body: { role: 'user' }, expect: no },
        { label: 'PATCH user disabled', method: 'PATCH', path: `/users/${id}`, token: B, body: { disabled: true }, expect: no },
        { label: 'PUT user (no such route)', method: 'PUT', path: `/users/${id}`, token: B, body: { name: 'x' }, expect: [403, 404, 405] },
        { label: 'POST user (no such route)', method: 'POST', path: `/users/${id}`, token: B, body: { name: 'x' }, expect: [403, 404, 405] },
        // A's items, including the NFD spelling of an NFC name (same item after normalisation).
        ...[lamp, encodeURIComponent(cafe), encodeURIComponent(cafeNfd)].flatMap((name): Attempt[] => [
          { label: `PUT item ${name}`, method: 'PUT', path: `/items/${name}`, token: B, body: { price: 0.01, description: 'bob was here' }, expect: no },
          { label: `PATCH item price ${name}`, method: 'PATCH', path: `/items/${name}`, token: B, body: { price: 0 }, expect: no },
          { label: `PATCH item description ${name}`, method: 'PATCH', path: `/items/${name}`, token: B, body: { description: null }, expect: no },
          { label: `PATCH item rename ${name}`, method: 'PATCH', path: `/items/${name}`, token: B, body: { name: 'stolen-by-bob' }, expect: no },
          { label: `DELETE item ${name}`, method: 'DELETE', path: `/items/${name}`, token: B, expect: no },
        ]),
        // A's session: only the caller's own can be ended.
        { label: "DELETE A's session", method: 'DELETE', path: `/auth/sessions/${aliceSessionId}`, token: B, expect: no },
        // A's audit trail is an admin route.
        { label: "GET A's audit trail", method: 'GET', path: `/admin/audit?user=${id}`, token: B, expect: [403] },
      ];
      const failures = await run(server, attempts);
      expect(failures).toEqual([]);
      expect(snapshotDiff(before, snapshot(server))).toEqual([]);
      // A is unaffected: still signed in, items intact.
      expect((await api(server, 'GET', '/auth/me', { token: alice.access })).status).toBe(200);
      const item = await api(server, 'GET', `/items/${encodeURIComponent(cafe)}`, { token: alice.access });
      expect(item.json).toMatchObject({ name: cafe, price: 3.5, description: 'alice owns this', owner_id: alice.id });
      // No lookalike item was created under the NFD name either.
      const bobs = await api(server, 'GET', `/items?owner=${bob.id}`, { token: bob.access });
      expect((bobs.json as { items: unknown[] }).items).toEqual([]);
    });

    it('positive controls: the same requests succeed for the owner and for an admin (the 403s are not broken routes)', async () => {
      const server = ctx.server;
      const before = snapshot(server);
      const own = await api(server, 'PATCH', `/items/${lamp}`, { token: alice.access, body: { price: 21 } });
      expect(own.status, own.text).toBe(200);
      const byAdmin = await api(server, 'PATCH', `/users/${alice.id}`, { token: admin.access, body: { name: 'Alice A.' } });
      expect(byAdmin.status, byAdmin.text).toBe(200);
      const self = await api(server, 'PATCH', `/users/${alice.id}`, { token: alice.access, body: { name: 'Alice' } });
      expect(self.status, self.text).toBe(200);
      // And the row check sees such changes (the read-only connection reads the server's writes).
      const changed = snapshotDiff(before, snapshot(server));
      expect(changed.some((line) => line.startsWith('items +') && line.includes('"price_cents":2100'))).toBe(true);
      expect(changed.some((line) => line.startsWith('users +') && line.includes(alice.id))).toBe(true);
    });
  });

  describe('AC-04: mass assignment', () => {
    it('register cannot set role, id, owner, password_hash, disabled, created_at … → 400, and no user is created', async () => {
      const server = ctx.server;
      const before = snapshot(server);
      const attempts: Attempt[] = [];
      let n = 0;
      for (const [field, value] of smuggled(alice)) {
        const username = `massreg${++n}`;
        const body = { username, email: `${username}@example.com`, password: 'a perfectly good passphrase', [field]: value };
        attempts.push({ label: `register + ${field} (JSON)`, method: 'POST', path: '/auth/register', body, expect: [400] });
        attempts.push({
          label: `register + ${field} (form)`,
          method: 'POST',
          path: '/auth/register',
          form: new URLSearchParams({ ...body, [field]: String(value) } as Record<string, string>).toString(),
          expect: [400],
        });
      }
      // Prototype pollution routes to the same fields.
      const base = '"username":"massproto","email":"massproto@example.com","password":"a perfectly good passphrase"';
      attempts.push({ label: 'register + __proto__.role', method: 'POST', path: '/auth/register', body: `{${base},"__proto__":{"role":"admin","isAdmin":true}}`, expect: [400] });
      attempts.push({
        label: 'register + constructor.prototype.role',
        method: 'POST',
        path: '/auth/register',
        body: `{${base},"constructor":{"prototype":{"role":"admin"}}}`,
        expect: [400],
      });
      attempts.push({ label: 'register + nested role', method: 'POST', path: '/auth/register', body: `{${base},"user":{"role":"admin"}}`, expect: [400] });
      attempts.push({
        label: 'register + role (form, repeated)',
        method: 'POST',
        path: '/auth/register',
        form: 'username=massform&email=massform%40example.com&password=a+perfectly+good+passphrase&role=admin&role=user',
        expect: [400],
      });
      expect(await run(server, attempts)).toEqual([]);
      expect(snapshotDiff(before, snapshot(server))).toEqual([]);
    });

    it('PATCH /auth/me and PATCH /users/:id (own record) cannot set privileged fields → 400 (role/disabled: 403), rows unchanged', async () => {
      const server = ctx.server;
      const before = snapshot(server);
      const attempts: Attempt[] = [];
      for (const [field, value] of smuggled(bob)) {
        attempts.push({ label: `PATCH /auth/me + ${field}`, method: 'PATCH', path: '/auth/me', token: alice.access, body: { name: 'Alice', [field]: value }, expect: [400] });
        attempts.push({ label: `PATCH /auth/me only ${field}`, method: 'PATCH', path: '/auth/me', token: alice.access, body: { [field]: value }, expect: [400] });
        // role and disabled are fields of this route, for admins only (API.md: others 403).
        const expected = field === 'role' || field === 'disabled' ? [400, 403] : [400];
        attempts.push({
          label: `PATCH /users/own + ${field}`,
          method: 'PATCH',
          path: `/users/${alice.id}`,
          token: alice.access,
          body: { name: 'Alice', [field]: value },
          expect: expected,
        });
      }
      attempts.push({
        label: 'PATCH /auth/me + __proto__',
        method: 'PATCH',
        path: '/auth/me',
        token: alice.access,
        body: '{"name":"Alice","__proto__":{"role":"admin"}}',
        expect: [400],
      });
      attempts.push({
        label: 'PATCH /users/own + constructor',
        method: 'PATCH',
        path: `/users/${alice.id}`,
        token: alice.access,
        body: '{"name":"Alice","constructor":{"prototype":{"role":"admin"}}}',
        expect: [400],
      });
      attempts.push({ label: 'PATCH /users/own disabled:false', method: 'PATCH', path: `/users/${alice.id}`, token: alice.access, body: { disabled: false }, expect: [403] });
      expect(await run(server, attempts)).toEqual([]);
      expect(snapshotDiff(before, snapshot(server))).toEqual([]);
      const me = await api(server, 'GET', '/auth/me', { token: alice.access });
      expect(me.json).toMatchObject({ id: alice.id, role: 'user' });
    });

    it('POST /items, PUT /items and PATCH /items cannot set owner_id, id, created_at … → 400, nothing created or changed', async () => {
      const server = ctx.server;
      const before = snapshot(server);
      const attempts: Attempt[] = [];
      let n = 0;
      for (const [field, value] of smuggled(bob)) {
        attempts.push({
          label: `POST /items + ${field}`,
          method: 'POST',
          path: '/items',
          token: alice.access,
          body: { name: `mass-item-${++n}`, price: 1, [field]: value },
          expect: [400],
        });
        attempts.push({ label: `PUT own item + ${field}`, method: 'PUT', path: `/items/${lamp}`, token: alice.access, body: { price: 1, [field]: value }, expect: [400] });
        attempts.push({ label: `PUT new item + ${field}`, method: 'PUT', path: `/items/mass-put-${n}`, token: alice.access, body: { price: 1, [field]: value }, expect: [400] });
        attempts.push({ label: `PATCH own item + ${field}`, method: 'PATCH', path: `/items/${lamp}`, token: alice.access, body: { price: 1, [field]: value }, expect: [400] });
      }
      attempts.push({
        label: 'POST /items + __proto__.owner_id',
        method: 'POST',
        path: '/items',
        token: alice.access,
        body: `{"name":"mass-proto","price":1,"__proto__":{"owner_id":"${bob.id}"}}`,
        expect: [400],
      });
      attempts.push({
        label: 'PUT /items + constructor',
        method: 'PUT',
        path: '/items/mass-ctor',
        token: alice.access,
        body: '{"price":1,"constructor":{"prototype":{"owner_id":"x"}}}',
        expect: [400],
      });
      expect(await run(server, attempts)).toEqual([]);
      expect(snapshotDiff(before, snapshot(server))).toEqual([]);
    });

    it('POST /users (admin) may set role, but not id, password_hash, disabled, owner … → 400', async () => {
      const server = ctx.server;
      const before = snapshot(server);
      const attempts: Attempt[] = [];
      let n = 0;
      for (const [field, value] of smuggled(alice).filter(([f]) => f !== 'role')) {
        const username = `adminmass${++n}`;
        attempts.push({
          label: `POST /users + ${field}`,
          method: 'POST',
          path: '/users',
          token: admin.access,
          body: { username, email: `${username}@example.com`, password: 'a perfectly good passphrase', [field]: value },
          expect: [400],
        });
      }
      expect(await run(server, attempts)).toEqual([]);
      expect(snapshotDiff(before, snapshot(server))).toEqual([]);
    });
  });

  describe('AC-03 / AC-01: admin routes', () => {
    it("a normal user's token on admin routes and admin-only changes → 403, nothing changes, no self-promotion", async () => {
      const server = ctx.server;
      const before = snapshot(server);
      const A = alice.access;
      const attempts: Attempt[] = [
        { label: 'GET /admin/audit', method: 'GET', path: '/admin/audit', token: A, expect: [403] },
        { label: 'GET /admin/audit?limit=100', method: 'GET', path: '/admin/audit?limit=100', token: A, expect: [403] },
        { label: 'GET /admin/audit?type=login.failed', method: 'GET', path: '/admin/audit?type=login.failed', token: A, expect: [400, 403] },
        {
          label: 'POST /users as admin',
          method: 'POST',
          path: '/users',
          token: A,
          body: { username: 'sneaky', email: 'sneaky@example.com', password: 'a perfectly good passphrase', role: 'admin' },
          expect: [403],
        },
        {
          label: 'POST /users as user',
          method: 'POST',
          path: '/users',
          token: A,
          body: { username: 'sneaky2', email: 'sneaky2@example.com', password: 'a perfectly good passphrase' },
          expect: [403],
        },
        { label: 'self-promotion', method: 'PATCH', path: `/users/${alice.id}`, token: A, body: { role: 'admin' }, expect: [403] },
        { label: 'promote bob', method: 'PATCH', path: `/users/${bob.id}`, token: A, body: { role: 'admin' }, expect: [403] },
        { label: 'disable bob', method: 'PATCH', path: `/users/${bob.id}`, token: A, body: { disabled: true }, expect: [403] },
        { label: 'demote the admin', method: 'PATCH', path: `/users/${admin.id}`, token: A, body: { role: 'user' }, expect: [403] },
        { label: 'disable the admin', method: 'PATCH', path: `/users/${admin.id}`, token: A, body: { disabled: true }, expect: [403] },
        { label: 'delete the admin', method: 'DELETE', path: `/users/${admin.id}`, token: A, expect: [403] },
        { label: 'rename the admin', method: 'PATCH', path: `/users/${admin.id}`, token: A, body: { email: 'alice-owns-admin@example.com' }, expect: [403] },
        // AC-01: no token at all.
        { label: 'GET /admin/audit without a token', method: 'GET', path: '/admin/audit', expect: [401] },
        {
          label: 'POST /users without a token',
          method: 'POST',
          path: '/users',
          body: { username: 'anon', email: 'anon@example.com', password: 'a perfectly good passphrase', role: 'admin' },
          expect: [401],
        },
      ];
      expect(await run(server, attempts)).toEqual([]);
      expect(snapshotDiff(before, snapshot(server))).toEqual([]);
      const me = await api(server, 'GET', '/auth/me', { token: A });
      expect((me.json as { role: string }).role).toBe('user');
      expect((await api(server, 'GET', '/admin/audit', { token: A })).status).toBe(403);
      // Positive control: the admin is still an admin, and the route works for them.
      expect((await api(server, 'GET', '/admin/audit', { token: admin.access })).status).toBe(200);
      const noToken = await api(server, 'GET', '/admin/audit');
      expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });
  });
});
