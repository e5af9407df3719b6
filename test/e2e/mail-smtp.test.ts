import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATOR } from '../../src/core/users/user-service.js';
import { openStorage } from '../../src/storage/open.js';
import { buildTestApp, PASSWORD, signUp, type TestApp } from '../helpers/app.js';
import { freePort, queued, runCliAsync, testSender, TestSmtpServer, tokenIn } from '../helpers/mail.js';
import { backends } from '../helpers/storage.js';
import type { OutboxSender } from '../../src/mail/outbox-sender.js';

const post = (t: TestApp, url: string, payload?: object, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url, payload, headers });

describe('mail through a real SMTP server', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let sender: OutboxSender;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    t = await buildTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Gatehouse <no-reply@gatehouse.test>' });
    sender = testSender(t.services);
    sender.start();
  });
  afterAll(async () => {
    await sender.stop();
    await t.close();
    await smtp.stop();
  });

  it('EMAIL-01: sign-up sends exactly one verification mail, with text and HTML parts; its link verifies once', async () => {
    const alice = await signUp(t);
    const [mail] = await smtp.waitFor(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.to(alice.email)).toHaveLength(1);
    expect(mail!.parsed.subject).toBe('Confirm your email address for Gatehouse');
    expect(mail!.parsed.from?.text).toContain('no-reply@gatehouse.test');
    expect(mail!.parsed.text).toContain('http://gatehouse.test/ui/verify#token=');
    expect(mail!.parsed.html).toContain('href="http://gatehouse.test/ui/verify#token=');
    const token = tokenIn(mail!.parsed.text!);
    expect((await post(t, '/auth/email/verify', { token })).statusCode).toBe(200);
    expect((await post(t, '/auth/email/verify', { token })).statusCode).toBe(400);
    // Once sent through SMTP, the outbox keeps no body: the link's secret is gone from storage.
    const [row] = await queued(t, { to: alice.email, kind: 'verify_email' });
    expect(row).toMatchObject({ state: 'sent', text: '', html: '' });
  });

  it('EMAIL-04: forgot → mail → reset works once, ends the sessions (old refresh token refused), and the notice arrives', async () => {
    const bob = await signUp(t);
    await post(t, '/auth/password/forgot', { email: bob.email });
    const deadline = Date.now() + 10_000;
    while (!smtp.to(bob.email).some((m) => m.parsed.subject?.startsWith('Reset')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const reset = smtp.to(bob.email).find((m) => m.parsed.subject?.startsWith('Reset'))!;
    const token = tokenIn(reset.parsed.text!);
    expect((await post(t, '/auth/password/reset', { token, new_password: 'a fresh long passphrase' })).statusCode).toBe(204);
    expect((await post(t, '/auth/password/reset', { token, new_password: 'another fresh passphrase' })).statusCode).toBe(400);
    expect((await post(t, '/auth/refresh', { refresh_token: bob.refreshToken })).statusCode).toBe(401);
    while (!smtp.to(bob.email).some((m) => m.parsed.subject?.includes('was changed')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(smtp.to(bob.email).some((m) => m.parsed.subject?.includes('password was changed'))).toBe(true);
  });

  it('EMAIL-05: CR/LF in a name cannot add a header or a recipient', async () => {
    const before = smtp.received.length;
    const user = await t.services.users.create(
      { username: 'crlf_user', email: 'crlf@example.com', password: PASSWORD, name: 'Eve\r\nBcc: victim@example.com\r\nX-Injected: yes' },
      OPERATOR,
    );
    expect(user.name).toContain('\n'); // stored as given through the service (the HTTP schema refuses it)
    const received = await smtp.waitFor(before + 1);
    const mail = received.find((m) => m.envelopeTo.includes('crlf@example.com'))!;
    expect(mail.envelopeTo).toEqual(['crlf@example.com']);
    expect(mail.parsed.headers.has('bcc')).toBe(false);
    expect(mail.parsed.headers.has('x-injected')).toBe(false);
    const headerBlock = mail.raw.split(/\r?\n\r?\n/)[0]!;
    expect(headerBlock).not.toMatch(/^X-Injected/im);
    expect(headerBlock).not.toMatch(/^Bcc/im);
    expect(mail.parsed.to && 'value' in mail.parsed.to ? mail.parsed.to.value.map((a) => a.address) : []).toEqual(['crlf@example.com']);
  });

  it('/ready and /metrics report the outbox', async () => {
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.json().mail).toMatchObject({ transport: 'smtp', depth: expect.any(Number), oldest_due_age_seconds: expect.any(Number) });
  });
});

describe('EMAIL-06: delivery is retried, bounded, and audited', () => {
  it('EMAIL-06: a message refused for good (550 to RCPT) is given up at once, with the reason stored and audited', async () => {
    const smtp = await TestSmtpServer.start({
      onRcptTo: (address, _session, callback) => callback(address.address.startsWith('bounce') ? Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }) : undefined),
    });
    const t = await buildTestApp({ SMTP_URL: smtp.url });
    const sender = testSender(t.services);
    try {
      await t.services.users.create({ username: 'bounce_me', email: 'bounce@example.com', password: PASSWORD });
      await sender.drain();
      const [row] = await queued(t, { to: 'bounce@example.com' });
      expect(row).toMatchObject({ state: 'failed' });
      expect(row!.lastError).toMatch(/550/);
      const audit = await t.services.audit.list({ limit: 10, type: 'mail.failed' });
      expect(audit.items[0]?.details).toMatchObject({ outbox_id: row!.id, kind: 'verify_email' });
    } finally {
      await sender.stop();
      await t.close();
      await smtp.stop();
    }
  });

  it('EMAIL-06: while the server is down a message waits with backoff; after MAIL_GIVE_UP_AFTER it fails with the last error', async () => {
    const port = await freePort();
    const t = await buildTestApp({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_GIVE_UP_AFTER: '1s' });
    // On the test clock: the retry delay and the give-up bound are passed by moving it.
    const sender = testSender(t.services, { retryBaseMs: 100, clock: t.clock });
    try {
      await t.services.users.create({ username: 'waiting', email: 'waiting@example.com', password: PASSWORD });
      await sender.drain();
      let [row] = await queued(t, { to: 'waiting@example.com' });
      expect(row).toMatchObject({ state: 'queued', attempts: 1 });
      expect(row!.lastError).toMatch(/ECONNECTION|refused/);
      // Not due yet: the backoff holds it back.
      await sender.drain();
      expect((await queued(t, { to: 'waiting@example.com' }))[0]).toMatchObject({ state: 'queued', attempts: 1 });
      t.clock.advance(2_000);
      await sender.drain();
      [row] = await queued(t, { to: 'waiting@example.com' });
      expect(row).toMatchObject({ state: 'failed' });
      expect(row!.lastError).toMatch(/gave up after .* last error: .*refused/);
    } finally {
      await sender.stop();
      await t.close();
    }
  });
});

describe.each(backends().map((b) => ({ ...b, label: b.name })))('EMAIL-06 on $label: two instances, the SMTP server down while 20 messages are queued', (backend) => {
  it('EMAIL-06: once it is back, all 20 arrive exactly once (counted by Message-ID)', { timeout: 60_000 }, async () => {
    // Two instances = two storages (two connection pools) over one database, each with its sender.
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-mail-'));
    const opened = backend.name === 'sqlite' ? null : await backend.open();
    const url = opened ? opened.databaseUrl : `sqlite:${join(dir, 'shared.db')}`;
    const storageA = opened ? opened.storage : await openStorage(url);
    const storageB = await openStorage(url, opened?.schema ? { schema: opened.schema } : {});
    const port = await freePort();
    const smtp = new TestSmtpServer(port);
    const env = { SMTP_URL: `smtp://127.0.0.1:${port}` };
    const a = await buildTestApp(env, { storage: storageA });
    const b = await buildTestApp(env, { storage: storageB });
    const senders = [testSender(a.services), testSender(b.services)];
    try {
      for (const s of senders) s.start();
      for (let i = 0; i < 20; i++) await (i % 2 ? a : b).services.users.create({ username: `queued_${i}`, email: `queued${i}@example.com`, password: PASSWORD });
      await new Promise((r) => setTimeout(r, 500));
      expect(smtp.received).toHaveLength(0);
      const waiting = await a.storage.outbox.stats(Date.now() + 3_600_000);
      expect(waiting.depth).toBe(20);
      await smtp.start();
      await smtp.waitFor(20, 30_000);
      // Let any duplicate that might be on its way arrive before counting.
      await new Promise((r) => setTimeout(r, 1_000));
      const ids = smtp.received.map((m) => m.parsed.messageId);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      expect(new Set(smtp.received.flatMap((m) => m.envelopeTo)).size).toBe(20);
      expect((await a.storage.outbox.stats(Date.now() + 3_600_000)).depth).toBe(0);
    } finally {
      for (const s of senders) await s.stop();
      await a.app.close();
      await b.app.close();
      await storageB.close();
      if (opened) await opened.dispose();
      else await storageA.close();
      await smtp.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('gatehouse mail test', () => {
  it('against a server that refuses AUTH: prints the reply code and exits non-zero', async () => {
    const smtp = await TestSmtpServer.start({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth: (_auth, _session, callback) => callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 })),
    });
    try {
      const run = await runCliAsync(['mail', 'test', '--to', 'ops@example.com'], { SMTP_URL: `smtp://someone:wrong@127.0.0.1:${smtp.port}`, DATABASE_URL: 'sqlite::memory:' });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/EAUTH 535/);
      expect(run.stderr).toMatch(/authentication refused/);
      expect(run.stderr).toMatch(/5\.7\.8 Authentication credentials invalid/);
      expect(smtp.received).toHaveLength(0);
    } finally {
      await smtp.stop();
    }
  });

  it('against a working server: sends, prints the reply, exits 0', async () => {
    const smtp = await TestSmtpServer.start();
    try {
      const run = await runCliAsync(['mail', 'test', '--to', 'ops@example.com'], { SMTP_URL: smtp.url, DATABASE_URL: 'sqlite::memory:' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/sent: the server answered 250/);
      expect(smtp.to('ops@example.com')).toHaveLength(1);
    } finally {
      await smtp.stop();
    }
  });

  it('with nothing listening: says the connection was refused, exits non-zero', async () => {
    const port = await freePort();
    const run = await runCliAsync(['mail', 'test', '--to', 'ops@example.com'], { SMTP_URL: `smtp://127.0.0.1:${port}`, DATABASE_URL: 'sqlite::memory:' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/connection failed: the server refused the connection/);
  });
});
