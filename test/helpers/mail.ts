import { simpleParser, type ParsedMail } from 'mailparser';
import { spawn } from 'node:child_process';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { OutboxEntry } from '../../src/core/model.js';
import { createMailSender } from '../../src/mail/create-sender.js';
import type { OutboxSender } from '../../src/mail/outbox-sender.js';
import { systemClock, type Clock } from '../../src/core/ports.js';
import type { Services } from '../../src/services.js';
import type { TestApp } from './app.js';
import { freePort } from './server.js';

export { freePort } from './server.js';

export interface ReceivedMail {
  readonly envelopeTo: string[];
  readonly raw: string;
  readonly parsed: ParsedMail;
}

/**
 * A real SMTP server (smtp-server) on a local port; what arrives is parsed with mailparser.
 * It can be stopped and started again on the same port, to play an outage.
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  private server: SMTPServer | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    readonly port: number,
    private readonly options: Partial<SMTPServerOptions> = {},
  ) {}

  static async start(options: Partial<SMTPServerOptions> = {}): Promise<TestSmtpServer> {
    const server = new TestSmtpServer(await freePort(), options);
    await server.start();
    return server;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      ...this.options,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          void simpleParser(raw).then((parsed) => {
            this.received.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), raw, parsed });
            callback();
            for (const wake of this.waiters.splice(0)) wake();
          }, callback);
        });
      },
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Waits until `count` messages arrived in all (or fails after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 15_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} messages, got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  to(address: string): ReceivedMail[] {
    return this.received.filter((m) => m.envelopeTo.includes(address));
  }
}

const quiet = { info() {}, warn() {}, error() {} };

/** A sender on the real clock with short retry delays, sending to SMTP_URL (or the development outbox). */
export function testSender(services: Services, options: { retryBaseMs?: number; clock?: Clock } = {}): OutboxSender {
  return createMailSender(services, quiet, { clock: options.clock ?? systemClock, pollMs: 50, retryBaseMs: options.retryBaseMs ?? 100, retryMaxMs: 400 });
}

/** The token a link carries after `#param=`. */
export function tokenIn(text: string, param = 'token'): string {
  const match = new RegExp(`#${param}=([A-Za-z0-9_.-]+)`).exec(text);
  if (!match) throw new Error(`no #${param}= link in:\n${text}`);
  return match[1]!;
}

/** Every message queued so far, oldest first (the development outbox). */
export async function queued(t: TestApp, filter: { to?: string; kind?: string } = {}): Promise<OutboxEntry[]> {
  await t.services.email.idle();
  const out: OutboxEntry[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await t.storage.outbox.list({ limit: 100, before });
    out.push(...page.items);
    if (!page.next) break;
    before = page.next;
  }
  return out.reverse().filter((m) => (filter.to === undefined || m.to === filter.to) && (filter.kind === undefined || m.kind === filter.kind));
}

/** The one message of `kind` queued for `to` most recently. */
export async function lastMail(t: TestApp, to: string, kind: string): Promise<OutboxEntry> {
  const all = await queued(t, { to, kind });
  if (all.length === 0) throw new Error(`no ${kind} message for ${to}`);
  return all[all.length - 1]!;
}

/** Runs the CLI without blocking this process (an in-process SMTP server must keep answering). */
export function runCliAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
