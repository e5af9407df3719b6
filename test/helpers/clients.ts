import { hashSecret } from '../../src/core/auth/refresh-tokens.js';
import type { OAuthClient } from '../../src/core/model.js';
import type { ClientStore } from '../../src/core/ports.js';

// Registered clients do not exist yet (a later issue stores them in the database); this store has
// that table's shape, so the real ClientRegistry authenticates against hashed secrets.
export const SERVICE_SECRET = 'svc secret: with+plus %percent and ünïcode';
export const FIRST_SECRET = 'first-party-confidential-secret-0123456789';
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
  },
  {
    id: 'console',
    name: 'Console',
    type: 'confidential',
    firstParty: true,
    grantTypes: ['password', 'refresh_token'],
    scopes: ['items.read', 'items.write'],
    secretHashes: [hashSecret(FIRST_SECRET)],
  },
  { id: 'mobile', name: 'Mobile', type: 'public', firstParty: true, grantTypes: ['password', 'refresh_token'], scopes: [], secretHashes: [] },
];
export const testClientStore: ClientStore = { findById: async (id) => TEST_CLIENTS.find((c) => c.id === id) ?? null };

/** RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined by ':' and base64-encoded. */
export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
