/**
 * An API that accepts Gatehouse access tokens from machine clients (client_credentials): verified
 * offline by @gatehouse/verify (JWKS from discovery), and `invoices.read` required.
 *
 *   GATEHOUSE_URL=http://localhost:3000 PORT=4100 npx tsx examples/machine-to-machine/invoice-api.ts
 */
import { createServer, type Server } from 'node:http';
// In your own service: import { createVerifier, requireScope, VerifyError } from '@gatehouse/verify';
import { createVerifier, requireScope, VerifyError } from '../../packages/verify/src/index.js';

export async function startInvoiceApi(options: { issuer: string; audience?: string; port: number }): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const verifier = createVerifier({ issuer: options.issuer, audience: options.audience ?? 'gatehouse' });
  const canRead = requireScope('invoices.read');
  const server = createServer((req, res) => {
    void (async () => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      try {
        if (!token) throw new VerifyError('ERR_TOKEN_MISSING', 'send a Bearer token');
        const claims = await verifier.verify(token);
        canRead(claims);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ caller: claims.sub, client_id: claims.client_id, invoices: [{ id: 1, total: 42 }] }));
      } catch (error) {
        if (!(error instanceof VerifyError)) throw error;
        res.writeHead(error.status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: error.code }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${options.port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const api = await startInvoiceApi({ issuer: process.env.GATEHOUSE_URL ?? 'http://localhost:3000', port: Number(process.env.PORT ?? 4100) });
  console.log(`invoice API at ${api.url}`);
}
