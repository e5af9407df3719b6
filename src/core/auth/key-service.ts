import type { JwtAlgorithm } from '../../config/index.js';
import type { AuditLog, RequestContext } from '../audit.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { SigningKey } from '../model.js';
import type { Clock, KeyStore } from '../ports.js';
import { KeyRing, deploymentAlgorithm, generateSigningKey, keyStates, signingAlgorithm, type AsymmetricAlgorithm, type KeyState, type KeyTiming } from './key-ring.js';

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
    /** Whether `algorithm` was set by the operator (JWT_ALGORITHM) or is only the default. */
    private readonly algorithmExplicit = false,
  ) {}

  private get asymmetric(): SigningKey['alg'] {
    if (this.algorithm === 'HS256') throw new ConflictError('ERR_KEYS_HS256', 'In HS256 mode the key is JWT_SECRET; rotate it by changing the secret.');
    return this.algorithm;
  }

  /**
   * The ring as it stands now; makes the first key pair when storage has none. After that the
   * algorithm is the stored keys' (see deploymentAlgorithm), whatever this process's JWT_ALGORITHM
   * says: a process never adds keys of its own algorithm to a deployment of another, and every
   * instance signs with the same key.
   */
  async load(): Promise<KeyRing> {
    if (this.algorithm === 'HS256') return KeyRing.fromSecret(this.secret!);
    let keys = await this.store.listUsable();
    if (deploymentAlgorithm(keys) === null) {
      // Two instances starting on an empty database create one key between them (SES-09).
      await this.store.insertFirst(generateSigningKey(this.asymmetric, this.clock.now()));
      keys = await this.store.listUsable();
    }
    const now = this.clock.now();
    return KeyRing.fromStoredKeys(keys, signingAlgorithm(keys, now, this.timing)!, now, this.timing);
  }

  /** The algorithm of the deployment's stored keys; null before the first start. */
  async storedAlgorithm(): Promise<AsymmetricAlgorithm | null> {
    return deploymentAlgorithm(await this.store.listUsable());
  }

  /**
   * Refuses a start whose JWT_ALGORITHM, when set, differs from the stored keys' algorithm.
   * Following the keys silently would hide a mistake; switching at start would make a key sign at
   * once that no verifier has seen yet. A change of algorithm is a rotation: `keys rotate --algorithm`.
   */
  async assertConfiguredAlgorithm(): Promise<void> {
    if (this.algorithm === 'HS256' || !this.algorithmExplicit) return;
    const stored = await this.storedAlgorithm();
    if (stored !== null && stored !== this.algorithm) {
      throw new ConflictError(
        'ERR_KEYS_ALGORITHM',
        `JWT_ALGORITHM=${this.algorithm} but this deployment's signing keys are ${stored}. Set JWT_ALGORITHM=${stored} (or leave it unset: the stored keys decide), ` +
          `or change the algorithm with: gatehouse keys rotate --algorithm ${this.algorithm}`,
      );
    }
  }

  /**
   * Adds a key that is published at once and signs once every instance has had time to see it. Its
   * algorithm is the stored keys' unless `algorithm` asks for a change; a JWT_ALGORITHM that names
   * another one than the stored keys is refused rather than guessed at (`keys rotate` without it
   * once put EdDSA keys into an ES256 deployment).
   */
  async rotate(context: RequestContext = {}, algorithm?: AsymmetricAlgorithm): Promise<SigningKey> {
    const configured = this.asymmetric;
    const stored = await this.storedAlgorithm();
    if (algorithm === undefined && this.algorithmExplicit && stored !== null && stored !== configured) {
      throw new ConflictError(
        'ERR_KEYS_ALGORITHM',
        `JWT_ALGORITHM=${configured} but this deployment's signing keys are ${stored}. To change the algorithm, say so: gatehouse keys rotate --algorithm ${configured}; ` +
          `to rotate within ${stored}, set JWT_ALGORITHM=${stored} or leave it unset`,
      );
    }
    const key = generateSigningKey(algorithm ?? stored ?? configured, this.clock.now());
    await this.store.insert(key);
    await this.audit.record('key.rotated', context, { details: { kid: key.kid, alg: key.alg, ...(stored !== null && stored !== key.alg ? { from: stored } : {}) } });
    this.onChange();
    return key;
  }

  async list(): Promise<KeySummary[]> {
    void this.asymmetric; // throws in HS256 mode: it has no stored keys to list
    const keys = await this.store.listAll();
    const now = this.clock.now();
    const states = keyStates(keys, signingAlgorithm(keys, now, this.timing) ?? this.asymmetric, now, this.timing);
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
