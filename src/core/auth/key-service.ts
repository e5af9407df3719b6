import type { JwtAlgorithm } from '../../config/index.js';
import type { AuditLog, RequestContext } from '../audit.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { SigningKey } from '../model.js';
import type { Clock, KeyStore } from '../ports.js';
import { KeyRing, generateSigningKey, keyStates, type KeyState, type KeyTiming } from './key-ring.js';

export interface KeySummary {
  readonly kid: string;
  readonly alg: string;
  readonly state: KeyState;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

/**
 * Signing keys: created on first start, rotated and retired by the operator. Everything lives in
 * storage, so every instance on the same database converges on the same ring when it reloads.
 */
export class KeyService {
  constructor(
    private readonly store: KeyStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly algorithm: JwtAlgorithm,
    private readonly secret: string | null,
    private readonly timing: KeyTiming,
    /** Told after a rotation or retirement, so other instances reload without waiting for their poll. */
    private readonly onChange: () => void = () => {},
  ) {}

  private get asymmetric(): SigningKey['alg'] {
    if (this.algorithm === 'HS256') throw new ConflictError('ERR_KEYS_HS256', 'In HS256 mode the key is JWT_SECRET; rotate it by changing the secret.');
    return this.algorithm;
  }

  /** The ring as it stands now; makes the first key pair when storage has none for the algorithm. */
  async load(): Promise<KeyRing> {
    if (this.algorithm === 'HS256') return KeyRing.fromSecret(this.secret!);
    let keys = await this.store.listUsable();
    if (!keys.some((k) => k.alg === this.algorithm)) {
      await this.store.insertFirst(generateSigningKey(this.asymmetric, this.clock.now()));
      keys = await this.store.listUsable();
    }
    return KeyRing.fromStoredKeys(keys, this.asymmetric, this.clock.now(), this.timing);
  }

  /** Adds a key that is published at once and signs once every instance has had time to see it. */
  async rotate(context: RequestContext = {}): Promise<SigningKey> {
    const key = generateSigningKey(this.asymmetric, this.clock.now());
    await this.store.insert(key);
    await this.audit.record('key.rotated', context, { details: { kid: key.kid, alg: key.alg } });
    this.onChange();
    return key;
  }

  async list(): Promise<KeySummary[]> {
    const keys = await this.store.listAll();
    const states = keyStates(keys, this.asymmetric, this.clock.now(), this.timing);
    return keys.map((k) => ({ kid: k.kid, alg: k.alg, state: states.get(k.kid)!, createdAt: k.createdAt, retiredAt: k.retiredAt }));
  }

  /** Withdraws a key at once: tokens it signed stop verifying. The signing key cannot be retired. */
  async retire(kid: string, context: RequestContext = {}): Promise<void> {
    const key = (await this.list()).find((k) => k.kid === kid);
    if (!key) throw new NotFoundError('key');
    if (key.state === 'signing') throw new ConflictError('ERR_KEYS_SIGNING', 'This key signs new tokens; rotate first, then retire it.');
    await this.store.setStatus(kid, 'retired', this.clock.now());
    await this.audit.record('key.retired', context, { details: { kid } });
    this.onChange();
  }
}
