/**
 * Every error this package throws for a token or a request carries a stable `code` to switch on.
 * Each code is declared once here with what it means for an HTTP answer; the adapters read this
 * table and decide nothing else. Misuse by a programmer (a missing option) is a plain TypeError.
 */
export const ERROR_CODES = {
  /** No bearer token in the request (RFC 6750 §3.1: the challenge carries no error code). */
  ERR_TOKEN_MISSING: { status: 401, bearerError: null, title: 'Unauthorized' },
  /** Malformed, forged, wrongly signed, of the wrong type, issuer or audience. */
  ERR_TOKEN_INVALID: { status: 401, bearerError: 'invalid_token', title: 'Unauthorized' },
  /** Well formed and correctly signed, but past `exp` (plus the leeway). */
  ERR_TOKEN_EXPIRED: { status: 401, bearerError: 'invalid_token', title: 'Unauthorized' },
  /** Valid token without a scope the route requires. */
  ERR_INSUFFICIENT_SCOPE: { status: 403, bearerError: 'insufficient_scope', title: 'Forbidden' },
  /** Valid token whose role the route does not admit. */
  ERR_FORBIDDEN: { status: 403, bearerError: 'insufficient_scope', title: 'Forbidden' },
  /** The issuer's metadata or keys could not be fetched and no cached key fits the token. */
  ERR_DISCOVERY_FAILED: { status: 503, bearerError: null, title: 'Service Unavailable' },
} as const;

export type VerifyErrorCode = keyof typeof ERROR_CODES;

/** Base class of every error with a stable code; `instanceof VerifyError` catches them all. */
export class VerifyError extends Error {
  /** Stable machine-readable code, e.g. `ERR_TOKEN_EXPIRED`. */
  readonly code: VerifyErrorCode;
  /** The HTTP status the adapters answer with. */
  readonly status: number;

  constructor(code: VerifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

/** The request carries no bearer token. */
export class TokenMissingError extends VerifyError {
  constructor(message = 'This resource needs a bearer access token.') {
    super('ERR_TOKEN_MISSING', message);
  }
}

/** The token is not a valid Gatehouse access token for this issuer and audience. */
export class TokenInvalidError extends VerifyError {
  constructor(message = 'The access token is not valid.', options?: { cause?: unknown }) {
    super('ERR_TOKEN_INVALID', message, options);
  }
}

/** The token has expired. */
export class TokenExpiredError extends VerifyError {
  constructor(message = 'The access token has expired.', options?: { cause?: unknown }) {
    super('ERR_TOKEN_EXPIRED', message, options);
  }
}

/** The token lacks scopes the resource requires; `scope` lists them (for the challenge). */
export class InsufficientScopeError extends VerifyError {
  /** The scopes the resource requires, all of them. */
  readonly scope: readonly string[];

  constructor(scope: readonly string[], message = `This resource needs the scope ${scope.join(' ')}.`) {
    super('ERR_INSUFFICIENT_SCOPE', message);
    this.scope = scope;
  }
}

/** The token's role is not admitted here. */
export class ForbiddenError extends VerifyError {
  constructor(message = 'The access token does not grant access to this resource.') {
    super('ERR_FORBIDDEN', message);
  }
}

/** Metadata or keys could not be fetched, and no cached key can verify the token. */
export class DiscoveryFailedError extends VerifyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DISCOVERY_FAILED', message, options);
  }
}
