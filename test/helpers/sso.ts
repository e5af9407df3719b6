import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.js';

/** Cookies by name, as a browser would keep them for one host (enough for the test providers). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(setCookie: string[] | string | undefined): void {
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair] = line.split(';');
      const [name, ...value] = pair!.split('=');
      if (/max-age=0/i.test(line)) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join('='));
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

/**
 * fetch, sent again once when a kept-alive connection turns out to have been closed by the server
 * before any answer (a provider restarted on the same port): browsers retry such a request on a
 * new connection, and the test stands for a browser.
 */
async function browserFetch(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
    return fetch(url, init);
  }
}

/** Follows the provider's redirects (with its own cookies) until it sends the browser back to `back`. */
export async function followUpstream(location: string, back: string): Promise<URL> {
  const jar = new CookieJar();
  let url = location;
  for (let hops = 0; hops < 10; hops++) {
    if (url.startsWith(back)) return new URL(url);
    const res = await browserFetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(res.headers.getSetCookie());
    const next = res.headers.get('location');
    if (!next) throw new Error(`upstream stopped at ${url}: ${res.status} ${await res.text()}`);
    url = new URL(next, url).toString();
  }
  throw new Error('too many upstream redirects');
}

/** The flow cookie a start (or link) answer set, as a Cookie header. */
export function flowCookieOf(res: LightMyRequestResponse): string {
  const line = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('gatehouse_sso='));
  if (!line) throw new Error(`no flow cookie: ${res.statusCode} ${res.body}`);
  return line.split(';')[0]!;
}

/** Start → provider → callback, as a browser would; returns the callback's answer. */
export async function signInThrough(t: TestApp, provider: string, options: { start?: LightMyRequestResponse } = {}): Promise<LightMyRequestResponse> {
  const start = options.start ?? (await t.app.inject({ method: 'GET', url: `/auth/sso/${provider}/start` }));
  const location = start.statusCode === 200 ? (start.json() as { authorization_url: string }).authorization_url : String(start.headers.location);
  if (!location.startsWith('http')) throw new Error(`start did not redirect: ${start.statusCode} ${start.body}`);
  const back = `${t.config.publicUrl}/auth/sso/${provider}/callback`;
  const callback = await followUpstream(location, back);
  return t.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { cookie: flowCookieOf(start) } });
}
