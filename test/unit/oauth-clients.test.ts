import { describe, expect, it } from 'vitest';
import { OAuthClientError } from '../../src/core/errors.js';
import { ClientRegistry, FIRST_PARTY_CLIENT, FIRST_PARTY_CLIENT_ID } from '../../src/core/oauth/clients.js';
import { grantScope } from '../../src/core/oauth/scopes.js';
import { FIRST_SECRET, SERVICE_SECRET, testClientStore } from '../helpers/clients.js';

/** The client registry (RFC 6749 §2.3) and the scope policy (§3.3), without HTTP. */

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthClientError);
    return (error as OAuthClientError).code;
  }
  throw new Error('accepted');
}

describe('ClientRegistry', () => {
  const registry = new ClientRegistry(testClientStore);

  it('RFC 6749 §2.3: no client named is the built-in public client; it cannot be shadowed by the store', async () => {
    expect(await registry.authenticate({ method: 'none', clientId: null })).toBe(FIRST_PARTY_CLIENT);
    expect(FIRST_PARTY_CLIENT).toMatchObject({ id: FIRST_PARTY_CLIENT_ID, type: 'public', firstParty: true });
    const shadowing = new ClientRegistry({ findById: async (id) => ({ ...FIRST_PARTY_CLIENT, id, type: 'confidential', secretHashes: [] }) });
    expect(await shadowing.authenticate({ method: 'none', clientId: 'gatehouse' })).toBe(FIRST_PARTY_CLIENT);
  });

  it('RFC 6749 §2.3.1: a confidential client authenticates with any of its live secrets, by basic or post', async () => {
    expect((await registry.authenticate({ method: 'client_secret_basic', clientId: 'svc:reports', secret: SERVICE_SECRET })).id).toBe('svc:reports');
    expect((await registry.authenticate({ method: 'client_secret_post', clientId: 'svc:reports', secret: 'old secret' })).id).toBe('svc:reports');
    expect((await registry.authenticate({ method: 'client_secret_post', clientId: 'console', secret: FIRST_SECRET })).id).toBe('console');
  });

  it('RFC 6749 §2.3: unknown clients, wrong secrets, secrets for public clients and confidential clients without one are invalid_client', async () => {
    for (const credentials of [
      { method: 'none', clientId: 'nobody' },
      { method: 'client_secret_basic', clientId: 'nobody', secret: 'x' },
      { method: 'client_secret_basic', clientId: 'console', secret: 'wrong' },
      { method: 'client_secret_basic', clientId: 'console', secret: `${FIRST_SECRET} ` },
      { method: 'client_secret_post', clientId: 'gatehouse', secret: 'x' },
      { method: 'client_secret_post', clientId: 'mobile', secret: 'x' },
      { method: 'none', clientId: 'console' },
    ] as const) {
      expect(await refusal(registry.authenticate(credentials)), JSON.stringify(credentials)).toBe('ERR_OAUTH_INVALID_CLIENT');
    }
  });

  it('RFC 6749 §4.3: the password grant only for first-party clients that list it', async () => {
    const third = (await testClientStore.findById('svc:reports'))!;
    expect(() => registry.assertGrantAllowed(third, 'password')).toThrow(OAuthClientError);
    expect(() => registry.assertGrantAllowed(third, 'refresh_token')).not.toThrow();
    expect(() => registry.assertGrantAllowed(FIRST_PARTY_CLIENT, 'password')).not.toThrow();
    const refreshOnly = { ...FIRST_PARTY_CLIENT, grantTypes: ['refresh_token' as const] };
    expect(() => registry.assertGrantAllowed(refreshOnly, 'password')).toThrow(/password grant/);
  });
});

describe('grantScope (RFC 6749 §3.3)', () => {
  it('RFC 6749 §3.3: unknown scopes are ignored, none requested means all allowed, a refresh never widens', () => {
    expect(grantScope(undefined, [])).toBe('');
    expect(grantScope('openid profile', [])).toBe('');
    expect(grantScope(undefined, ['a', 'b'])).toBe('a b');
    expect(grantScope('b x a', ['a', 'b'])).toBe('a b');
    expect(grantScope('', ['a', 'b'])).toBe('');
    expect(grantScope('a a', ['a', 'b'])).toBe('a');
  });

  it('RFC 6749 §3.3: a scope outside the syntax is invalid_scope', () => {
    for (const bad of [' a', 'a ', 'a  b', 'a\tb', 'a"b', 'a\\b', 'é', 'a\u0000']) {
      expect(() => grantScope(bad, ['a']), JSON.stringify(bad)).toThrow(OAuthClientError);
    }
  });
});
