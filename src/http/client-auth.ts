import type { FastifyRequest } from 'fastify';
import { OAuthClientError } from '../core/errors.js';
import type { ClientCredentials } from '../core/oauth/clients.js';

/** The challenge sent with every invalid_client answer (RFC 6749 §5.2). */
export const CLIENT_CHALLENGE = 'Basic realm="gatehouse", charset="UTF-8"';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const invalidClient = (why: string) => new OAuthClientError('ERR_OAUTH_INVALID_CLIENT', `Client authentication failed: ${why}.`);

/** RFC 6749 §2.3.1: the id and secret are form-urlencoded before they are joined by a colon. */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw invalidClient('the Basic credentials are not form-urlencoded');
  }
}

function readBasic(header: string): { clientId: string; secret: string } {
  const match = /^basic +(\S+) *$/i.exec(header);
  if (!match || !BASE64.test(match[1]!)) throw invalidClient('the Authorization header is not Basic client credentials');
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(match[1]!, 'base64'));
  } catch {
    throw invalidClient('the Basic credentials are not UTF-8');
  }
  const colon = decoded.indexOf(':');
  if (colon < 1) throw invalidClient('the Basic credentials have no client id');
  return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/**
 * The client credentials of a token or revocation request (RFC 6749 §2.3): `client_secret_basic`
 * (Authorization: Basic), `client_secret_post` (client_id and client_secret in the body), or
 * `none` (a client_id alone, or nothing: the first-party client). An empty secret counts as no
 * secret, since several libraries send `id:` for public clients. Anything malformed, and two
 * methods at once, is invalid_client: a client must use exactly one (§2.3).
 */
export function clientCredentialsOf(request: FastifyRequest, body: { client_id?: string; client_secret?: string }): ClientCredentials {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const basic = readBasic(header);
    if (body.client_secret !== undefined) throw invalidClient('send the client secret in the Authorization header or the body, not both');
    // §3.2.1 lets a client repeat its id in the body; it must then be the same client.
    if (body.client_id !== undefined && body.client_id !== basic.clientId) throw invalidClient('client_id does not match the Authorization header');
    return basic.secret === '' ? { method: 'none', clientId: basic.clientId } : { method: 'client_secret_basic', ...basic };
  }
  if (body.client_secret !== undefined && body.client_secret !== '') {
    if (body.client_id === undefined) throw invalidClient('client_secret without client_id');
    return { method: 'client_secret_post', clientId: body.client_id, secret: body.client_secret };
  }
  return { method: 'none', clientId: body.client_id ?? null };
}
