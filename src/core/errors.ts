/**
 * Domain errors. Core code throws these and never mentions HTTP; the HTTP layer maps each `code`
 * to a status in one table. Callers switch on `code`, which is stable across releases.
 */
export class AppError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class ValidationError extends AppError {
  readonly errors: readonly FieldError[];
  constructor(errors: FieldError[], message = 'The request is not valid.') {
    super('ERR_VALIDATION', message);
    this.errors = errors;
  }
  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

/** Wrong credentials, unknown user and disabled account all look the same (ENUM-01). */
export class InvalidCredentialsError extends AppError {
  constructor() {
    super('ERR_AUTH_INVALID_CREDENTIALS', 'The login or password is incorrect.');
  }
}

export type TokenProblem = 'missing' | 'malformed' | 'invalid' | 'expired' | 'revoked';

/** The access token is missing, malformed, expired, or no longer honoured. */
export class UnauthenticatedError extends AppError {
  readonly problem: TokenProblem;
  constructor(problem: TokenProblem, message = 'A valid access token is required.') {
    super(problem === 'expired' ? 'ERR_AUTH_TOKEN_EXPIRED' : problem === 'missing' ? 'ERR_AUTH_REQUIRED' : 'ERR_AUTH_TOKEN_INVALID', message);
    this.problem = problem;
  }
}

export class InvalidRefreshTokenError extends AppError {
  constructor(message = 'The refresh token is invalid, expired or revoked.') {
    super('ERR_AUTH_INVALID_REFRESH_TOKEN', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this.', code = 'ERR_FORBIDDEN') {
    super(code, message);
  }
}

/** EMAIL-01: a used, expired, unknown or voided link or code: one answer for all of them. */
export class InvalidEmailTokenError extends AppError {
  constructor(message = 'The link or code is invalid or has expired. Ask for a new one.') {
    super('ERR_TOKEN_INVALID', message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(`ERR_${what.toUpperCase()}_NOT_FOUND`, `The ${what} was not found.`);
  }
}

export class ConflictError extends AppError {
  readonly field: string | undefined;
  constructor(code: string, message: string, field?: string) {
    super(code, message);
    this.field = field;
  }
}

/** Too many attempts; try again after `retryAfterSeconds`. */
export class TooManyRequestsError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, message = 'Too many attempts. Try again later.') {
    super('ERR_RATE_LIMITED', message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** Too much work queued right now (a login storm); come back after `retryAfterSeconds`. */
export class BusyError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('ERR_BUSY', 'The service is busy. Try again in a moment.');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * OAuth 2.0 failures that have no counterpart among the errors above (RFC 6749 §5.2). The HTTP
 * layer turns `code` into the RFC's `error` value.
 */
export type OAuthErrorCode = 'ERR_OAUTH_INVALID_CLIENT' | 'ERR_OAUTH_UNAUTHORIZED_CLIENT' | 'ERR_OAUTH_INVALID_SCOPE';

export class OAuthClientError extends AppError {
  declare readonly code: OAuthErrorCode;
  constructor(code: OAuthErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * A dependency (the database, its disk) did not answer within its deadline or is away. Nothing was
 * wrong with the request: the client may try again after `retryAfterSeconds`.
 */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds: number;
  /** What went wrong underneath (for the log only: clients get `message`). */
  readonly reason: string | null;
  constructor(code: 'ERR_STORAGE_UNAVAILABLE' | 'ERR_STORAGE_FULL', message: string, retryAfterSeconds = 5, reason: string | null = null) {
    super(code, message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
    this.reason = reason;
  }

  /** The database (its disk) has no space for a write. */
  static full(reason: string | null, retryAfterSeconds = 30): UnavailableError {
    return new UnavailableError('ERR_STORAGE_FULL', 'The database has no space left; try again later.', retryAfterSeconds, reason);
  }
}
