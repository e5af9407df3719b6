import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server.js';

const BOOTSTRAP = { BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_EMAIL: 'root@example.com', BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap admin passphrase' };
const pgUrl = process.env.TEST_DATABASE_URL;

interface Database {
  readonly name: string;
  create(): Promise<{ url: string; drop(): Promise<void> }>;
}

const databases: Database[] = [
  {
    name: 'one SQLite file',
    create: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bootstrap-'));
      return { url: `sqlite:${join(dir, 'g.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  ...(pgUrl
    ? [
        {
          name: 'one Postgres schema',
          create: async () => {
            const schema = `gh_boot_${randomBytes(5).toString('hex')}`;
            const admin = new pg.Client({ connectionString: pgUrl });
            await admin.connect();
            await admin.query(`CREATE SCHEMA ${schema}`);
            await admin.end();
            return {
              url: `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
              drop: async () => {
                const cleanup = new pg.Client({ connectionString: pgUrl });
                await cleanup.connect();
                await cleanup.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
                await cleanup.end();
              },
            };
          },
        },
      ]
    : []),
];

describe.each(databases)('SES-09: two instances with BOOTSTRAP_ADMIN_* start together on $name', (database) => {
  it('SES-09: both start, exactly one creates the admin, and the admin can sign in through either', async () => {
    const { url, drop } = await database.create();
    const started: ServerProcess[] = [];
    try {
      const results = await Promise.allSettled([startServerProcess({ ...BOOTSTRAP, DATABASE_URL: url }), startServerProcess({ ...BOOTSTRAP, DATABASE_URL: url })]);
      for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason).slice(0, 600) : 'started'))).toEqual(['started', 'started']);
      const created = started.flatMap((s) => s.logs.join('').split('\n')).filter((line) => line.includes('created the first admin'));
      expect(created).toHaveLength(1);
      for (const server of started) {
        const login = await fetch(`${server.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ login: 'root', password: BOOTSTRAP.BOOTSTRAP_ADMIN_PASSWORD }),
        });
        expect(login.status).toBe(200);
        expect(((await login.json()) as { user: { role: string } }).user.role).toBe('admin');
      }
    } finally {
      for (const server of started) await server.stop();
      await drop();
    }
  }, 90_000);
});
