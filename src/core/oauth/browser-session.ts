import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Which Gatehouse sign-in a browser holds at the authorization endpoint: the session the hosted
 * pages signed in with, when and how. It travels in an HttpOnly cookie, sealed with a server key,
 * so a later authorization request (another app, `prompt=none`) can be answered without a page.
 */
export interface BrowserSession {
  readonly sessionId: string;
  readonly userId: string;
  /** When the user signed in (epoch ms). */
  readonly authTime: number;
  /** RFC 8176 methods of that sign-in. */
  readonly amr: readonly string[];
}

const mac = (payload: string, key: Buffer) => createHmac('sha256', key).update(`gatehouse-browser-session\0${payload}`).digest('base64url');

/** The cookie value: the session as base64url JSON and its HMAC. */
export function sealBrowserSession(session: BrowserSession, key: Buffer): string {
  const payload = Buffer.from(JSON.stringify({ s: session.sessionId, u: session.userId, t: session.authTime, a: session.amr })).toString('base64url');
  return `${payload}.${mac(payload, key)}`;
}

/** The session a cookie value names, or null when it is malformed or not ours (forged, or from another deployment). */
export function openBrowserSession(value: string | undefined, key: Buffer): BrowserSession | null {
  if (!value || value.length > 2048) return null;
  const [payload, tag, extra] = value.split('.');
  if (!payload || !tag || extra !== undefined) return null;
  const expected = Buffer.from(mac(payload, key));
  const given = Buffer.from(tag);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { s: unknown; u: unknown; t: unknown; a: unknown };
    if (typeof p.s !== 'string' || typeof p.u !== 'string' || typeof p.t !== 'number' || !Array.isArray(p.a)) return null;
    return { sessionId: p.s, userId: p.u, authTime: p.t, amr: p.a.filter((m): m is string => typeof m === 'string') };
  } catch {
    return null;
  }
}
