import { randomBytes } from 'node:crypto';
import buildGetJwks from 'get-jwks';
import { createVerifier as createFastJwtVerifier } from 'fast-jwt';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { describe, expect, it } from 'vitest';
import { createVerifier, VerifyError, type Algorithm } from '../src/index.js';
import { adminLogin, codeOf, jwksFetchesSeenBy, signUp, useGatehouse } from './helpers.js';

/**
 * @gatehouse/verify against the real service, once per JWT_ALGORITHM: keys found through RFC 8414
 * metadata (HS256: the shared secret), claims typed, and the two popular Node stacks tried on the
 * same tokens so that the README's interoperability table states what really happens.
 */

const SECRET = randomBytes(48).toString('base64url');
const header = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { alg: string; kid: string; typ: string };

describe.each(['EdDSA', 'ES256', 'RS256', 'HS256'] as const)('a live Gatehouse with JWT_ALGORITHM=%s', (alg: Algorithm) => {
  const hmac = alg === 'HS256';
  const ctx = useGatehouse({ JWT_ALGORITHM: alg, ...(hmac ? { JWT_SECRET: SECRET } : {}) });
  const options = () => ({ issuer: ctx.server.url, audience: 'gatehouse', ...(hmac ? { secret: SECRET } : {}) });

  it('verifies real access tokens through RFC 8414 discovery, with one key fetch, and returns typed claims', async () => {
    const server = ctx.server;
    const [user, admin] = await Promise.all([signUp(server, 'vera'), adminLogin(server)]);
    expect(header(user.access)).toMatchObject({ alg, typ: 'at+jwt' });
    const fetchesBefore = await jwksFetchesSeenBy(server);
    const verifier = createVerifier(options());

    // Concurrent first requests share one discovery and one key fetch.
    const [claims] = await Promise.all([1, 2, 3, 4, 5].map(() => verifier.verify(user.access)));
    if (!claims) throw new Error('no claims');
    expect(claims).toMatchObject({ iss: server.url, aud: 'gatehouse', sub: user.id, role: 'user', client_id: 'gatehouse' });
    expect(typeof claims.sid).toBe('string');
    expect(typeof claims.jti).toBe('string');
    expect(typeof claims.scope).toBe('string');
    expect(claims.auth_time).toBeTypeOf('number');
    expect(claims.exp).toBeGreaterThan(claims.iat);
    expect((await verifier.verify(admin.access)).role).toBe('admin');
    for (let i = 0; i < 5; i++) await verifier.verify(user.access);

    // Asymmetric: exactly one JWKS fetch for all of that; HS256: none at all.
    expect(verifier.keyFetches).toBe(hmac ? 0 : 1);
    expect(await jwksFetchesSeenBy(server)).toBe(fetchesBefore + (hmac ? 0 : 1));
  });

  it('refuses the same real token for another audience, another issuer, or when its algorithm is not accepted', async () => {
    const server = ctx.server;
    const user = await signUp(server, 'vera');
    expect(await codeOf(createVerifier({ ...options(), audience: 'another-api' }).verify(user.access))).toBe('ERR_TOKEN_INVALID');
    // Same keys (jwksUri given), another expected issuer.
    const elsewhere = { ...options(), issuer: 'https://auth.example.com', ...(hmac ? {} : { jwksUri: `${server.url}/.well-known/jwks.json` }) };
    expect(await codeOf(createVerifier(elsewhere).verify(user.access))).toBe('ERR_TOKEN_INVALID');
    if (!hmac) {
      const others = (['EdDSA', 'ES256', 'RS256'] as const).filter((a) => a !== alg);
      expect(await codeOf(createVerifier({ ...options(), algorithms: others }).verify(user.access))).toBe('ERR_TOKEN_INVALID');
      // A wrong discovery (metadata of another issuer name) is a discovery failure, not a token problem.
      expect(await codeOf(createVerifier({ ...options(), issuer: `${server.url}/tenant` }).verify(user.access))).toBe('ERR_DISCOVERY_FAILED');
    } else {
      expect(await codeOf(createVerifier({ ...options(), secret: randomBytes(48) }).verify(user.access))).toBe('ERR_TOKEN_INVALID');
    }
  });

  it('interop: plain jose (createRemoteJWKSet + jwtVerify, typ at+jwt) verifies these tokens', async () => {
    const server = ctx.server;
    const user = await signUp(server, 'ivy');
    const key = hmac ? new TextEncoder().encode(SECRET) : createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(user.access, key as Uint8Array, { issuer: server.url, audience: 'gatehouse', typ: 'at+jwt', algorithms: [alg] });
    expect(payload.sub).toBe(user.id);
  });

  it(`interop: jsonwebtoken + jwks-rsa ${alg === 'EdDSA' ? 'cannot verify' : 'verifies'} these tokens`, async () => {
    const server = ctx.server;
    const user = await signUp(server, 'ivy');
    const verifyOptions = { algorithms: [alg as jwt.Algorithm], issuer: server.url, audience: 'gatehouse' };
    const run = async () => {
      const key = hmac ? SECRET : (await jwksRsa({ jwksUri: `${server.url}/.well-known/jwks.json` }).getSigningKey(header(user.access).kid)).getPublicKey();
      return jwt.verify(user.access, key, verifyOptions) as jwt.JwtPayload;
    };
    if (alg === 'EdDSA') {
      await expect(run()).rejects.toThrow('Unknown key type "ed25519"');
    } else {
      expect((await run()).sub).toBe(user.id);
    }
  });

  it(`interop: fast-jwt + get-jwks ${alg === 'EdDSA' ? 'cannot verify' : 'verifies'} these tokens`, async () => {
    const server = ctx.server;
    const user = await signUp(server, 'ivy');
    const getJwks = buildGetJwks({ issuersWhitelist: [server.url] });
    const verify = createFastJwtVerifier({
      key: async ({ header: h, payload }: { header: Record<string, string>; payload: Record<string, string> }) =>
        hmac ? SECRET : getJwks.getPublicKey({ kid: h.kid, alg: h.alg, domain: payload.iss }),
      algorithms: [alg],
      allowedIss: server.url,
      allowedAud: 'gatehouse',
    });
    if (alg === 'EdDSA') {
      // fast-jwt wraps what get-jwks threw: the reason is in originalError.
      const error = (await Promise.resolve()
        .then(() => verify(user.access))
        .catch((e: unknown) => e)) as Error & { originalError?: Error };
      expect(error.originalError?.message).toBe('Unsupported key type "OKP"');
    } else {
      expect(((await verify(user.access)) as { sub: string }).sub).toBe(user.id);
    }
  });
});

describe('createVerifier: programmer mistakes are TypeErrors, not token errors', () => {
  it('refuses missing issuer or audience, HS256 without secret, a secret with asymmetric algorithms, a short secret', () => {
    expect(() => createVerifier({ issuer: 'not a url', audience: 'a' })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: 'https://a.example', audience: [] })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: 'https://a.example', audience: 'a', algorithms: ['HS256'] })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: 'https://a.example', audience: 'a', secret: SECRET, algorithms: ['HS256', 'RS256'] })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: 'https://a.example', audience: 'a', secret: 'short' })).toThrow(TypeError);
  });

  it('an empty or absent token is ERR_TOKEN_MISSING, a VerifyError', async () => {
    const verifier = createVerifier({ issuer: 'https://a.example', audience: 'a', secret: SECRET });
    for (const token of ['', undefined, null]) {
      const error = await verifier.verify(token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VerifyError);
      expect((error as VerifyError).code).toBe('ERR_TOKEN_MISSING');
    }
  });
});
