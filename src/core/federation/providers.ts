import type { SecretBox } from '../crypto/secret-box.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Clock, ProviderStore } from '../ports.js';
import { GitHubUpstream } from './github-upstream.js';
import { OidcUpstream } from './oidc-upstream.js';
import type { ProviderConfig, ProviderSettings, Upstream } from './upstream.js';

/** Stored providers are re-read this often, so one added from the CLI appears without a restart. */
const RELOAD_MS = 30_000;

/** A provider as listed to an operator: where it comes from, never its secret. */
export interface ProviderListing extends ProviderSettings {
  readonly source: 'environment' | 'database';
  readonly hasSecret: boolean;
}

const isLoopback = (url: string | null) => url !== null && /^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/.test(url);

/**
 * The configured providers: those of SSO_PROVIDERS and those added with `gatehouse providers add`
 * (their client secrets sealed with the SecretBox, purpose `sso-provider:<id>`). Each provider's
 * protocol client is kept while its settings stay the same, so its discovery document and JWKS
 * cache live as long as the process.
 */
export class ProviderRegistry {
  private stored: { at: number; list: ProviderConfig[] } | null = null;
  private readonly upstreams = new Map<string, { key: string; upstream: Upstream }>();

  constructor(
    private readonly configured: readonly ProviderConfig[],
    private readonly store: ProviderStore,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {}

  private purpose = (id: string) => `sso-provider:${id}`;

  private async storedProviders(): Promise<ProviderConfig[]> {
    const now = this.clock.now();
    if (this.stored && now - this.stored.at < RELOAD_MS) return this.stored.list;
    const list = (await this.store.list()).map((row) => {
      const settings = JSON.parse(row.settings) as ProviderSettings;
      return { ...settings, id: row.id, clientSecret: row.clientSecretSealed ? this.secrets.open(row.clientSecretSealed, this.purpose(row.id)) : null };
    });
    this.stored = { at: now, list };
    return list;
  }

  /** Every provider; one from the environment wins over a stored one with the same id. */
  async all(): Promise<ProviderConfig[]> {
    const stored = (await this.storedProviders()).filter((p) => !this.configured.some((c) => c.id === p.id));
    return [...this.configured, ...stored];
  }

  async get(id: string): Promise<ProviderConfig> {
    const found = (await this.all()).find((p) => p.id === id);
    if (!found) throw new NotFoundError('ERR_SSO_PROVIDER_NOT_FOUND');
    return found;
  }

  /** The protocol client for a provider, made once per settings. */
  upstream(provider: ProviderConfig): Upstream {
    const key = JSON.stringify(provider);
    const kept = this.upstreams.get(provider.id);
    if (kept?.key === key) return kept.upstream;
    // Plain http only to this machine (tests, a local issuer); anything else must be https.
    const options = { timeoutMs: this.timeoutMs, allowInsecureRequests: [provider.issuer, provider.tokenEndpoint, provider.apiUrl].some(isLoopback) };
    const upstream = provider.type === 'github' ? new GitHubUpstream(provider, options) : new OidcUpstream(provider, options, () => this.clock.now());
    this.upstreams.set(provider.id, { key, upstream });
    return upstream;
  }

  /** `gatehouse providers add`: stores the settings, the secret sealed. */
  async add(settings: ProviderSettings, clientSecret: string | null): Promise<void> {
    if (this.configured.some((c) => c.id === settings.id)) throw new ConflictError('ERR_SSO_PROVIDER_CONFLICT', `Provider ${settings.id} is configured in SSO_PROVIDERS.`);
    const { id, ...rest } = settings;
    await this.store.add({
      id,
      settings: JSON.stringify({ id, ...rest }),
      clientSecretSealed: clientSecret ? this.secrets.seal(clientSecret, this.purpose(id)) : null,
      createdAt: this.clock.now(),
    });
    this.stored = null;
  }

  async remove(id: string): Promise<void> {
    if (this.configured.some((c) => c.id === id)) throw new ConflictError('ERR_SSO_PROVIDER_CONFLICT', `Provider ${id} is configured in SSO_PROVIDERS: remove it there.`);
    if (!(await this.store.remove(id))) throw new NotFoundError('ERR_SSO_PROVIDER_NOT_FOUND');
    this.stored = null;
  }

  async list(): Promise<ProviderListing[]> {
    const stored = await this.storedProviders();
    return (await this.all()).map(({ clientSecret, ...settings }) => ({
      ...settings,
      source: stored.some((s) => s.id === settings.id) && !this.configured.some((c) => c.id === settings.id) ? 'database' : 'environment',
      hasSecret: clientSecret !== null,
    }));
  }
}
