import { existsSync, readFileSync } from 'node:fs';

/** The presets: their endpoints are filled in, only the client's id and secret are the operator's. */
export const SSO_PRESETS = ['google', 'microsoft', 'gitlab', 'github', 'oidc'] as const;
export type SsoPreset = (typeof SSO_PRESETS)[number];

/**
 * One upstream identity provider, resolved from its preset. `oidc`: any OpenID Connect issuer,
 * found by discovery. `github`: GitHub's OAuth 2.0 plus its user and emails APIs (it is not an
 * OpenID provider).
 */
export interface SsoProviderSettings {
  /** In URLs (`/auth/sso/<id>/start`) and in linked identities: never change it once used. */
  readonly id: string;
  readonly name: string;
  readonly type: 'oidc' | 'github';
  readonly preset: SsoPreset;
  /** OIDC: the issuer, exactly as its discovery document and ID tokens spell it. */
  readonly issuer: string | null;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** GitHub (or GitHub Enterprise): where users authorize, where codes are exchanged, the REST API. */
  readonly authorizationEndpoint: string | null;
  readonly tokenEndpoint: string | null;
  readonly apiUrl: string | null;
}

/** Settings with the secret, as read from SSO_PROVIDERS (stored providers keep it sealed apart). */
export interface SsoProviderConfig extends SsoProviderSettings {
  readonly clientSecret: string | null;
}

/** What an operator writes, in SSO_PROVIDERS or on `gatehouse providers add`. */
export interface SsoProviderInput {
  id?: unknown;
  preset?: unknown;
  name?: unknown;
  issuer?: unknown;
  tenant?: unknown;
  client_id?: unknown;
  client_secret?: unknown;
  scopes?: unknown;
  authorization_endpoint?: unknown;
  token_endpoint?: unknown;
  api_url?: unknown;
}

const KNOWN_KEYS = new Set(['id', 'preset', 'name', 'issuer', 'tenant', 'client_id', 'client_secret', 'scopes', 'authorization_endpoint', 'token_endpoint', 'api_url']);

const NAMES: Record<SsoPreset, string> = { google: 'Google', microsoft: 'Microsoft', gitlab: 'GitLab', github: 'GitHub', oidc: 'OpenID Connect' };

// Plain http only toward this machine (a local test issuer): tokens and secrets cross this link.
const isHttpUrl = (value: string) => {
  try {
    const url = new URL(value);
    const local = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname);
    return (url.protocol === 'https:' || (url.protocol === 'http:' && local)) && url.username === '' && url.password === '' && url.hash === '';
  } catch {
    return false;
  }
};

/**
 * Checks one provider and fills in its preset. Every problem goes to `problems` (prefixed with
 * `where`); null when there was one.
 */
export function resolveSsoProvider(input: SsoProviderInput, where: string, problems: string[]): SsoProviderConfig | null {
  const before = problems.length;
  const fail = (message: string) => problems.push(`${where}: ${message}`);
  for (const key of Object.keys(input)) if (!KNOWN_KEYS.has(key)) fail(`unknown setting "${key}"`);
  const text = (key: keyof SsoProviderInput, required: boolean): string | null => {
    const value = input[key];
    if (value === undefined || value === null || value === '') {
      if (required) fail(`${key} is required`);
      return null;
    }
    if (typeof value !== 'string') {
      fail(`${key} must be a string`);
      return null;
    }
    return value.trim();
  };
  const url = (key: keyof SsoProviderInput, required: boolean): string | null => {
    const value = text(key, required);
    if (value !== null && !isHttpUrl(value)) fail(`${key} must be an https URL (http only for localhost) without credentials or fragment`);
    return value?.replace(/\/+$/, '') ?? null;
  };

  const preset = (text('preset', false) ?? 'oidc') as SsoPreset;
  if (!SSO_PRESETS.includes(preset)) fail(`preset must be one of ${SSO_PRESETS.join(', ')}`);
  const id = text('id', false) ?? preset;
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(id)) fail('id must be 1..32 characters of a-z, 0-9 and -, starting with a letter or digit');
  const name = text('name', false) ?? NAMES[preset] ?? id;
  if (name.length > 60) fail('name must be at most 60 characters');
  const clientId = text('client_id', true);
  const clientSecret = text('client_secret', false);
  let scopes: string[] | null = null;
  if (input.scopes !== undefined) {
    const raw = typeof input.scopes === 'string' ? input.scopes.split(/\s+/) : input.scopes;
    if (!Array.isArray(raw) || !raw.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) fail('scopes must be a list of scope names');
    else scopes = raw.filter(Boolean);
  }

  let type: 'oidc' | 'github' = 'oidc';
  let issuer: string | null = null;
  let endpoints: Pick<SsoProviderSettings, 'authorizationEndpoint' | 'tokenEndpoint' | 'apiUrl'> = { authorizationEndpoint: null, tokenEndpoint: null, apiUrl: null };
  switch (preset) {
    case 'google':
      issuer = 'https://accounts.google.com';
      break;
    case 'microsoft': {
      // The "common" and "organizations" endpoints put each user's own tenant in `iss`, which no fixed
      // issuer matches: a tenant id (or domain) is required so that `iss` can be checked (FED-01).
      const tenant = text('tenant', true);
      if (tenant !== null && (!/^[A-Za-z0-9.-]{1,100}$/.test(tenant) || ['common', 'organizations', 'consumers'].includes(tenant))) {
        fail('tenant must be your directory (tenant) id or domain, not common/organizations/consumers');
      }
      issuer = `https://login.microsoftonline.com/${tenant}/v2.0`;
      break;
    }
    case 'gitlab':
      // Self-managed GitLab: set issuer to its URL.
      issuer = url('issuer', false) ?? 'https://gitlab.com';
      break;
    case 'github':
      type = 'github';
      endpoints = {
        authorizationEndpoint: url('authorization_endpoint', false) ?? 'https://github.com/login/oauth/authorize',
        tokenEndpoint: url('token_endpoint', false) ?? 'https://github.com/login/oauth/access_token',
        apiUrl: url('api_url', false) ?? 'https://api.github.com',
      };
      break;
    default:
      issuer = url('issuer', true);
  }
  if (type === 'github' && !clientSecret) fail('client_secret is required for GitHub');
  if (problems.length > before) return null;
  return Object.freeze({
    id,
    name,
    type,
    preset,
    issuer,
    clientId: clientId!,
    clientSecret,
    scopes: Object.freeze(scopes ?? (type === 'github' ? ['read:user', 'user:email'] : ['openid', 'email', 'profile'])),
    ...endpoints,
  });
}

/**
 * SSO_PROVIDERS: a JSON array of providers, or the path of a file holding one (kept out of the
 * environment, since it carries client secrets).
 */
export function loadSsoProviders(raw: string | undefined, problems: string[]): readonly SsoProviderConfig[] {
  const value = raw?.trim();
  if (!value) return Object.freeze([]);
  let json = value;
  if (!value.startsWith('[') && !value.startsWith('{')) {
    if (!existsSync(value)) {
      problems.push(`SSO_PROVIDERS must be a JSON array of providers or the path of a file holding one (no file at "${value}")`);
      return [];
    }
    json = readFileSync(value, 'utf8');
  }
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch (error) {
    // The parser's own message quotes the text around the mistake: client secrets, in a log.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    problems.push(`SSO_PROVIDERS is not valid JSON${position === undefined ? '' : ` (at position ${position})`}`);
    return [];
  }
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p))) {
    problems.push('SSO_PROVIDERS must be a JSON array of objects');
    return [];
  }
  const providers: SsoProviderConfig[] = [];
  list.forEach((input, i) => {
    const provider = resolveSsoProvider(input as SsoProviderInput, `SSO_PROVIDERS[${i}]`, problems);
    if (provider && providers.some((p) => p.id === provider.id)) problems.push(`SSO_PROVIDERS[${i}]: id "${provider.id}" is used twice`);
    else if (provider) providers.push(provider);
  });
  return Object.freeze(providers);
}
