// Generates src/generated/api.ts from the OpenAPI document the service serves at /openapi.json.
// The app is built in-process (never listening) so that generation needs no running server.
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/index.js';
import { buildApp } from '../../../src/http/app.js';
import { createServices } from '../../../src/services.js';
import { openStorage } from '../../../src/storage/open.js';

export const GENERATED = fileURLToPath(new URL('../src/generated/api.ts', import.meta.url));

/** The document a default-configured service serves at /openapi.json. */
export async function servedDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({ DATABASE_URL: 'sqlite::memory:', JWT_ISSUER: 'http://gatehouse.local', RATE_LIMIT: 'off' });
  const storage = await openStorage(config.databaseUrl);
  try {
    const app = await buildApp({ services: await createServices(config, storage) });
    try {
      const res = await app.inject({ method: 'GET', url: '/openapi.json' });
      if (res.statusCode !== 200) throw new Error(`/openapi.json answered ${res.statusCode}`);
      return res.json();
    } finally {
      await app.close();
    }
  } finally {
    await storage.close();
  }
}

/** The TypeScript text of src/generated/api.ts. */
export async function generateApiTypes(): Promise<string> {
  const ast = await openapiTS((await servedDocument()) as unknown as Parameters<typeof openapiTS>[0], { alphabetize: true });
  return `${COMMENT_HEADER.trimEnd()}\n// Regenerate with: npm run generate -w @gatehouse/client (a test fails while this file is stale).\n\n${astToString(ast)}`;
}
