import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GENERATED, generateApiTypes } from '../scripts/openapi-types.js';
import { buildClient, PACKAGE_DIR } from './helpers.js';

describe('@gatehouse/client as published', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-client-pack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('its types are generated from the OpenAPI document the service serves (run `npm run generate -w @gatehouse/client` if this fails)', async () => {
    const expected = await generateApiTypes();
    // Compared as text: any change of the served document, however small, shows here.
    expect(readFileSync(GENERATED, 'utf8') === expected, 'packages/client/src/generated/api.ts is stale: npm run generate -w @gatehouse/client').toBe(true);
  });

  it('packs into a tarball of dist/ with declarations, which installs, imports and type-checks in a fresh project', async () => {
    // The package as npm pack sees it, built the way `prepack` builds it.
    const staged = join(dir, 'staged');
    mkdirSync(staged);
    for (const file of ['package.json', 'README.md']) cpSync(join(PACKAGE_DIR, file), join(staged, file));
    await buildClient(join(staged, 'dist'));
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: staged, encoding: 'utf8' })) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed!.files.map((f) => f.path).sort();
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/generated/api.d.ts');
    expect(files).toContain('README.md');
    expect(files.filter((f) => !/^(dist\/.*\.(js|d\.ts)|README\.md|package\.json)$/.test(f))).toEqual([]);

    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, packed!.filename)], { cwd: app, stdio: 'pipe' });
    const loaded = execFileSync(process.execPath, ['--input-type=module', '-e', "import * as m from '@gatehouse/client'; console.log(Object.keys(m).sort().join(','))"], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(loaded.trim()).toBe('CLIENT_ERROR_CODES,GatehouseError,createClient');

    // A TypeScript consumer resolves the declarations through `exports`.
    writeFileSync(
      join(app, 'main.ts'),
      [
        "import { createClient, GatehouseError, type SignInResult, type User } from '@gatehouse/client';",
        "import type { paths } from '@gatehouse/client/api';",
        "const client = createClient({ baseUrl: 'https://auth.example.com', mode: 'cookie' });",
        "const result: SignInResult = await client.signIn({ login: 'ada', password: 'pw' });",
        "if (result.status === 'signed-in') { const user: User = result.user; console.log(user.username); }",
        "else if (result.status === 'mfa-required') console.log(result.mfaToken, result.methods);",
        "type Me = paths['/auth/me']['get']['responses'][200]['content']['application/json'];",
        'export const name = (me: Me) => me.username;',
        'export const code = (e: unknown) => (e instanceof GatehouseError ? e.code : null);',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], strict: true, noEmit: true, types: [] },
        files: ['main.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8' });
  }, 120_000);
});
