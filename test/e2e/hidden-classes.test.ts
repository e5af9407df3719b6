import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server.js';

const ROOM = 1000;

/**
 * V8 gives `{}` a hidden class by a transition per first property name, and keeps at most 1,536
 * of them; building the app compiles hundreds of schemas whose compilers fill that table with
 * names of objects that are garbage at once. Full, it makes every `{}` that gets a property a new
 * class: each request's headers, each object built that way, so property reads everywhere take
 * V8's slowest path (src/cli/v8-tuning.ts, collectStartupGarbage; measured in bench/README.md).
 * The real serve command, with a probe loaded beside it (test/fixtures/hidden-class-probe.mjs).
 */
describe('hidden classes of a started service', () => {
  let server: ServerProcess;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    server = await startServerProcess(
      { DATABASE_URL: 'sqlite::memory:', RATE_LIMIT: 'off', PROBE_ROOM: String(ROOM) },
      { nodeArgs: ['--allow-natives-syntax', '--import', './test/fixtures/hidden-class-probe.mjs'] },
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  const probe = async (): Promise<string> => {
    const seen = server.logs.length;
    server.child.kill('SIGUSR2');
    for (let i = 0; i < 100; i++) {
      const line = server.logs
        .slice(seen)
        .join('')
        .match(/HIDDEN-CLASSES .*/)?.[0];
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no answer from the probe:\n${server.logs.join('')}`);
  };

  it(`objects built alike share one class after start-up and traffic, with room for ${ROOM} more names`, async () => {
    // Traffic through the routes' validators, serializers and error paths first.
    const account = { username: 'hidden', email: 'hidden@example.com', password: 'hidden classes passphrase' };
    expect((await fetch(`${server.url}/auth/register`, { method: 'POST', headers: json, body: JSON.stringify(account) })).status).toBe(201);
    const login = await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: account.username, password: account.password }) });
    expect(login.status).toBe(200);
    const { access_token: token, refresh_token: refresh } = (await login.json()) as { access_token: string; refresh_token: string };
    const auth = { authorization: `Bearer ${token}` };
    for (let i = 0; i < 20; i++) {
      expect((await fetch(`${server.url}/auth/me`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${server.url}/items`, { method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ name: `thing-${i}`, price: 1 }) })).status).toBe(201);
      expect((await fetch(`${server.url}/items/thing-${i}`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${server.url}/users?limit=20`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${server.url}/items/none-${i}`, { headers: auth })).status).toBe(404);
      expect((await fetch(`${server.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ login: 1 }) })).status).toBe(400);
    }
    expect((await fetch(`${server.url}/auth/refresh`, { method: 'POST', headers: json, body: JSON.stringify({ refresh_token: refresh }) })).status).toBe(200);

    expect(await probe()).toBe(`HIDDEN-CLASSES shared=true shared-after-${ROOM}=true`);
  });
});
