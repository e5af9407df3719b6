import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The dependency direction of shared/STYLE.md, checked on every file in src/: `http → core ←
 * storage`, `cli → core + storage`, and only the wiring (server.ts, services.ts, cli/, and the
 * cluster primary, which is the composition root of WORKERS=N) puts the pieces together. Core
 * depends on nothing of the project's but its own files.
 */

type Layer = 'core' | 'config' | 'storage' | 'views' | 'http' | 'mail' | 'metrics' | 'services' | 'cluster' | 'server' | 'cli';

/** Which layer a file of src/ belongs to; null for a file no rule covers (the test then fails). */
function layerOf(file: string): Layer | null {
  const top = file.split('/')[0]!;
  const byFolder: Record<string, Layer> = { core: 'core', config: 'config', storage: 'storage', views: 'views', http: 'http', mail: 'mail', cluster: 'cluster', cli: 'cli' };
  // An import names the compiled file (`./services.js`) of the source (`services.ts`).
  const byFile: Record<string, Layer> = { services: 'services', server: 'server', metrics: 'metrics' };
  return file.includes('/') ? (byFolder[top] ?? null) : (byFile[top.replace(/\.[cm]?[jt]s$/, '')] ?? null);
}

/**
 * What each layer may import besides npm packages and node built-ins: `value` at run time, `types`
 * only in `import type` (erased when compiled: the HTTP layer names the Services it is given, but
 * does not build them). A layer not listed for another may not import it at all.
 */
const ALLOWED: Record<Layer, { value: readonly Layer[]; types?: readonly Layer[] }> = {
  // The domain: no Fastify, no SQL, no configuration (services.ts maps Config into plain settings).
  core: { value: ['core'] },
  // Reads and validates the environment; knows nothing else.
  config: { value: ['config'] },
  // Adapters for core's ports; told their deadlines in config's terms.
  storage: { value: ['storage', 'core'], types: ['config'] },
  // The mail adapter (outbox sender, transports): like storage, an adapter for a core port.
  mail: { value: ['mail', 'core', 'config'], types: ['services'] },
  // How records are shown to operators, shared by the HTTP API and the CLI.
  views: { value: ['views', 'core'] },
  http: { value: ['http', 'core', 'config', 'views'], types: ['services', 'metrics'] },
  metrics: { value: ['metrics', 'core'], types: ['services'] },
  // The wiring: config → plain settings, storage → services.
  services: { value: ['services', 'core', 'config', 'storage', 'mail'] },
  // The primary of WORKERS=N prepares storage and forks; the workers' IPC adapters implement core's ports.
  cluster: { value: ['cluster', 'core', 'config', 'storage', 'services'] },
  server: { value: ['server', 'core', 'config', 'storage', 'services', 'http', 'metrics', 'cluster', 'mail'] },
  // Commands call core + storage through services, and start the server; never an HTTP route.
  cli: { value: ['cli', 'core', 'config', 'storage', 'services', 'views', 'server', 'cluster', 'mail'] },
};

interface Import {
  readonly specifier: string;
  readonly typeOnly: boolean;
}

/** Every module a file names: static imports and re-exports, `import()`, and `typeof import()` types. */
function importsOf(path: string, source: string): Import[] {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Import[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const allTypes =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (!clause.name && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)));
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: allTypes });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const allTypes = node.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: allTypes });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The imports that break the table, one line each; `files` maps paths relative to src/ to their text. */
function violations(files: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [file, source] of files) {
    const from = layerOf(file);
    if (from === null) {
      found.push(`${file}: in no layer; add its folder to layerOf and ALLOWED`);
      continue;
    }
    for (const { specifier, typeOnly } of importsOf(file, source)) {
      // npm packages and node built-ins are outside the project.
      if (!specifier.startsWith('.')) continue;
      const target = relative('/src', resolve('/src', dirname(file), specifier));
      const to = target.startsWith('..') ? null : layerOf(target);
      if (to === null) {
        found.push(`${file} → ${specifier}: outside every layer of src/`);
        continue;
      }
      const rule = ALLOWED[from];
      if (rule.value.includes(to) || (typeOnly && rule.types?.includes(to))) continue;
      found.push(`${file} → ${target}: ${from} may not import ${to}${rule.types?.includes(to) ? ' except as `import type`' : ''}`);
    }
  }
  return found;
}

function sourceTree(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|cts|js|mjs)$/.test(entry.name)) files.set(relative(root, path).split('\\').join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(root);
  return files;
}

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

describe('import graph: no layer imports one above it (STYLE.md conventions 1)', () => {
  it('holds for every file in src/', () => {
    const files = sourceTree(SRC);
    expect(files.size).toBeGreaterThan(50);
    expect(violations(files)).toEqual([]);
  });

  it('core depends on nothing of the project but its own files', () => {
    const core = [...sourceTree(SRC)].filter(([file]) => file.startsWith('core/'));
    const outside = core.flatMap(([file, source]) =>
      importsOf(file, source)
        .filter((i) => i.specifier.startsWith('.') && !relative('/src', resolve('/src', dirname(file), i.specifier)).startsWith('core/'))
        .map((i) => `${file} → ${i.specifier}`),
    );
    expect(outside).toEqual([]);
  });

  it('reports what the table forbids (the check itself can fail)', () => {
    const cases = new Map([
      ['core/auth/x.ts', "import type { Config } from '../../config/index.js';"],
      ['storage/sql/x.ts', "import { buildApp } from '../../http/app.js';\nexport { runPrimary } from '../../cluster/primary.js';"],
      [
        'http/routes/x.ts',
        "import { createServices, type Services } from '../../services.js';\nimport type { Services as S } from '../../services.js';\nconst m = await import('../../cli/main.js');",
      ],
      ['cli/x.ts', "import { adminRoutes } from '../http/routes/admin.js';"],
      ['metrics.ts', "import { type X } from './cluster/primary.js';\ntype P = typeof import('./cluster/protocol.js');"],
      ['storage/y.ts', "import type { Timeouts } from '../config/index.js';\nimport { loadConfig } from '../config/index.js';"],
      ['core/z.ts', "import x from '../../package.json';"],
      ['plugins/x.ts', ''],
    ]);
    expect(violations(cases)).toEqual([
      'core/auth/x.ts → config/index.js: core may not import config',
      'storage/sql/x.ts → http/app.js: storage may not import http',
      'storage/sql/x.ts → cluster/primary.js: storage may not import cluster',
      'http/routes/x.ts → services.js: http may not import services except as `import type`',
      'http/routes/x.ts → cli/main.js: http may not import cli',
      'cli/x.ts → http/routes/admin.js: cli may not import http',
      'metrics.ts → cluster/primary.js: metrics may not import cluster',
      'metrics.ts → cluster/protocol.js: metrics may not import cluster',
      'storage/y.ts → config/index.js: storage may not import config except as `import type`',
      'core/z.ts → ../../package.json: outside every layer of src/',
      'plugins/x.ts: in no layer; add its folder to layerOf and ALLOWED',
    ]);
  });
});
