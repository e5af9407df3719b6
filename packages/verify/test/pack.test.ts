import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The package as users get it: `npm pack` (which builds dist/ with tsc), the tarball installed into
 * an empty project, then imported from plain Node ESM, from CommonJS (require of an ES module, Node
 * >= 20.19) and type-checked from TypeScript, each verifying a real HS256 token.
 */

const PACKAGE = resolve(import.meta.dirname, '..');
const ROOT = resolve(PACKAGE, '../..');
const work = mkdtempSync(join(tmpdir(), 'gatehouse-verify-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });

// A consumer's script: signs an access token with node:crypto and verifies it with the package.
const program = (importLine: string) => `${importLine}
const { createHmac } = require_crypto();
const secret = 'x'.repeat(16) + 'a-secret-of-more-than-32-bytes';
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const input = b64({ alg: 'HS256', typ: 'at+jwt' }) + '.' + b64({ iss: 'https://auth.example.com', aud: 'api', sub: 'u1', sid: 's', role: 'admin', client_id: 'gatehouse', scope: 'a b', jti: 'j', iat: now, exp: now + 60 });
const token = input + '.' + createHmac('sha256', secret).update(input).digest('base64url');
const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'api', secret });
verifier.verify(token).then(async (claims) => {
  requireRole('admin')(claims);
  const refused = await verifier.verify(token.slice(0, -2) + 'AA').catch((e) => e.code);
  const answer = await withAuth(verifier, () => new Response('ok'))(new Request('http://x/'));
  console.log(JSON.stringify({ sub: claims.sub, refused, status: answer.status, challenge: answer.headers.get('www-authenticate') }));
});
`;

describe('npm pack', () => {
  let tarball = '';

  it('packs dist/ with declarations, the README and package.json only', () => {
    const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], PACKAGE).replace(/^[^[]*/s, '')) as [{ filename: string; files: { path: string }[] }];
    tarball = join(work, info.filename);
    const files = info.files.map((f) => f.path).sort();
    for (const f of [
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/adapters/fastify.js',
      'dist/adapters/fastify.d.ts',
      'dist/adapters/express.d.ts',
      'dist/adapters/fetch.d.ts',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md')).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || f.includes('test'))).toEqual([]);
  }, 180_000);

  it('installs into an empty project and verifies a token from ESM, CommonJS and TypeScript', () => {
    expect(tarball).not.toBe('');
    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock'], app);

    const esm = program(
      `import { createVerifier, requireRole } from '@gatehouse/verify';\nimport { withAuth } from '@gatehouse/verify/fetch';\nimport * as crypto from 'node:crypto';\nconst require_crypto = () => crypto;`,
    );
    writeFileSync(join(app, 'esm.mjs'), esm);
    const expected = { sub: 'u1', refused: 'ERR_TOKEN_INVALID', status: 401, challenge: 'Bearer' };
    expect(JSON.parse(run(process.execPath, ['esm.mjs'], app))).toEqual(expected);

    const cjs = program(
      `const { createVerifier, requireRole } = require('@gatehouse/verify');\nconst { withAuth } = require('@gatehouse/verify/fetch');\nconst require_crypto = () => require('node:crypto');`,
    );
    writeFileSync(join(app, 'cjs.cjs'), cjs);
    expect(JSON.parse(run(process.execPath, ['--no-warnings', 'cjs.cjs'], app))).toEqual(expected);

    // The declarations resolve through `exports` for a NodeNext TypeScript consumer.
    writeFileSync(
      join(app, 'check.ts'),
      `import { createVerifier, type AccessTokenClaims, type VerifyErrorCode } from '@gatehouse/verify';
import { withAuth } from '@gatehouse/verify/fetch';
const verifier = createVerifier({ issuer: 'https://a.example', audience: 'api' });
const handler: (r: Request) => Promise<Response> = withAuth(verifier, (_r, auth: AccessTokenClaims) => new Response(auth.sub + auth.scope));
const code: VerifyErrorCode = 'ERR_TOKEN_EXPIRED';
export { handler, code };
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: [] },
        files: ['check.ts'],
      }),
    );
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  }, 180_000);
});
