/** The JWS algorithms Gatehouse signs access tokens with (its `JWT_ALGORITHM` setting). */
export type Algorithm = 'EdDSA' | 'ES256' | 'RS256' | 'HS256';

/** The claims of a verified Gatehouse access token (RFC 9068 plus Gatehouse's own). */
export interface AccessTokenClaims {
  /** The issuer, equal to the verifier's `issuer`. */
  readonly iss: string;
  /** The audience; contains the verifier's `audience`. */
  readonly aud: string | readonly string[];
  /** The user id. */
  readonly sub: string;
  /** The session the token belongs to. */
  readonly sid: string;
  /** The user's role when the token was issued (Gatehouse: `user` or `admin`). */
  readonly role: string;
  /** The OAuth client the token was issued to (RFC 9068 §2.2). */
  readonly client_id: string;
  /** The granted scope, space-separated; `''` when none was granted. */
  readonly scope: string;
  /** When the user authenticated (seconds since the epoch), when the server says. */
  readonly auth_time?: number;
  /** How the user authenticated (RFC 8176 values such as `pwd`, `otp`, `hwk`), when the server says. */
  readonly amr?: readonly string[];
  /** Token id. */
  readonly jti: string;
  /** Issued at (seconds since the epoch). */
  readonly iat: number;
  /** Expires at (seconds since the epoch). */
  readonly exp: number;
  /** Not before (seconds since the epoch), when present. */
  readonly nbf?: number;
  /** Any other claim, unchecked. */
  readonly [claim: string]: unknown;
}

/**
 * A check on verified claims that throws a {@link VerifyError} (`ERR_FORBIDDEN`,
 * `ERR_INSUFFICIENT_SCOPE`) when the claims do not satisfy it. Made by {@link requireRole} and
 * {@link requireScope}; the adapters run them after verification.
 */
export type Requirement = (claims: AccessTokenClaims) => void;
