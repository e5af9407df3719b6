import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, LastSignInMethodError } from '../../src/core/errors.js';
import { newId } from '../../src/core/ids.js';
import type { Item, MfaFactor, OAuthClient, RefreshTokenRecord, Session, User } from '../../src/core/model.js';
import type { Storage } from '../../src/core/ports.js';
import { generateSigningKey } from '../../src/core/auth/key-ring.js';
import { backends } from '../helpers/storage.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { createSqlStorage } from '../../src/storage/sql/stores.js';

const NOW = Date.UTC(2026, 5, 1);

function user(overrides: Partial<User> = {}): User {
  const id = newId(NOW);
  return {
    id,
    username: `u-${id.slice(-8)}`,
    email: `${id.slice(-8)}@example.com`,
    name: null,
    role: 'user',
    disabled: false,
    emailVerified: false,
    passwordHash: '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA',
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

function session(userId: string, overrides: Partial<Session> = {}): { session: Session; token: RefreshTokenRecord } {
  const id = newId(NOW);
  const refreshId = `r-${id}`;
  return {
    session: {
      id,
      userId,
      createdAt: NOW,
      lastUsedAt: NOW,
      expiresAt: NOW + 86_400_000,
      revokedAt: null,
      userAgent: 'test',
      ip: '127.0.0.1',
      refreshId,
      refreshHash: 'hash-0',
      rotatedAt: null,
      clientId: 'gatehouse',
      scope: '',
      authTime: NOW,
      amr: ['pwd'],
      acr: 'aal1',
      ...overrides,
    },
    token: { id: refreshId, sessionId: id, secretHash: 'hash-0', parentId: null, createdAt: NOW },
  };
}

function item(ownerId: string, name: string, priceCents = 1999): Item {
  return { name, priceCents, description: null, ownerId, createdAt: NOW, updatedAt: NOW };
}

describe.each(backends())('migration 3 (SES-08): $name', (backend) => {
  it('sessions that existed before it belong to the first-party client `gatehouse`, with no scope', async () => {
    const { driver, dispose } = await backend.openEmpty();
    try {
      const all = MIGRATIONS[driver.dialect];
      expect(all.map((m) => m.version)).toContain(3);
      await driver.migrate(all.filter((m) => m.version < 3));
      const u = user();
      await driver.run(`INSERT INTO users (id, username, email, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, 'user', ?, ?, ?)`, [
        u.id,
        u.username,
        u.email,
        u.passwordHash,
        NOW,
        NOW,
      ]);
      await driver.run('INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip, refresh_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        's-old',
        u.id,
        NOW,
        NOW,
        NOW + 86_400_000,
        null,
        null,
        'r-old',
      ]);
      // Migration 3 and every later one apply to the old rows.
      expect(await driver.migrate(all)).toEqual(all.filter((m) => m.version >= 3).map((m) => m.version));
      const storage = createSqlStorage(driver);
      expect(await storage.sessions.findById('s-old')).toMatchObject({ id: 's-old', clientId: 'gatehouse', scope: '' });
    } finally {
      await dispose();
    }
  });
});

// One suite, every backend: the stores must behave the same on SQLite and Postgres.
describe.each(backends())('storage conformance: $name', (backend) => {
  let storage: Storage;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ storage, dispose } = await backend.open());
  });
  afterEach(() => dispose());

  describe('users', () => {
    it('creates and finds by id, username and email', async () => {
      const u = user({ name: 'Ann', role: 'admin', disabled: true });
      await storage.users.create(u);
      expect(await storage.users.findById(u.id)).toEqual(u);
      expect(await storage.users.findByUsername(u.username)).toEqual(u);
      expect(await storage.users.findByEmail(u.email)).toEqual(u);
      expect(await storage.users.findById('missing')).toBeNull();
    });

    it('turns duplicate usernames and emails into ConflictError naming the field', async () => {
      const u = user();
      await storage.users.create(u);
      await expect(storage.users.create(user({ username: u.username }))).rejects.toMatchObject({ code: 'ERR_USER_CONFLICT', field: 'username' });
      await expect(storage.users.create(user({ email: u.email }))).rejects.toMatchObject({ code: 'ERR_USER_CONFLICT', field: 'email' });
    });

    it('updates only the given fields and reports a missing user as null', async () => {
      const u = user();
      await storage.users.create(u);
      const updated = await storage.users.update(u.id, { name: 'New', disabled: true, updatedAt: NOW + 5 });
      expect(updated).toEqual({ ...u, name: 'New', disabled: true, updatedAt: NOW + 5 });
      expect(await storage.users.update('missing', { name: 'x', updatedAt: NOW })).toBeNull();
      const other = user();
      await storage.users.create(other);
      await expect(storage.users.update(other.id, { email: u.email, updatedAt: NOW })).rejects.toBeInstanceOf(ConflictError);
    });

    it('pages by username with a keyset cursor and filters by prefix', async () => {
      const names = ['amy', 'anna', 'bob', 'annabel', 'ann', 'zed', 'an'];
      for (const n of names) await storage.users.create(user({ username: n, email: `${n}@x.io` }));
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await storage.users.list({ limit: 3, after });
        seen.push(...page.items.map((u) => u.username));
        if (!page.next) break;
        after = page.next;
      }
      expect(seen).toEqual([...names].sort());
      const ann = await storage.users.list({ limit: 10, prefix: 'ann' });
      expect(ann.items.map((u) => u.username)).toEqual(['ann', 'anna', 'annabel']);
      expect(ann.next).toBeNull();
      const second = await storage.users.list({ limit: 2, prefix: 'an', after: 'ann' });
      expect(second.items.map((u) => u.username)).toEqual(['anna', 'annabel']);

      // The directory's page: the same users, cut and ordered the same way, with only what it shows.
      for (const query of [{ limit: 3 }, { limit: 3, after: 'ann' }, { limit: 10, prefix: 'ann' }, { limit: 2, prefix: 'an', after: 'ann' }]) {
        const full = await storage.users.list(query);
        const directory = await storage.users.listDirectory(query);
        expect(directory).toEqual({ items: full.items.map((u) => ({ id: u.id, username: u.username, name: u.name })), next: full.next });
      }
    });

    // The guard is one statement with the write. (Whether two such writes ever truly overlap here is
    // up to timing; on Postgres an advisory lock serialises them, which this test cannot force.)
    it('a write that removes an active admin goes through only while another remains', async () => {
      const a = user({ role: 'admin' });
      const b = user({ role: 'admin' });
      await storage.users.create(a);
      await storage.users.create(b);
      const results = await Promise.allSettled([
        storage.users.update(a.id, { role: 'user', updatedAt: NOW + 1 }, { keepAnotherAdmin: true }),
        storage.users.update(b.id, { disabled: true, updatedAt: NOW + 1 }, { keepAnotherAdmin: true }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ERR_USER_LAST_ADMIN' } });
      expect(await storage.users.countAdmins()).toBe(1);
      const last = (await storage.users.findById(a.id))!.role === 'admin' ? a : b;
      await expect(storage.users.delete(last.id, { keepAnotherAdmin: true })).rejects.toMatchObject({ code: 'ERR_USER_LAST_ADMIN' });
      expect(await storage.users.findById(last.id)).not.toBeNull();
      expect(await storage.users.delete('missing', { keepAnotherAdmin: true })).toBe(false);
      expect(await storage.users.update('missing', { role: 'user', updatedAt: NOW }, { keepAnotherAdmin: true })).toBeNull();
    });

    it('counts active admins and deletes with cascade to sessions and items', async () => {
      const admin = user({ role: 'admin' });
      const disabledAdmin = user({ role: 'admin', disabled: true });
      await storage.users.create(admin);
      await storage.users.create(disabledAdmin);
      expect(await storage.users.countAdmins()).toBe(1);
      const { session: s, token } = session(admin.id);
      await storage.sessions.create(s, token);
      await storage.items.create(item(admin.id, 'owned'));
      expect(await storage.users.delete(admin.id)).toBe(true);
      expect(await storage.users.delete(admin.id)).toBe(false);
      expect(await storage.sessions.findById(s.id)).toBeNull();
      expect(await storage.sessions.findByRefreshToken(token.id)).toBeNull();
      expect(await storage.items.findByName('owned')).toBeNull();
    });
  });

  describe('sessions', () => {
    it('stores a session with its first refresh token and finds it with its user', async () => {
      const u = user();
      await storage.users.create(u);
      const { session: s, token } = session(u.id);
      await storage.sessions.create(s, token);
      expect(await storage.sessions.findById(s.id)).toEqual(s);
      expect(await storage.sessions.findWithUser(s.id)).toEqual({ session: s, user: u });
      expect((await storage.sessions.findByRefreshToken(token.id))?.token).toEqual(token);
      expect(await storage.sessions.findWithUser('missing')).toBeNull();
    });

    it('SES-02: finds a chain by its root token with its session and user in one lookup; a rotation adds no row', async () => {
      const u = user();
      await storage.users.create(u);
      const { session: s, token } = session(u.id);
      await storage.sessions.create(s, token);
      expect(await storage.sessions.findByRefreshToken(token.id)).toEqual({ token, session: s, user: u });
      expect(await storage.sessions.rotateRefresh(s.id, token.id, { id: `${token.id}.1`, secretHash: 'h1', at: NOW + 1 })).toBe(true);
      // The root is still found (a replay of it must be recognised), its session now pointing past it.
      const after = await storage.sessions.findByRefreshToken(token.id);
      expect(after?.session).toMatchObject({ refreshId: `${token.id}.1`, refreshHash: 'h1', rotatedAt: NOW + 1, lastUsedAt: NOW + 1 });
      expect(after?.token).toEqual(token);
      // The successor has no row of its own: it is found through its root.
      expect(await storage.sessions.findByRefreshToken(`${token.id}.1`)).toBeNull();
      expect(await storage.sessions.findByRefreshToken('missing')).toBeNull();
    });

    it('SES-08: keeps the client id and scope of a session', async () => {
      const u = user();
      await storage.users.create(u);
      const { session: s, token } = session(u.id, { clientId: 'svc-client', scope: 'read write' });
      await storage.sessions.create(s, token);
      expect(await storage.sessions.findById(s.id)).toMatchObject({ clientId: 'svc-client', scope: 'read write' });
      expect((await storage.sessions.findWithUser(s.id))?.session).toMatchObject({ clientId: 'svc-client', scope: 'read write' });
      // The refresh reads them through its one statement: SES-08 is checked on what it returns.
      expect((await storage.sessions.findByRefreshToken(token.id))?.session).toMatchObject({ clientId: 'svc-client', scope: 'read write' });
    });

    it('SES-02: rotation is a compare-and-swap that only one caller wins', async () => {
      const u = user();
      await storage.users.create(u);
      const { session: s, token } = session(u.id);
      await storage.sessions.create(s, token);
      const next = (id: string) => ({ id, secretHash: `hash-${id}`, at: NOW + 1 });
      const results = await Promise.all([storage.sessions.rotateRefresh(s.id, token.id, next('child-a')), storage.sessions.rotateRefresh(s.id, token.id, next('child-b'))]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? 'child-a' : 'child-b';
      expect(await storage.sessions.findById(s.id)).toMatchObject({ refreshId: winner, refreshHash: `hash-${winner}`, rotatedAt: NOW + 1, lastUsedAt: NOW + 1 });
      // The same successor offered again (a retry) changes nothing.
      expect(await storage.sessions.rotateRefresh(s.id, token.id, next(winner))).toBe(false);
    });

    it('SES-02: the one-statement rotation checks the current token (id and hash), the client, the session and the user, and only one caller wins', async () => {
      const u = user({ role: 'admin' });
      await storage.users.create(u);
      const { session: s, token } = session(u.id);
      await storage.sessions.create(s, token);
      const current = { id: token.id, secretHash: 'hash-0', clientId: 'gatehouse' };
      const next = (id: string, at = NOW + 1) => ({ id, secretHash: `hash-${id}`, at });
      // Anything but the current token of this client's live session changes nothing.
      expect(await storage.sessions.rotateCurrent(s.id, { ...current, secretHash: 'hash-guessed' }, next('x'))).toBeNull();
      expect(await storage.sessions.rotateCurrent(s.id, { ...current, id: `${token.id}.7` }, next('x'))).toBeNull();
      expect(await storage.sessions.rotateCurrent(s.id, { ...current, clientId: 'other-client' }, next('x'))).toBeNull();
      expect(await storage.sessions.rotateCurrent('missing', current, next('x'))).toBeNull();
      expect(await storage.sessions.rotateCurrent(s.id, current, next('x', s.expiresAt))).toBeNull();
      expect(await storage.sessions.findById(s.id)).toEqual(s);

      const results = await Promise.all([storage.sessions.rotateCurrent(s.id, current, next('child-a')), storage.sessions.rotateCurrent(s.id, current, next('child-b'))]);
      const won = results.filter((r) => r !== null);
      expect(won).toHaveLength(1);
      const winner = results[0] ? 'child-a' : 'child-b';
      expect(won[0]).toEqual({ session: { ...s, refreshId: winner, refreshHash: `hash-${winner}`, rotatedAt: NOW + 1, lastUsedAt: NOW + 1 }, role: 'admin' });
      expect(await storage.sessions.findById(s.id)).toEqual(won[0]!.session);
      // The parent again (a replay) changes nothing.
      expect(await storage.sessions.rotateCurrent(s.id, current, next('child-c'))).toBeNull();

      // The role is storage's as of the rotation; a disabled user's session does not rotate.
      const successor = { id: winner, secretHash: `hash-${winner}`, clientId: 'gatehouse' };
      await storage.users.update(u.id, { role: 'user', updatedAt: NOW + 2 });
      const demoted = await storage.sessions.rotateCurrent(s.id, successor, next('grandchild', NOW + 3));
      expect(demoted?.role).toBe('user');
      await storage.users.update(u.id, { disabled: true, updatedAt: NOW + 4 });
      expect(await storage.sessions.rotateCurrent(s.id, { ...successor, id: 'grandchild', secretHash: 'hash-grandchild' }, next('never', NOW + 5))).toBeNull();
      expect((await storage.sessions.findById(s.id))?.refreshId).toBe('grandchild');
    });

    it('does not rotate a revoked session', async () => {
      const u = user();
      await storage.users.create(u);
      const { session: s, token } = session(u.id);
      await storage.sessions.create(s, token);
      expect(await storage.sessions.revoke(s.id, NOW + 1)).toBe(true);
      expect(await storage.sessions.revoke(s.id, NOW + 2)).toBe(false);
      expect(await storage.sessions.rotateRefresh(s.id, token.id, { id: 'child', secretHash: 'h', at: NOW + 3 })).toBe(false);
      expect(await storage.sessions.rotateCurrent(s.id, { id: token.id, secretHash: 'hash-0', clientId: 'gatehouse' }, { id: 'child', secretHash: 'h', at: NOW + 3 })).toBeNull();
      expect((await storage.sessions.findById(s.id))?.revokedAt).toBe(NOW + 1);
    });

    it('deletes sessions that ended before a time, with their refresh tokens', async () => {
      const u = user();
      await storage.users.create(u);
      const live = session(u.id);
      const expired = session(u.id, { expiresAt: NOW - 10 });
      const revoked = session(u.id, { revokedAt: NOW - 10 });
      const recentlyRevoked = session(u.id, { revokedAt: NOW + 10 });
      for (const x of [live, expired, revoked, recentlyRevoked]) await storage.sessions.create(x.session, x.token);
      expect(await storage.sessions.deleteEndedBefore(NOW)).toBe(2);
      expect(await storage.sessions.findById(expired.session.id)).toBeNull();
      expect(await storage.sessions.findByRefreshToken(revoked.token.id)).toBeNull();
      expect(await storage.sessions.findById(live.session.id)).not.toBeNull();
      expect(await storage.sessions.findById(recentlyRevoked.session.id)).not.toBeNull();
    });

    it('lists live sessions and revokes all but one', async () => {
      const u = user();
      await storage.users.create(u);
      const a = session(u.id);
      const b = session(u.id);
      const expired = session(u.id, { expiresAt: NOW - 1 });
      for (const x of [a, b, expired]) await storage.sessions.create(x.session, x.token);
      expect((await storage.sessions.listActiveForUser(u.id, NOW)).map((s) => s.id).sort()).toEqual([a.session.id, b.session.id].sort());
      const revoked = await storage.sessions.revokeAllForUser(u.id, NOW, a.session.id);
      expect(revoked.sort()).toEqual([b.session.id, expired.session.id].sort());
      expect((await storage.sessions.listActiveForUser(u.id, NOW)).map((s) => s.id)).toEqual([a.session.id]);
      expect(await storage.sessions.revokeAllForUser(u.id, NOW)).toEqual([a.session.id]);
    });

    it("revokes every live session of one client, whoever's, and only those", async () => {
      const [u, v] = [user(), user()];
      for (const x of [u, v]) await storage.users.create(x);
      const mine = [session(u.id, { clientId: 'gone' }), session(v.id, { clientId: 'gone' })];
      const other = session(u.id, { clientId: 'kept' });
      for (const x of [...mine, other]) await storage.sessions.create(x.session, x.token);
      const revoked = await storage.sessions.revokeAllForClient('gone', NOW);
      expect(revoked.sort((a, b) => a.id.localeCompare(b.id))).toEqual(mine.map((x) => ({ id: x.session.id, userId: x.session.userId })).sort((a, b) => a.id.localeCompare(b.id)));
      expect((await storage.sessions.findById(other.session.id))?.revokedAt).toBeNull();
      expect(await storage.sessions.revokeAllForClient('gone', NOW)).toEqual([]);
    });
  });

  describe('items', () => {
    it('creates, refuses duplicates, updates only for the expected owner, deletes', async () => {
      const owner = user();
      const other = user();
      await storage.users.create(owner);
      await storage.users.create(other);
      await storage.items.create(item(owner.id, 'lamp', 1999));
      await expect(storage.items.create(item(other.id, 'lamp'))).rejects.toMatchObject({ code: 'ERR_ITEM_CONFLICT' });
      expect(await storage.items.update('lamp', other.id, { priceCents: 1, updatedAt: NOW + 1 })).toBeNull();
      const updated = await storage.items.update('lamp', owner.id, { priceCents: 2500, description: 'bright', updatedAt: NOW + 1 });
      expect(updated).toMatchObject({ name: 'lamp', priceCents: 2500, description: 'bright', ownerId: owner.id, updatedAt: NOW + 1 });
      const renamed = await storage.items.update('lamp', owner.id, { name: 'lantern', updatedAt: NOW + 2 });
      expect(renamed?.name).toBe('lantern');
      expect(await storage.items.delete('lantern', other.id)).toBe(false);
      expect(await storage.items.delete('lantern', owner.id)).toBe(true);
      expect(await storage.items.findByName('lantern')).toBeNull();
    });

    it('keeps large prices exact', async () => {
      const owner = user();
      await storage.users.create(owner);
      await storage.items.create(item(owner.id, 'big', 99_999_999_999_999));
      expect((await storage.items.findByName('big'))?.priceCents).toBe(99_999_999_999_999);
    });

    it('pages by name and filters by owner', async () => {
      const a = user();
      const b = user();
      await storage.users.create(a);
      await storage.users.create(b);
      for (const n of ['c', 'a', 'e', 'b', 'd']) await storage.items.create(item(n < 'c' ? a.id : b.id, n));
      const first = await storage.items.list({ limit: 2 });
      expect(first.items.map((i) => i.name)).toEqual(['a', 'b']);
      const second = await storage.items.list({ limit: 2, after: first.next! });
      expect(second.items.map((i) => i.name)).toEqual(['c', 'd']);
      const last = await storage.items.list({ limit: 2, after: second.next! });
      expect(last).toEqual({ items: [expect.objectContaining({ name: 'e' })], next: null });
      expect((await storage.items.list({ limit: 10, ownerId: a.id })).items.map((i) => i.name)).toEqual(['a', 'b']);
    });
  });

  describe('audit', () => {
    it('appends and lists newest first, by user (actor or subject) and by type, with a cursor', async () => {
      const at = (n: number) => NOW + n;
      const event = (n: number, type: 'login.failed' | 'logout', actorId: string | null, subjectId: string | null) => ({
        id: newId(at(n)),
        at: at(n),
        type,
        actorId,
        subjectId,
        ip: '::1',
        userAgent: 'ua',
        requestId: `r${n}`,
        details: { n, ok: true, none: null },
      });
      const events = [event(1, 'login.failed', null, 'u1'), event(2, 'logout', 'u1', 'u1'), event(3, 'logout', 'admin', 'u2'), event(4, 'login.failed', 'u1', 'u3')];
      for (const e of events) await storage.audit.append(e);
      const all = await storage.audit.list({ limit: 10 });
      expect(all.items.map((e) => e.requestId)).toEqual(['r4', 'r3', 'r2', 'r1']);
      expect(all.items[3]).toEqual(events[0]);
      expect((await storage.audit.list({ limit: 10, userId: 'u1' })).items.map((e) => e.requestId)).toEqual(['r4', 'r2', 'r1']);
      expect((await storage.audit.list({ limit: 10, type: 'logout' })).items.map((e) => e.requestId)).toEqual(['r3', 'r2']);
      const first = await storage.audit.list({ limit: 2 });
      expect(first.next).toBe(events[2]!.id);
      expect((await storage.audit.list({ limit: 2, before: first.next! })).items.map((e) => e.requestId)).toEqual(['r2', 'r1']);
      // A range over ids (the admin console's time filter): `from` inclusive, `before` exclusive.
      expect((await storage.audit.list({ limit: 10, from: events[1]!.id, before: events[3]!.id })).items.map((e) => e.requestId)).toEqual(['r3', 'r2']);
      expect((await storage.audit.list({ limit: 1, from: events[1]!.id, userId: 'u1' })).items.map((e) => e.requestId)).toEqual(['r4']);
    });
  });

  describe('second factors (MFA-01..07)', () => {
    const factor = (userId: string, overrides: Partial<MfaFactor> = {}): MfaFactor => ({
      id: newId(NOW),
      userId,
      type: 'totp',
      name: 'Phone',
      confirmed: false,
      createdAt: NOW,
      lastUsedAt: null,
      secretSealed: 'v1.k.n.b',
      lastStep: null,
      credentialId: null,
      publicKey: null,
      signCount: null,
      transports: [],
      backupEligible: null,
      backupState: null,
      ...overrides,
    });

    it('MFA-01: a TOTP step is accepted once, and only when later than the last one', async () => {
      const u = user();
      await storage.users.create(u);
      const f = factor(u.id);
      await storage.factors.create(f);
      expect(await storage.factors.useStep(f.id, 100, NOW)).toBe(false); // pending
      expect(await storage.factors.confirm(f.id, 100, NOW)).toBe(true);
      expect(await storage.factors.confirm(f.id, 100, NOW)).toBe(false);
      const results = await Promise.all([101, 101, 101].map((step) => storage.factors.useStep(f.id, step, NOW + 1)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await storage.factors.useStep(f.id, 100, NOW + 2)).toBe(false);
      expect(await storage.factors.findById(f.id)).toMatchObject({ confirmed: true, lastStep: 101, lastUsedAt: NOW + 1 });
    });

    it('MFA-06: a credential belongs to one user; its counter moves by compare-and-swap; flags and transports are kept', async () => {
      const [a, b] = [user(), user()];
      await storage.users.create(a);
      await storage.users.create(b);
      const pk = factor(a.id, {
        type: 'webauthn',
        confirmed: true,
        secretSealed: null,
        credentialId: 'cred-1',
        publicKey: 'pk',
        signCount: 3,
        transports: ['internal', 'hybrid'],
        backupEligible: true,
        backupState: false,
      });
      await storage.factors.create(pk);
      await expect(storage.factors.create(factor(b.id, { type: 'webauthn', confirmed: true, credentialId: 'cred-1' }))).rejects.toBeInstanceOf(ConflictError);
      expect(await storage.factors.findByCredentialId('cred-1')).toEqual(pk);
      expect(await storage.factors.useCredential(pk.id, 3, { signCount: 4, backupState: true }, NOW + 5)).toBe(true);
      expect(await storage.factors.useCredential(pk.id, 3, { signCount: 5, backupState: true }, NOW + 6)).toBe(false);
      expect(await storage.factors.findById(pk.id)).toMatchObject({ signCount: 4, backupState: true, lastUsedAt: NOW + 5 });
      expect((await storage.factors.listConfirmed(a.id)).map((f) => f.id)).toEqual([pk.id]);
    });

    it('MFA-03: recovery codes are used once, replaced together, and leave with the last factor', async () => {
      const u = user();
      await storage.users.create(u);
      const f = factor(u.id, { confirmed: true });
      await storage.factors.create(f);
      await storage.recoveryCodes.replace(u.id, ['h1', 'h2', 'h3'], NOW);
      const uses = await Promise.all([1, 2, 3].map(() => storage.recoveryCodes.use(u.id, 'h1', NOW)));
      expect(uses.filter(Boolean)).toHaveLength(1);
      expect(await storage.recoveryCodes.countUnused(u.id)).toBe(2);
      await storage.recoveryCodes.replace(u.id, ['h4'], NOW);
      expect(await storage.recoveryCodes.use(u.id, 'h2', NOW)).toBe(false);
      expect(await storage.recoveryCodes.countUnused(u.id)).toBe(1);
      expect(await storage.factors.delete(f.id, 'someone-else')).toBe(false);
      expect(await storage.factors.delete(f.id, u.id)).toBe(true);
      expect(await storage.recoveryCodes.countUnused(u.id)).toBe(0);
      await storage.factors.create(factor(u.id, { confirmed: true }));
      await storage.recoveryCodes.replace(u.id, ['h5'], NOW);
      expect(await storage.factors.deleteAllForUser(u.id)).toBe(1);
      expect(await storage.recoveryCodes.countUnused(u.id)).toBe(0);
    });

    it("MFA-07: two removals at once of a passkey-only user's last two passkeys: one passes, the other is refused", async () => {
      const u = user();
      await storage.users.create(u);
      const passkey = (cred: string) => factor(u.id, { type: 'webauthn', confirmed: true, secretSealed: null, credentialId: cred, publicKey: 'pk', signCount: 0 });
      const [a, b] = [passkey('cred-a'), passkey('cred-b')];
      await storage.factors.create(a);
      await storage.factors.create(b);
      await storage.recoveryCodes.replace(u.id, ['h1'], NOW);
      const results = await Promise.allSettled([a, b].map((f) => storage.factors.delete(f.id, u.id, { keepAnotherPasskey: true })));
      expect(results.filter((r) => r.status === 'fulfilled' && r.value === true)).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected');
      expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(LastSignInMethodError);
      expect(await storage.factors.listConfirmed(u.id)).toHaveLength(1);
      expect(await storage.recoveryCodes.countUnused(u.id)).toBe(1);
      // Without the guard (the user has a password) the last one goes, and its recovery codes with it.
      const [last] = await storage.factors.listConfirmed(u.id);
      expect(await storage.factors.delete(last!.id, 'someone-else', { keepAnotherPasskey: true })).toBe(false);
      expect(await storage.factors.delete(last!.id, u.id)).toBe(true);
      expect(await storage.recoveryCodes.countUnused(u.id)).toBe(0);
    });

    it('MFA-04/06: a challenge is consumed once and not after it expires; sessions record a new proof', async () => {
      const u = user();
      await storage.users.create(u);
      const c = { id: 'ch-1', kind: 'mfa' as const, userId: u.id, secretHash: 'h', data: { amr: ['pwd'] }, expiresAt: NOW + 1000, createdAt: NOW };
      await storage.challenges.create(c);
      expect(await storage.challenges.find('ch-1', NOW)).toEqual(c);
      expect(await storage.challenges.find('ch-1', NOW + 1000)).toBeNull();
      expect((await Promise.all([1, 2].map(() => storage.challenges.consume('ch-1', NOW)))).filter(Boolean)).toHaveLength(1);
      await storage.challenges.create({ ...c, id: 'ch-2' });
      expect(await storage.challenges.consume('ch-2', NOW + 1000)).toBe(false);
      expect(await storage.challenges.deleteExpired(NOW + 1000)).toBe(1);

      const { session: s, token } = session(u.id);
      await storage.sessions.create(s, token);
      expect(await storage.sessions.findById(s.id)).toMatchObject({ authTime: NOW, amr: ['pwd'], acr: 'aal1' });
      expect(await storage.sessions.recordAuthentication(s.id, { authTime: NOW + 9, amr: ['pwd', 'otp', 'mfa'], acr: 'aal2' })).toBe(true);
      expect(await storage.sessions.findWithUser(s.id)).toMatchObject({ session: { authTime: NOW + 9, amr: ['pwd', 'otp', 'mfa'], acr: 'aal2' } });
      await storage.sessions.revoke(s.id, NOW);
      expect(await storage.sessions.recordAuthentication(s.id, { authTime: NOW + 10, amr: ['pwd'], acr: 'aal1' })).toBe(false);
    });
  });

  describe('linked identities and stored providers (federation)', () => {
    const identity = (userId: string, subject: string, provider = 'idp', issuer = 'https://idp.example') => ({
      id: newId(NOW),
      userId,
      provider,
      issuer,
      subject,
      email: `${subject}@up.example`,
      createdAt: NOW,
      lastUsedAt: NOW,
    });

    it('FED-02: links, finds by (provider, issuer, subject), lists per user, touches, and unlinks only the owner’s', async () => {
      const a = user();
      const b = user();
      await storage.users.create(a);
      await storage.users.create(b);
      const first = identity(a.id, 'sub-1');
      await storage.identities.link(first);
      await storage.identities.link(identity(a.id, 'sub-1', 'other-idp'));
      expect(await storage.identities.findBySubject('idp', 'https://idp.example', 'sub-1')).toEqual(first);
      expect(await storage.identities.findBySubject('idp', 'https://idp.example', 'sub-2')).toBeNull();
      // FED-02: one upstream account, one user.
      await expect(storage.identities.link(identity(b.id, 'sub-1'))).rejects.toMatchObject({ code: 'ERR_SSO_IDENTITY_TAKEN' });
      // FED-02: the same subject at another issuer (the provider id re-pointed) is another account.
      const elsewhere = identity(b.id, 'sub-1', 'idp', 'https://other-issuer.example');
      await storage.identities.link(elsewhere);
      expect(await storage.identities.findBySubject('idp', 'https://other-issuer.example', 'sub-1')).toEqual(elsewhere);
      expect(await storage.identities.findBySubject('idp', 'https://idp.example', 'sub-1')).toEqual(first);
      await storage.identities.touch(first.id, NOW + 9, 'new@up.example');
      expect(await storage.identities.findBySubject('idp', 'https://idp.example', 'sub-1')).toMatchObject({ lastUsedAt: NOW + 9, email: 'new@up.example' });
      expect((await storage.identities.listForUser(a.id)).map((i) => i.provider).sort()).toEqual(['idp', 'other-idp']);
      expect(await storage.identities.unlink(b.id, first.id)).toBe(false);
      expect(await storage.identities.unlink(a.id, first.id)).toBe(true);
      expect(await storage.identities.listForUser(a.id)).toHaveLength(1);
      // They go with their user.
      await storage.users.delete(a.id);
      expect(await storage.identities.findBySubject('other-idp', 'https://idp.example', 'sub-1')).toBeNull();
    });

    it('MFA-07: two concurrent unlinks that each keep another identity cannot remove both (check and delete atomic)', async () => {
      for (let round = 0; round < 3; round++) {
        const a = user();
        await storage.users.create(a);
        const pair = [identity(a.id, `race-${round}-1`), identity(a.id, `race-${round}-2`)];
        for (const i of [...pair, identity(a.id, `race-${round}-3`, 'removed-idp')]) await storage.identities.link(i);
        const results = await Promise.all(pair.map((i) => storage.identities.unlink(a.id, i.id, { keepAnotherOf: ['idp'] })));
        expect(results.filter(Boolean)).toHaveLength(1);
        // An identity of a provider not listed does not count as another.
        expect((await storage.identities.listForUser(a.id)).map((i) => i.provider).sort()).toEqual(['idp', 'removed-idp']);
      }
    });

    it('FED-03: a user created with its identity is written whole or not at all', async () => {
      const owner = user();
      await storage.users.create(owner);
      await storage.identities.link(identity(owner.id, 'taken'));
      const newcomer = user();
      // The identity is taken: neither row is written.
      await expect(storage.users.create(newcomer, undefined, identity(newcomer.id, 'taken'))).rejects.toMatchObject({ code: 'ERR_SSO_IDENTITY_TAKEN' });
      expect(await storage.users.findById(newcomer.id)).toBeNull();
      await storage.users.create(newcomer, undefined, identity(newcomer.id, 'fresh'));
      expect((await storage.identities.findBySubject('idp', 'https://idp.example', 'fresh'))?.userId).toBe(newcomer.id);
    });

    it('stores providers, refuses a second with the same id, removes', async () => {
      const row = { id: 'corp', settings: '{"id":"corp"}', clientSecretSealed: 'v1.k.n.b', createdAt: NOW };
      await storage.providers.add(row);
      await expect(storage.providers.add(row)).rejects.toMatchObject({ code: 'ERR_SSO_PROVIDER_CONFLICT' });
      expect(await storage.providers.list()).toEqual([row]);
      expect(await storage.providers.remove('corp')).toBe(true);
      expect(await storage.providers.remove('corp')).toBe(false);
      expect(await storage.providers.list()).toEqual([]);
    });
  });

  describe('keys and settings', () => {
    it('stores keys, lists the usable ones newest first, retires', async () => {
      const older = generateSigningKey('EdDSA', NOW);
      const newer = { ...generateSigningKey('ES256', NOW + 1000) };
      await storage.keys.insert(older);
      await storage.keys.insert(newer);
      await storage.keys.insert(older); // a second instance racing to insert the same key
      expect((await storage.keys.listUsable()).map((k) => k.kid)).toEqual([newer.kid, older.kid]);
      expect((await storage.keys.listUsable())[1]).toEqual(older);
      expect(await storage.keys.setStatus(older.kid, 'retired', NOW + 5)).toBe(true);
      expect((await storage.keys.listUsable()).map((k) => k.kid)).toEqual([newer.kid]);
      expect((await storage.keys.listAll()).find((k) => k.kid === older.kid)).toMatchObject({ status: 'retired', retiredAt: NOW + 5 });
    });

    it('getOrCreate keeps the first value written', async () => {
      expect(await storage.settings.getOrCreate('k', 'first')).toBe('first');
      expect(await storage.settings.getOrCreate('k', 'second')).toBe('first');
    });

    it('answers ping', async () => {
      await expect(storage.ping()).resolves.toBeUndefined();
    });
  });

  describe('OAuth provider (clients, codes, consents, ID-token keys)', () => {
    const client = (id: string, overrides: Partial<OAuthClient> = {}): OAuthClient => ({
      id,
      name: `Client ${id}`,
      type: 'confidential',
      firstParty: false,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['a.b'],
      secretHashes: ['h1', 'h2'],
      redirectUris: ['https://app.example/cb'],
      postLogoutRedirectUris: [],
      idTokenAlg: 'RS256',
      createdAt: NOW,
      updatedAt: NOW,
      ...overrides,
    });

    it('stores clients whole, pages them by id, refuses a duplicate id, updates and deletes', async () => {
      for (const id of ['c1', 'c2', 'c3']) await storage.clients.create(client(id));
      expect(await storage.clients.findById('c2')).toEqual(client('c2'));
      await expect(storage.clients.create(client('c2'))).rejects.toMatchObject({ code: 'ERR_CLIENT_CONFLICT' });
      const first = await storage.clients.list({ limit: 2 });
      expect(first.items.map((c) => c.id)).toEqual(['c1', 'c2']);
      expect((await storage.clients.list({ limit: 2, after: first.next! })).items.map((c) => c.id)).toEqual(['c3']);
      expect(await storage.clients.update(client('c1', { name: 'Renamed', firstParty: true, secretHashes: ['h3'], updatedAt: NOW + 1 }))).toBe(true);
      expect(await storage.clients.findById('c1')).toMatchObject({ name: 'Renamed', firstParty: true, secretHashes: ['h3'], updatedAt: NOW + 1 });
      expect(await storage.clients.delete('c1')).toBe(true);
      expect(await storage.clients.findById('c1')).toBeNull();
      expect(await storage.clients.update(client('c1'))).toBe(false);
    });

    it('OIDC-03: a code is redeemed once however many race; a request is taken once', async () => {
      const u = user();
      await storage.users.create(u);
      await storage.clients.create(client('rp'));
      const code = {
        id: 'code-hash',
        clientId: 'rp',
        userId: u.id,
        redirectUri: 'https://app.example/cb',
        codeChallenge: 'c'.repeat(43),
        scope: 'openid',
        nonce: null,
        authTime: NOW,
        amr: ['pwd'],
        browserSessionId: 'bs',
        createdAt: NOW,
        expiresAt: NOW + 60_000,
        usedAt: null,
        sessionId: null,
        replayedAt: null,
      };
      await storage.authorizations.saveCode(code);
      expect(await storage.authorizations.findCode('code-hash')).toEqual(code);
      const results = await Promise.all(['s1', 's2', 's3'].map((s) => storage.authorizations.redeemCode('code-hash', s, NOW + 1)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const used = await storage.authorizations.findCode('code-hash');
      expect(used?.usedAt).toBe(NOW + 1);
      expect(['s1', 's2', 's3'][results.indexOf(true)]).toBe(used?.sessionId);
      // OIDC-03: a replay is recorded once, at its first time.
      expect(used?.replayedAt).toBeNull();
      await storage.authorizations.markCodeReplayed('code-hash', NOW + 2);
      await storage.authorizations.markCodeReplayed('code-hash', NOW + 3);
      expect((await storage.authorizations.findCode('code-hash'))?.replayedAt).toBe(NOW + 2);
      const request = {
        id: 'req',
        clientId: 'rp',
        redirectUri: 'https://app.example/cb',
        scope: 'openid',
        state: 's',
        nonce: 'n',
        codeChallenge: 'c'.repeat(43),
        prompt: ['login'],
        maxAge: 0,
        loginHint: null,
        createdAt: NOW,
        expiresAt: NOW + 600_000,
      };
      await storage.authorizations.saveRequest(request);
      expect(await storage.authorizations.findRequest('req')).toEqual(request);
      expect(await Promise.all([storage.authorizations.takeRequest('req'), storage.authorizations.takeRequest('req')])).toEqual(expect.arrayContaining([true, false]));
      // A revoked client-credentials token is recorded once (a second revocation is harmless) until it would have expired.
      await storage.authorizations.revokeClientToken('jti-1', 'rp', NOW + 60_000);
      await storage.authorizations.revokeClientToken('jti-1', 'rp', NOW + 60_000);
      await storage.authorizations.revokeClientToken('jti-2', 'rp', NOW + 600_000);
      expect(await storage.authorizations.isClientTokenRevoked('jti-1')).toBe(true);
      expect(await storage.authorizations.isClientTokenRevoked('jti-3')).toBe(false);
      expect(await storage.authorizations.deleteExpired(NOW + 120_000)).toBe(2);
      expect(await storage.authorizations.findCode('code-hash')).toBeNull();
      expect(await storage.authorizations.isClientTokenRevoked('jti-1')).toBe(false);
      expect(await storage.authorizations.isClientTokenRevoked('jti-2')).toBe(true);
    });

    it('OIDC-07: one consent per user and client, replaced on save; gone with the client', async () => {
      const u = user();
      await storage.users.create(u);
      await storage.clients.create(client('rp'));
      await storage.consents.save({ userId: u.id, clientId: 'rp', scope: 'openid', createdAt: NOW, updatedAt: NOW });
      await storage.consents.save({ userId: u.id, clientId: 'rp', scope: 'email openid', createdAt: NOW + 5, updatedAt: NOW + 5 });
      expect(await storage.consents.find(u.id, 'rp')).toEqual({ userId: u.id, clientId: 'rp', scope: 'email openid', createdAt: NOW, updatedAt: NOW + 5 });
      expect(await storage.consents.listForUser(u.id)).toHaveLength(1);
      await storage.clients.delete('rp');
      expect(await storage.consents.find(u.id, 'rp')).toBeNull();
      expect(await storage.consents.delete(u.id, 'rp')).toBe(false);
    });

    it('OIDC-04: ID-token keys are kept apart from the access-token keys', async () => {
      const key = { kid: 'id-key', alg: 'RS256' as const, privateKeyPem: 'pem', publicJwk: { kty: 'RSA' }, createdAt: NOW, status: 'active' as const, retiredAt: null };
      await storage.idTokenKeys.insertFirst(key);
      await storage.idTokenKeys.insertFirst({ ...key, kid: 'second' });
      expect((await storage.idTokenKeys.listUsable()).map((k) => k.kid)).toEqual(['id-key']);
      expect((await storage.keys.listAll()).map((k) => k.kid)).not.toContain('id-key');
    });
  });
});
