import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, buildTestApp, signUp, type TestApp, type TestUser } from '../helpers/app.js';

/** The real pino output of the app, line by line, at `level`. */
function capture(level: string) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: { level, stream } };
}

describe.each(['info', 'debug', 'trace'])('SES-06: secrets in a query string never reach a log line (LOG_LEVEL=%s)', (level) => {
  const log = capture(level);
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await buildTestApp({ LOG_LEVEL: level }, { logger: log.logger });
    user = await signUp(t);
  });
  afterAll(() => t.close());

  it('SES-06: tokens and passwords under any parameter name, in any encoding, are redacted from every line', async () => {
    const token = user.accessToken;
    const refresh = user.refreshToken;
    const password = PASSWORD;
    const encoded = encodeURIComponent(password);
    const plus = password.replaceAll(' ', '+');
    const requests: [string, string][] = [
      ['GET', `/auth/me?access_token=${token}`],
      ['GET', `/auth/me?token=${token}&x=1`],
      ['GET', `/auth/me?${token}`],
      ['GET', `/auth/me?access%5Ftoken=${token}`],
      ['GET', `/auth/me?%61ccess_token=${token}`],
      ['GET', `/auth/me?${encodeURIComponent('access_token')}=${encodeURIComponent(token)}#frag`],
      ['POST', `/oauth/token?grant_type=password&username=${user.username}&password=${encoded}`],
      ['POST', `/oauth/token?password=${plus}`],
      ['POST', `/auth/refresh?refresh_token=${refresh}`],
      ['GET', `/users?limit=${encoded}`],
      ['GET', `/users?q=x;api_key=${refresh}`],
      ['GET', `/no/such/route?password=${encoded}`],
      // An encoded question mark is no query to the router, but the secret after it is the same.
      ['GET', `/no/such/route%3faccess_token=${token}`],
      ['GET', `/auth/me%3Faccess_token=${token}`],
      ['GET', `/items?owner=1&${encodeURIComponent(password)}=1`],
    ];
    for (const [method, url] of requests) {
      await t.app.inject({
        method: method as 'GET',
        url,
        headers: url.startsWith('/users') || url.startsWith('/items') ? user.auth : {},
        payload: method === 'POST' ? {} : undefined,
      });
    }
    const output = log.lines.join('\n');
    // The lines exist and name the routes, so their absence of secrets means something.
    const incoming = log.lines.filter((l) => l.includes('"incoming request"'));
    expect(incoming.length).toBeGreaterThanOrEqual(requests.length);
    expect(output).toContain('"url":"/auth/me?access_token=[redacted]"');
    expect(output).toContain('"url":"/oauth/token?grant_type=[redacted]&username=[redacted]&password=[redacted]"');
    expect(output).toContain('"url":"/auth/me?[redacted]"');
    expect(output).toContain('"url":"/auth/me?[redacted]=[redacted]"');
    expect(log.lines.some((l) => l.includes('"request completed"'))).toBe(true);
    const forms = [token, token.split('.')[2]!, refresh, refresh.split('.').at(-1)!, password, encoded, plus, encodeURIComponent(token)];
    for (const secret of forms) expect(output, secret).not.toContain(secret);
    // Not even a piece: the signature part and a password word.
    expect(output).not.toContain('horse');
  });
});
