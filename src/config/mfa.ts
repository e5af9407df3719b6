import { parseDuration } from './duration.js';

export type MfaRequirement = 'off' | 'admins' | 'all';

/** Second factors and step-up (MFA_REQUIRED, REAUTH_MAX_AGE, WEBAUTHN_RP_ID). */
export interface MfaConfig {
  /** Who must have a second factor: enrolment is asked for at their next sign-in. */
  readonly required: MfaRequirement;
  /** How recent a proof of presence "recent auth" routes want (RFC 9470 `max_age`). */
  readonly reauthMaxAgeMs: number;
  /** The WebAuthn relying party id: WEBAUTHN_RP_ID, else the host of PUBLIC_URL. */
  readonly rpId: string;
  /** The origins a passkey ceremony may come from: PUBLIC_URL's (the /ui pages are served there). */
  readonly origins: readonly string[];
}

type Env = Record<string, string | undefined>;

/** Reads the MFA block; every problem goes to `problems` so loadConfig reports them with the rest. */
export function loadMfaConfig(env: Env, publicUrl: string, problems: string[]): MfaConfig {
  const required = (env.MFA_REQUIRED?.trim().toLowerCase() || 'off') as MfaRequirement;
  if (!['off', 'admins', 'all'].includes(required)) problems.push(`MFA_REQUIRED must be off, admins or all (got "${env.MFA_REQUIRED}")`);
  const rawAge = env.REAUTH_MAX_AGE?.trim() || '5m';
  let reauthMaxAgeMs = parseDuration(rawAge);
  if (reauthMaxAgeMs === null || reauthMaxAgeMs < 1000 || reauthMaxAgeMs > 86_400_000) {
    problems.push(`REAUTH_MAX_AGE must be a duration from 1s to 24h such as 5m (got "${rawAge}")`);
    reauthMaxAgeMs = 300_000;
  }
  const url = new URL(publicUrl);
  const rpId = env.WEBAUTHN_RP_ID?.trim().toLowerCase() || url.hostname;
  // WebAuthn §5.1.4.1: the RP ID must be the origin's host or a registrable suffix of it.
  if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) problems.push(`WEBAUTHN_RP_ID must be the host of PUBLIC_URL or a parent domain of it (got "${rpId}")`);
  return Object.freeze({ required: ['off', 'admins', 'all'].includes(required) ? required : 'off', reauthMaxAgeMs, rpId, origins: Object.freeze([url.origin]) });
}
