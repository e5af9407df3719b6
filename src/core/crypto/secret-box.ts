import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A key that seals stored secrets: 32 random bytes and a short id written beside what it sealed. */
export interface SealingKey {
  readonly id: string;
  readonly key: Buffer;
}

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that cannot be opened: a wrong key, another purpose, or tampering. */
export class SealedValueError extends Error {
  constructor(reason: string) {
    super(`sealed value cannot be opened: ${reason}`);
    this.name = 'SealedValueError';
  }
}

/**
 * Seals the secrets Gatehouse must read back (TOTP seeds, upstream client secrets) before they are
 * stored: AES-256-GCM with a fresh 96-bit nonce per value. The purpose (for example
 * `totp:<factor id>`) is authenticated as associated data, so a sealed value copied into another row
 * or used for another purpose does not open. A stolen database alone reveals none of them when the
 * key is kept outside it (SECRETS_KEY).
 *
 * The first key seals; every key opens, so keys can be rotated by putting a new one first.
 */
export class SecretBox {
  private readonly byId: ReadonlyMap<string, Buffer>;
  private readonly active: SealingKey;

  constructor(keys: readonly SealingKey[]) {
    const [active] = keys;
    if (!active) throw new TypeError('SecretBox needs at least one key');
    for (const k of keys) {
      if (k.key.length !== 32) throw new TypeError(`sealing key ${k.id} must be 32 bytes`);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(k.id)) throw new TypeError('a sealing key id is 1..32 characters of [A-Za-z0-9_-]');
    }
    this.active = active;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** Seals `plaintext` for `purpose`; the result is ASCII, safe for any text column. */
  seal(plaintext: string, purpose: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.active.key, nonce);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return [VERSION, this.active.id, nonce.toString('base64url'), body.toString('base64url')].join('.');
  }

  /** Opens what `seal` made for the same purpose; throws SealedValueError otherwise. */
  open(sealed: string, purpose: string): string {
    const [version, keyId, nonceText, bodyText, ...rest] = sealed.split('.');
    if (version !== VERSION || rest.length > 0 || !keyId || !nonceText || !bodyText) throw new SealedValueError('not a sealed value');
    const key = this.byId.get(keyId);
    if (!key) throw new SealedValueError(`unknown key ${keyId}`);
    const nonce = Buffer.from(nonceText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw new SealedValueError('malformed');
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedValueError('authentication failed');
    }
  }
}
