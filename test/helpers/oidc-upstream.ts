import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

/** An account at the upstream provider. */
export interface UpstreamAccount {
  readonly id: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name?: string;
  readonly preferredUsername?: string;
}

export interface OidcUpstream {
  readonly issuer: string;
  readonly port: number;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Who "signs in" at the provider's next interaction (no login form: the test chooses). */
  signInAs(accountId: string): void;
  /** When the provider says the next sign-ins authenticated (`auth_time`, epoch ms); null: when they happen. */
  authenticatedAt(ms: number | null): void;
  /** Requests to the JWKS since start (or since reset). */
  jwksRequests: number;
  /** Goes down right after it next hands the browser a code (the browser then comes back to a dead provider). */
  failAfterNextCode(): void;
  /** Stops it and starts it again on the same port, with new signing keys (rotated). */
  restartWithNewKeys(): Promise<void>;
  close(): Promise<void>;
}

function newJwks() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomBytes(6).toString('hex'), alg: 'RS256', use: 'sig' }] };
}

/**
 * A real OpenID provider (the `oidc-provider` package) on a free port: the upstream of federated
 * sign-in in tests. Its interactions finish at once as the account chosen by `signInAs`, with
 * consent to `openid email profile`, so a test drives it with plain redirects (or a browser).
 */
export async function startOidcUpstream(options: { accounts: readonly UpstreamAccount[]; redirectUris: readonly string[]; port?: number }): Promise<OidcUpstream> {
  const clientId = 'gatehouse-test';
  const clientSecret = randomBytes(24).toString('base64url');
  let current = options.accounts[0]!.id;
  let jwks = newJwks();
  let server: Server;
  let port = options.port ?? 0;
  const state = { jwksRequests: 0, failAfterCode: false, authTime: null as number | null };

  const start = async () => {
    const issuer = `http://127.0.0.1:${port}`;
    const configuration: Configuration = {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [...options.redirectUris],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          require_auth_time: true,
        },
      ],
      jwks,
      cookies: { keys: ['upstream-test-cookie-key'] },
      pkce: { required: () => true },
      ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      findAccount: async (_ctx: KoaContextWithOIDC, id: string) => {
        const account = options.accounts.find((a) => a.id === id);
        if (!account) return undefined;
        return {
          accountId: id,
          claims: async () => ({ sub: id, email: account.email, email_verified: account.emailVerified, name: account.name, preferred_username: account.preferredUsername }),
        };
      },
    };
    const provider = new Provider(issuer, configuration);
    const handler = provider.callback();
    server = createServer(async (req, res) => {
      if (req.url === '/jwks') state.jwksRequests++;
      res.on('finish', () => {
        const location = res.getHeader('location');
        if (state.failAfterCode && typeof location === 'string' && /[?&]code=/.test(location)) {
          state.failAfterCode = false;
          void stop();
        }
      });
      const interaction = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
      if (!interaction) return handler(req, res);
      try {
        const details = await provider.interactionDetails(req, res);
        const grant = new provider.Grant({ accountId: current, clientId });
        grant.addOIDCScope('openid email profile');
        const grantId = await grant.save();
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: current, ...(state.authTime === null ? {} : { ts: Math.floor(state.authTime / 1000) }) }, consent: { grantId } },
          { mergeWithLastSubmission: false },
        );
        void details;
      } catch (error) {
        res.statusCode = 500;
        res.end(String(error));
      }
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    return issuer;
  };

  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  // With port 0 the issuer is known only after listening: start once to learn the port, then again.
  if (port === 0) {
    await start();
    await stop();
  }
  await start();

  return {
    get issuer() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    clientId,
    clientSecret,
    signInAs: (id) => (current = id),
    authenticatedAt: (ms) => (state.authTime = ms),
    failAfterNextCode: () => (state.failAfterCode = true),
    get jwksRequests() {
      return state.jwksRequests;
    },
    set jwksRequests(value: number) {
      state.jwksRequests = value;
    },
    restartWithNewKeys: async () => {
      await stop();
      jwks = newJwks();
      await start();
    },
    close: stop,
  };
}
