/**
 * A web application that signs its users in through Gatehouse with openid-client (OpenID Connect,
 * authorization code + PKCE), then shows who they are, refreshes their tokens, and signs them out
 * (token revocation + RP-initiated logout). Server-side sessions in memory, one cookie.
 *
 *   GATEHOUSE_URL=http://localhost:3000 CLIENT_ID=... CLIENT_SECRET=... PORT=4000 npx tsx examples/oidc-web-app/app.ts
 *
 * Register it first: gatehouse clients create --name "Example app" --type confidential \
 *   --redirect-uri http://localhost:4000/callback --post-logout-redirect-uri http://localhost:4000/ --scope offline_access
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as oidc from 'openid-client';

export interface WebAppOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly port: number;
}

interface Session {
  login?: { verifier: string; state: string; nonce: string };
  tokens?: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  idToken?: string;
  claims?: oidc.IDToken;
  error?: string;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startWebApp(options: WebAppOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const base = `http://127.0.0.1:${options.port}`;
  // Discovery, and plain http allowed only for a Gatehouse on this machine (the tests, a laptop).
  const insecure = new URL(options.issuer).protocol === 'http:';
  const config = await oidc.discovery(new URL(options.issuer), options.clientId, options.clientSecret, undefined, insecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
  const sessions = new Map<string, Session>();

  const sessionOf = (req: IncomingMessage, res: ServerResponse): Session => {
    const id = /(?:^|; )app_session=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (id && sessions.has(id)) return sessions.get(id)!;
    const fresh = randomBytes(16).toString('base64url');
    sessions.set(fresh, {});
    res.setHeader('set-cookie', `app_session=${fresh}; Path=/; HttpOnly; SameSite=Lax`);
    return sessions.get(fresh)!;
  };
  const page = (res: ServerResponse, body: string): void =>
    void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Example app</title>${body}`);
  const redirect = (res: ServerResponse, to: string): void => void res.writeHead(303, { location: to }).end();

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, session: Session, url: URL) => Promise<void>> = {
    '/': async (_req, res, session) => {
      if (!session.tokens || !session.claims)
        return page(res, `<p id="status">Signed out${session.error ? `: <span id="error">${escape(session.error)}</span>` : ''}</p><a href="/login">Sign in</a>`);
      // The userinfo endpoint, with the access token; the sub must be the ID token's.
      const info = await oidc.fetchUserInfo(config, session.tokens.access_token, session.claims.sub);
      page(
        res,
        `<p id="status">Signed in as <b id="username">${escape(String(info.preferred_username))}</b> (<span id="email">${escape(String(info.email))}</span>)</p>` +
          `<p>amr: <span id="amr">${escape(JSON.stringify(session.claims.amr))}</span>, expires in <span id="expires">${session.tokens.expiresIn()}</span> s</p>` +
          '<a href="/refresh" id="refresh">Refresh</a> <a href="/logout" id="logout">Sign out</a>',
      );
    },
    '/login': async (_req, res, session, url) => {
      const verifier = oidc.randomPKCECodeVerifier();
      session.login = { verifier, state: oidc.randomState(), nonce: oidc.randomNonce() };
      const authorize = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${base}/callback`,
        scope: 'openid profile email offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: session.login.state,
        nonce: session.login.nonce,
        ...(url.searchParams.get('prompt') ? { prompt: url.searchParams.get('prompt')! } : {}),
      });
      redirect(res, authorize.href);
    },
    '/callback': async (_req, res, session, url) => {
      const login = session.login;
      session.login = undefined;
      try {
        if (!login) throw new Error('no sign-in in progress');
        // Checks state, iss, the code exchange with PKCE, and the ID token (signature, iss, aud, exp, nonce).
        const tokens = await oidc.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: login.verifier,
          expectedState: login.state,
          expectedNonce: login.nonce,
          idTokenExpected: true,
        });
        session.tokens = tokens;
        session.idToken = tokens.id_token;
        session.claims = tokens.claims();
        session.error = undefined;
      } catch (error) {
        session.error = (error as { error?: string }).error ?? (error as Error).message;
      }
      redirect(res, '/');
    },
    '/refresh': async (_req, res, session) => {
      if (session.tokens?.refresh_token) session.tokens = await oidc.refreshTokenGrant(config, session.tokens.refresh_token);
      redirect(res, '/');
    },
    '/logout': async (_req, res, session) => {
      const { tokens, idToken } = session;
      session.tokens = undefined;
      session.claims = undefined;
      if (!tokens || !idToken) return redirect(res, '/');
      // RFC 7009 first (the refresh token stops working even if the browser never reaches Gatehouse),
      // then RP-initiated logout ends the user's Gatehouse sign-in.
      if (tokens.refresh_token) await oidc.tokenRevocation(config, tokens.refresh_token);
      redirect(res, oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${base}/`, state: randomBytes(8).toString('hex') }).href);
    },
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const route = routes[url.pathname];
    if (!route) return void res.writeHead(404).end();
    route(req, res, sessionOf(req, res), url).catch((error: unknown) => res.writeHead(500).end(String((error as Error).message)));
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  return { server, url: base, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = await startWebApp({
    issuer: process.env.GATEHOUSE_URL ?? 'http://localhost:3000',
    clientId: process.env.CLIENT_ID ?? '',
    clientSecret: process.env.CLIENT_SECRET ?? '',
    port: Number(process.env.PORT ?? 4000),
  });
  console.log(`example app at ${app.url}`);
}
