import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { SealedValueError, SecretBox } from '../../src/core/crypto/secret-box.js';
import { createServices } from '../../src/services.js';
import { openStorage } from '../../src/storage/open.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('SecretBox: stored secrets sealed with AES-256-GCM (MFA-01 secrets at rest)', () => {
  it('opens what it sealed, and the sealed text holds no trace of the plaintext', () => {
    const box = new SecretBox([key('a')]);
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:1');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(sealed).toMatch(/^v1\.a\.[\w-]+\.[\w-]+$/);
    expect(box.open(sealed, 'totp:1')).toBe('JBSWY3DPEHPK3PXP');
    // A fresh nonce each time: the same secret never seals to the same text.
    expect(box.seal('JBSWY3DPEHPK3PXP', 'totp:1')).not.toBe(sealed);
  });

  it('refuses another purpose, a flipped bit, an unknown key and garbage', () => {
    const box = new SecretBox([key('a')]);
    const sealed = box.seal('secret', 'totp:1');
    expect(() => box.open(sealed, 'totp:2')).toThrow(SealedValueError);
    const body = sealed.split('.')[3]!;
    const flipped = Buffer.from(body, 'base64url');
    flipped[0]! ^= 1;
    expect(() => box.open(sealed.replace(body, flipped.toString('base64url')), 'totp:1')).toThrow(SealedValueError);
    expect(() => new SecretBox([key('b')]).open(sealed, 'totp:1')).toThrow(/unknown key/);
    expect(() => box.open('not sealed', 'totp:1')).toThrow(SealedValueError);
  });

  it('rotates: a new first key seals, the old one still opens', () => {
    const old = key('old');
    const sealedBefore = new SecretBox([old]).seal('s', 'p');
    const box = new SecretBox([key('new'), old]);
    expect(box.open(sealedBefore, 'p')).toBe('s');
    expect(box.seal('s', 'p').split('.')[1]).toBe('new');
  });

  it('SECRETS_KEY is validated, and without it the generated key is kept by the database for the next start', async () => {
    expect(() => loadConfig({ SECRETS_KEY: 'short' })).toThrow(/SECRETS_KEY must be/);
    expect(loadConfig({ SECRETS_KEY: randomBytes(32).toString('base64') }).secretsKeys).toHaveLength(1);

    const storage = await openStorage('sqlite::memory:');
    try {
      const config = loadConfig({ DATABASE_URL: 'sqlite::memory:' });
      const first = await createServices(config, storage);
      const sealed = first.secrets.seal('kept', 'p');
      const second = await createServices(config, storage);
      expect(second.secrets.open(sealed, 'p')).toBe('kept');
      const withEnvKey = await createServices(loadConfig({ DATABASE_URL: 'sqlite::memory:', SECRETS_KEY: randomBytes(32).toString('base64') }), storage);
      expect(() => withEnvKey.secrets.open(sealed, 'p')).toThrow(SealedValueError);
    } finally {
      await storage.close();
    }
  });
});
