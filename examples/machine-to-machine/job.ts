/**
 * A batch job (a machine client) that gets a token for itself with the client_credentials grant
 * (oauth4webapi) and calls the invoice API with it.
 *
 *   GATEHOUSE_URL=http://localhost:3000 CLIENT_ID=... CLIENT_SECRET=... API_URL=http://127.0.0.1:4100 npx tsx examples/machine-to-machine/job.ts
 *
 * Register it first: gatehouse clients create --name "Billing job" --type confidential --grant client_credentials --scope invoices.read
 */
import * as oauth from 'oauth4webapi';

export async function runJob(options: { issuer: string; clientId: string; clientSecret: string; apiUrl: string; scope?: string }): Promise<{ status: number; body: unknown }> {
  const issuer = new URL(options.issuer);
  const insecure = issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
  const client: oauth.Client = { client_id: options.clientId };
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic(options.clientSecret),
    new URLSearchParams({ scope: options.scope ?? 'invoices.read' }),
    insecure,
  );
  const { access_token } = await oauth.processClientCredentialsResponse(as, client, response);
  const res = await fetch(options.apiUrl, { headers: { authorization: `Bearer ${access_token}` } });
  return { status: res.status, body: await res.json() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runJob({
    issuer: process.env.GATEHOUSE_URL ?? 'http://localhost:3000',
    clientId: process.env.CLIENT_ID ?? '',
    clientSecret: process.env.CLIENT_SECRET ?? '',
    apiUrl: process.env.API_URL ?? 'http://127.0.0.1:4100',
  });
  console.log(JSON.stringify(result));
}
