import { DiscoveryFailedError } from '../errors.js';

/** What fetching needs: a fetch implementation and a time limit per request. */
export interface FetchSettings {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

/**
 * GET `url` as JSON. Redirects are not followed: metadata and keys come from the configured
 * issuer's own URLs, never from wherever a compromised or misconfigured proxy points.
 */
export async function fetchJson(url: string, settings: FetchSettings, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await settings.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (error) {
    throw new DiscoveryFailedError(`Fetching the ${what} failed: ${(error as Error).message}`, { cause: error });
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new DiscoveryFailedError(`Fetching the ${what} answered HTTP ${response.status}.`);
  }
  try {
    return await response.json();
  } catch (error) {
    throw new DiscoveryFailedError(`The ${what} is not JSON.`, { cause: error });
  }
}

/** RFC 8414 §3: the metadata URL of an issuer, with any issuer path after the well-known part. */
export function metadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-authorization-server${path}`;
}

/**
 * Reads the issuer's RFC 8414 metadata and returns its `jwks_uri`. The metadata must name the same
 * issuer (RFC 8414 §3.3): otherwise one server's metadata could hand out another's keys (mix-up).
 */
export async function discoverJwksUri(issuer: string, settings: FetchSettings): Promise<string> {
  const metadata = await fetchJson(metadataUrl(issuer), settings, 'authorization server metadata');
  if (typeof metadata !== 'object' || metadata === null) throw new DiscoveryFailedError('The authorization server metadata is not a JSON object.');
  const { issuer: named, jwks_uri: jwksUri } = metadata as { issuer?: unknown; jwks_uri?: unknown };
  if (named !== issuer) throw new DiscoveryFailedError(`The metadata names the issuer ${JSON.stringify(named)}, not ${JSON.stringify(issuer)}.`);
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) throw new DiscoveryFailedError('The metadata has no valid jwks_uri.');
  return jwksUri;
}
