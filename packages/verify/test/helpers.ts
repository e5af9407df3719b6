import { afterAll, beforeAll } from 'vitest';
import { api, startSecurityServer, type SecurityServer } from '../../../test/security/server.js';

/**
 * A real Gatehouse for the package's tests: the service of this repository (src/ at the root),
 * started as a child process on a free port with its own SQLite file, exactly as the server's own
 * security suite runs it. Tests must run from the repository root (the root `npm test` does).
 */
export { adminLogin, api, signUp, startSecurityServer, type Account, type SecurityServer } from '../../../test/security/server.js';
export { runCli } from '../../../test/helpers/server.js';

export type LiveServer = SecurityServer & { dir: string };

/** One server per describe block: started in beforeAll, stopped in afterAll. */
export function useGatehouse(env: Record<string, string> = {}): { readonly server: LiveServer } {
  let current: LiveServer | undefined;
  beforeAll(async () => {
    current = await startSecurityServer(env);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get server(): LiveServer {
      if (!current) throw new Error('the server is not running');
      return current;
    },
  };
}

/** How many GET /.well-known/jwks.json the server has answered, from its own /metrics. */
export async function jwksFetchesSeenBy(server: SecurityServer): Promise<number> {
  const text = (await api(server, 'GET', '/metrics')).text;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('gatehouse_http_requests_total{') && line.includes('route="/.well-known/jwks.json"')) total += Number(line.split(' ').pop());
  }
  return total;
}

/** The code of the VerifyError a promise rejects with ('' if it resolves, the name for other errors). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return '';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('ERR_') && (error as Error).name.endsWith('Error') && 'status' in (error as object)
      ? code
      : `not a VerifyError: ${String(error)}`;
  }
}

/** Logs in again (one password check, cheaper than a new account). */
export async function login(server: SecurityServer, username: string, password: string): Promise<{ id: string; access: string }> {
  const res = await api(server, 'POST', '/auth/login', { body: { login: username, password } });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`);
  const body = res.json as { access_token: string; user: { id: string } };
  return { id: body.user.id, access: body.access_token };
}
