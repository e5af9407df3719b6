import { randomBytes } from 'node:crypto';
import type { SecretBox } from '../crypto/secret-box.js';
import { FederationError } from './errors.js';
import type { FlowChecks } from './upstream.js';

/** How long a browser may spend at the provider between start and callback. */
export const FLOW_TTL_MS = 10 * 60_000;

/** What a flow remembers between /start and /callback: kept in the browser, sealed. */
export interface Flow extends FlowChecks {
  readonly id: string;
  readonly provider: string;
  readonly expiresAt: number;
  /** Where the browser goes afterwards (checked against the allowed origins by the page). */
  readonly redirectTo: string | null;
  /** Set when started from the account page: the upstream account is linked to this user. */
  readonly linkUserId: string | null;
  /** The session that started the link: it must still be live at the callback (a link outlives no sign-out). */
  readonly linkSessionId: string | null;
}

const random = () => randomBytes(32).toString('base64url');

export function newFlow(provider: string, now: number, options: { redirectTo: string | null; linkUserId: string | null; linkSessionId: string | null }): Flow {
  return { id: random(), provider, state: random(), nonce: random(), codeVerifier: random(), expiresAt: now + FLOW_TTL_MS, ...options };
}

/**
 * The flow travels in an HttpOnly cookie sealed with the SecretBox (AES-GCM, the provider id as
 * associated data): the browser can neither read the PKCE verifier nor change where it is linked
 * to, and a flow started for one provider does not open at another's callback.
 */
export function sealFlow(secrets: SecretBox, flow: Flow): string {
  return secrets.seal(JSON.stringify(flow), `sso-flow:${flow.provider}`);
}

export function openFlow(secrets: SecretBox, sealed: string | undefined, provider: string, now: number): Flow {
  if (!sealed) throw new FederationError('flow', undefined, 'no flow cookie');
  let flow: Flow;
  try {
    flow = JSON.parse(secrets.open(sealed, `sso-flow:${provider}`)) as Flow;
  } catch {
    throw new FederationError('flow', undefined, 'flow cookie does not open');
  }
  if (flow.provider !== provider || flow.expiresAt <= now) throw new FederationError('flow', undefined, 'flow expired');
  return flow;
}
