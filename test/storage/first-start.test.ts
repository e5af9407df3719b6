import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createServices } from '../../src/services.js';
import { openStorage } from '../../src/storage/open.js';

import { CHEAP_ARGON2 } from '../helpers/app.js';

/**
 * Two instances opening one empty database at the same moment (SES-09): both must come up on the
 * same single signing key, or tokens one signs are refused by the other. Run in one process with
 * both start-ups interleaved at every await, which is where the race was.
 */
describe('first start of two instances on one database (SES-09)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-first-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const backends: { name: string; url: () => Promise<{ url: string; schema?: string; drop?: () => Promise<void> }> }[] = [
    { name: 'sqlite', url: async () => ({ url: `sqlite:${join(dir, `${randomBytes(4).toString('hex')}.db`)}` }) },
  ];
  const databaseUrl = process.env.TEST_DATABASE_URL;
  if (databaseUrl) {
    backends.push({
      name: 'postgres',
      url: async () => {
        const schema = `gh_first_${randomBytes(5).toString('hex')}`;
        const admin = new pg.Client({ connectionString: databaseUrl });
        await admin.connect();
        await admin.query(`CREATE SCHEMA ${schema}`);
        await admin.end();
        return {
          url: databaseUrl,
          schema,
          drop: async () => {
            const cleanup = new pg.Client({ connectionString: databaseUrl });
            await cleanup.connect();
            await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
            await cleanup.end();
          },
        };
      },
    });
  }

  for (const backend of backends) {
    it(`${backend.name}: one signing key, the same on both, whatever the interleaving`, async () => {
      for (let round = 0; round < 3; round++) {
        const { url, schema, drop } = await backend.url();
        const config = loadConfig({ DATABASE_URL: url, JWT_ISSUER: 'http://gatehouse.test' });
        const [a, b] = await Promise.all([openStorage(url, { schema }), openStorage(url, { schema })]);
        try {
          const [sa, sb] = await Promise.all([createServices(config, a, { argon2: CHEAP_ARGON2 }), createServices(config, b, { argon2: CHEAP_ARGON2 })]);
          expect(await a.keys.listAll()).toHaveLength(1);
          expect(sa.tokens.keyRing.signingKey.kid).toBe(sb.tokens.keyRing.signingKey.kid);
        } finally {
          await Promise.all([a.close(), b.close()]);
          await drop?.();
        }
      }
    });
  }
});
