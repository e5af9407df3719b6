import { hashSecret } from '../../src/core/auth/refresh-tokens.js';
import type { OAuthClient } from '../../src/core/model.js';
import type { ClientLookup } from '../../src/core/ports.js';

// A fixed list of registered clients with the stored shape, so the real ClientRegistry
// authenticates against hashed secrets without going through the admin API.
export const SERVICE_SECRET = 'svc secret: with+plus %percent and ünïcode';
export const FIRST_SECRET = 'first-party-confidential-secret-0123456789';
const NO_URIS = { redirectUris: [], postLogoutRedirectUris: [], idTokenAlg: 'RS256', createdAt: 0, updatedAt: 0 };
export const TEST_CLIENTS: readonly OAuthClient[] = [
  // Third-party and confidential, with two live secrets (a rotation).
  {
    id: 'svc:reports',
    name: 'Reports',
    type: 'confidential',
    firstParty: false,
    grantTypes: ['password', 'refresh_token'],
    scopes: ['reports.read'],
    secretHashes: [hashSecret('old secret'), hashSecret(SERVICE_SECRET)],
    ...NO_URIS,
  },
  {
    id: 'console',
    name: 'Console',
    type: 'confidential',
    firstParty: true,
    grantTypes: ['password', 'refresh_token'],
    scopes: ['items.read', 'items.write'],
    secretHashes: [hashSecret(FIRST_SECRET)],
    ...NO_URIS,
  },
  { id: 'mobile', name: 'Mobile', type: 'public', firstParty: true, grantTypes: ['password', 'refresh_token'], scopes: [], secretHashes: [], ...NO_URIS },
];
export const testClientStore: ClientLookup = { findById: async (id) => TEST_CLIENTS.find((c) => c.id === id) ?? null };

/** RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined by ':' and base64-encoded. */
export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
