import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A software WebAuthn authenticator for HTTP tests (the browser tests use Chromium's virtual
 * authenticator instead): ES256 keys, `none` attestation, a sign counter, and the UP/UV/BE/BS flags
 * as a real one sets them. It lets a test present what a broken or hostile client would: user
 * verification off, another origin, a counter that goes backwards.
 */

/** The options JSON the service answers (PublicKeyCredential*OptionsJSON), as far as an authenticator reads it. */
export interface CeremonyOptions {
  readonly challenge: string;
  readonly rp?: { readonly id: string };
  readonly rpId?: string;
  readonly user?: { readonly id: string };
  readonly allowCredentials?: readonly { readonly id: string }[];
}

type CborValue = number | string | Uint8Array | Map<CborValue, CborValue> | { [key: string]: CborValue };

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 256) return Buffer.from([(major << 5) | 24, length]);
  const b = Buffer.alloc(3);
  b[0] = (major << 5) | 25;
  b.writeUInt16BE(length, 1);
  return b;
}

/** The little CBOR (RFC 8949) an attestation object and a COSE key need. */
function cbor(value: CborValue): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

export interface Ceremony {
  /** Where the page runs (the clientDataJSON origin). */
  readonly origin: string;
  /** The UV flag: whether the authenticator says it verified the user. */
  readonly userVerified?: boolean;
  /** Signs with this counter instead of the next one (to replay or regress it). */
  readonly counter?: number;
}

export interface SoftCredential {
  readonly id: Buffer;
  readonly key: KeyObject;
  readonly userHandle: string;
  counter: number;
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(
    /** Backup eligible/state flags (a synced passkey reports counter 0 and both set). */
    private readonly synced = false,
  ) {}

  private flags(userVerified: boolean, attested: boolean): number {
    return 0x01 | (userVerified ? 0x04 : 0) | (this.synced ? 0x18 : 0) | (attested ? 0x40 : 0);
  }

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
  }

  /** What navigator.credentials.create() returns, as JSON, for `options` (PublicKeyCredentialCreationOptionsJSON). */
  create(options: CeremonyOptions, ceremony: Ceremony): Record<string, unknown> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = cbor(
      new Map<CborValue, CborValue>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const id = randomBytes(16);
    const credId = Buffer.alloc(2);
    credId.writeUInt16BE(id.length);
    const attested = Buffer.concat([Buffer.alloc(16), credId, id, cose]);
    const counter = this.synced ? 0 : 1;
    const authData = this.authData(options.rp!.id, this.flags(ceremony.userVerified ?? true, true), counter, attested);
    const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: ceremony.origin, crossOrigin: false });
    this.credentials.push({ id, key: privateKey, userHandle: options.user!.id, counter });
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(cbor({ fmt: 'none', attStmt: {}, authData })), transports: ['internal'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** What navigator.credentials.get() returns, as JSON: the allowed credential, else the newest one (discoverable). */
  get(options: CeremonyOptions, ceremony: Ceremony, credential?: SoftCredential): Record<string, unknown> {
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const cred = credential ?? [...this.credentials].reverse().find((c) => allowed.length === 0 || allowed.includes(b64url(c.id)));
    if (!cred) throw new Error('no credential for these options');
    const counter = ceremony.counter ?? (this.synced ? 0 : ++cred.counter);
    const authData = this.authData(options.rpId!, this.flags(ceremony.userVerified ?? true, false), counter);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: ceremony.origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.key);
    return {
      id: b64url(cred.id),
      rawId: b64url(cred.id),
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature), userHandle: cred.userHandle },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
