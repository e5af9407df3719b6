/**
 * Domain errors. Core code throws these and never mentions HTTP. Every code the service can answer
 * with is declared once, in ERRORS below, with its kind and default message; the HTTP layer maps
 * each kind to a status in one table (and, on the OAuth endpoints, to an RFC 6749 error value).
 * Callers switch on `code`, which is stable across releases: never rename one.
 *
 * To add a code: one line in ERRORS (pick an existing kind if one fits; a new kind also needs its
 * row in the HTTP layer's status and OAuth tables, which the compiler asks for).
 */

/** What kind of failure a code is: this, not the code's spelling, decides status and OAuth error. */
export type ErrorKind =
  /** The request itself is wrong (a field, the whole body, the way a token was sent). */
  | 'invalid_input'
  /** A login password or refresh token was presented and is wrong (ENUM-01: which part, unsaid). */
  | 'invalid_credentials'
  /** No acceptable access token. */
  | 'unauthenticated'
  | 'forbidden'
  /** The right password, but the account's email address is not verified yet (EMAIL_VERIFICATION=required). */
  | 'unverified'
  | 'not_found'
  /** The change contradicts the current state (a taken name, the last admin). */
  | 'conflict'
  | 'rate_limited'
  /** Too much work queued right now; nothing wrong with the request. */
  | 'busy'
  /** A dependency is away or full; nothing wrong with the request. */
  | 'unavailable'
  /** OAuth client authentication failed (RFC 6749 §5.2). */
  | 'invalid_client'
  /** The client may not use this grant (RFC 6749 §5.2). */
  | 'unauthorized_client'
  | 'invalid_scope'
  /** Refused at the protocol level before any route ran (raised by the HTTP layer only). */
  | 'too_large'
  | 'unsupported_media_type'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'timeout'
  /** Our fault; the detail goes to the log only. */
  | 'internal';

/** Every error code, its kind and its default message. The spelling of a code is its contract. */
export const ERRORS = {
  ERR_VALIDATION: { kind: 'invalid_input', message: 'The request is not valid.' },
  ERR_BAD_REQUEST: { kind: 'invalid_input', message: 'The request is malformed.' },
  ERR_AUTH_INVALID_REQUEST: { kind: 'invalid_input', message: 'Send exactly one access token.' },
  ERR_AUTH_INVALID_CREDENTIALS: { kind: 'invalid_credentials', message: 'The login or password is incorrect.' },
  ERR_AUTH_INVALID_REFRESH_TOKEN: { kind: 'invalid_credentials', message: 'The refresh token is invalid, expired or revoked.' },
  ERR_AUTH_REQUIRED: { kind: 'unauthenticated', message: 'A valid access token is required.' },
  ERR_AUTH_TOKEN_INVALID: { kind: 'unauthenticated', message: 'A valid access token is required.' },
  ERR_AUTH_TOKEN_EXPIRED: { kind: 'unauthenticated', message: 'A valid access token is required.' },
  ERR_FORBIDDEN: { kind: 'forbidden', message: 'You are not allowed to do this.' },
  ERR_THIRD_PARTY_TOKEN: { kind: 'forbidden', message: 'This access token was issued to another application; it is not accepted here.' },
  ERR_FORBIDDEN_ORIGIN: { kind: 'forbidden', message: 'This request comes from a site that may not use the sign-in cookie.' },
  ERR_NOT_FOUND: { kind: 'not_found', message: 'Not found.' },
  ERR_USER_NOT_FOUND: { kind: 'not_found', message: 'The user was not found.' },
  ERR_ITEM_NOT_FOUND: { kind: 'not_found', message: 'The item was not found.' },
  ERR_KEY_NOT_FOUND: { kind: 'not_found', message: 'The key was not found.' },
  ERR_SESSION_NOT_FOUND: { kind: 'not_found', message: 'The session was not found.' },
  ERR_USER_CONFLICT: { kind: 'conflict', message: 'That username is taken.' },
  ERR_USER_LAST_ADMIN: { kind: 'conflict', message: 'The last admin cannot be demoted, disabled or deleted.' },
  ERR_ITEM_CONFLICT: { kind: 'conflict', message: 'An item with that name exists.' },
  ERR_KEYS_HS256: { kind: 'conflict', message: 'In HS256 mode the key is JWT_SECRET; rotate it by changing the secret.' },
  ERR_KEYS_ALGORITHM: { kind: 'conflict', message: 'The signing keys do not match the configured algorithm.' },
  ERR_KEYS_SIGNING: { kind: 'conflict', message: 'This key signs new tokens; rotate first, then retire it.' },
  ERR_RATE_LIMITED: { kind: 'rate_limited', message: 'Too many attempts. Try again later.' },
  ERR_BUSY: { kind: 'busy', message: 'The service is busy. Try again in a moment.' },
  ERR_STORAGE_UNAVAILABLE: { kind: 'unavailable', message: 'The database is not answering; try again shortly.' },
  ERR_STORAGE_FULL: { kind: 'unavailable', message: 'The database has no space left; try again later.' },
  ERR_NOT_READY: { kind: 'unavailable', message: 'A dependency this service needs is not available.' },
  ERR_METRICS_UNAVAILABLE: { kind: 'unavailable', message: 'The metrics of every worker could not be gathered; try again shortly.' },
  ERR_UI_NOT_BUILT: { kind: 'unavailable', message: 'The hosted pages are not built: run npm run build.' },
  ERR_OAUTH_INVALID_CLIENT: { kind: 'invalid_client', message: 'Client authentication failed.' },
  ERR_OAUTH_UNAUTHORIZED_CLIENT: { kind: 'unauthorized_client', message: 'This client may not use this grant.' },
  ERR_OAUTH_INVALID_SCOPE: { kind: 'invalid_scope', message: 'The scope parameter is malformed (RFC 6749 §3.3).' },
  ERR_BODY_TOO_LARGE: { kind: 'too_large', message: 'The request body is too large.' },
  ERR_UNSUPPORTED_MEDIA_TYPE: { kind: 'unsupported_media_type', message: 'Send the body as application/json.' },
  ERR_URI_TOO_LONG: { kind: 'uri_too_long', message: 'A path segment is too long.' },
  ERR_HEADERS_TOO_LARGE: { kind: 'headers_too_large', message: 'The request headers are too large.' },
  ERR_REQUEST_TIMEOUT: { kind: 'timeout', message: 'The request was not received in time.' },
  ERR_INTERNAL: { kind: 'internal', message: 'Something went wrong on our side.' },
  ERR_STARTUP_DATABASE: { kind: 'internal', message: 'Cannot open the database.' },
  ERR_EMAIL_UNVERIFIED: { kind: 'unverified', message: 'Verify your email address first.' },
  ERR_TOKEN_INVALID: { kind: 'invalid_input', message: 'The link or code is invalid or has expired. Ask for a new one.' },
  ERR_MIGRATION_CHANGED: { kind: 'internal', message: 'An applied migration changed since it was applied.' },
  ERR_SSO_PROVIDER_NOT_FOUND: { kind: 'not_found', message: 'No identity provider has that id.' },
  ERR_SSO_PROVIDER_CONFLICT: { kind: 'conflict', message: 'An identity provider with that id exists.' },
  ERR_SSO_FLOW_INVALID: { kind: 'invalid_input', message: 'This sign-in attempt is unknown, used or expired. Start again.' },
  ERR_SSO_REFUSED: { kind: 'forbidden', message: 'The identity provider did not confirm who you are.' },
  ERR_SSO_NO_EMAIL: { kind: 'forbidden', message: 'The identity provider gave no usable email address.' },
  ERR_SSO_LINK_REQUIRED: { kind: 'conflict', message: 'An account with this email address exists: sign in to it, then link this provider from your account page.' },
  ERR_SSO_IDENTITY_TAKEN: { kind: 'conflict', message: 'That account at the identity provider is linked to another user.' },
  ERR_SSO_IDENTITY_NOT_FOUND: { kind: 'not_found', message: 'No such linked identity.' },
  ERR_SSO_UNAVAILABLE: { kind: 'unavailable', message: 'The identity provider is not answering; try again later.' },
  ERR_AUTH_STEP_UP_REQUIRED: { kind: 'unauthenticated', message: 'Confirm it is you: sign in again or reauthenticate, then retry.' },
  ERR_LAST_SIGN_IN_METHOD: { kind: 'conflict', message: 'This is the last way to sign in to the account; add another before removing it.' },
  ERR_MFA_INVALID_CODE: { kind: 'invalid_credentials', message: 'The code is incorrect or was already used.' },
  ERR_MFA_TOKEN_INVALID: { kind: 'invalid_credentials', message: 'The sign-in step has expired or was already completed; sign in again.' },
  ERR_MFA_NOT_FOUND: { kind: 'not_found', message: 'The factor was not found.' },
  ERR_WEBAUTHN_REFUSED: { kind: 'invalid_credentials', message: 'The passkey could not be verified.' },
  ERR_WEBAUTHN_INVALID: { kind: 'invalid_input', message: 'The passkey registration could not be verified.' },
  ERR_MFA_ENROLMENT_REQUIRED: { kind: 'forbidden', message: 'Add a second factor (an authenticator app or a passkey) first.' },
  ERR_CLIENT_NOT_FOUND: { kind: 'not_found', message: 'The OAuth client was not found.' },
  ERR_CLIENT_CONFLICT: { kind: 'conflict', message: 'A client with that id exists.' },
  ERR_OAUTH_INVALID_GRANT: { kind: 'invalid_credentials', message: 'The authorization code is invalid, expired, used, or was issued to another client or redirect URI.' },
  ERR_OAUTH_REQUEST_NOT_FOUND: { kind: 'not_found', message: 'The authorization request is unknown or has expired; start again from the application.' },
  ERR_CONSENT_NOT_FOUND: { kind: 'not_found', message: 'No consent to that client was found.' },
} as const satisfies Record<string, { readonly kind: ErrorKind; readonly message: string }>;

/** A declared code: throwing any other string does not compile. */
export type ErrorCode = keyof typeof ERRORS;

/** The codes of one kind, so each subclass accepts only its own. */
export type CodeOf<K extends ErrorKind> = { [C in ErrorCode]: (typeof ERRORS)[C]['kind'] extends K ? C : never }[ErrorCode];

export function kindOf(code: ErrorCode): ErrorKind {
  return ERRORS[code].kind;
}

/** The message to carry: the caller's, else the table's. A code from outside TypeScript's view fails loudly here. */
function messageFor(code: ErrorCode, message: string | undefined): string {
  if (!Object.hasOwn(ERRORS, code)) throw new TypeError(`undeclared error code ${String(code)}`);
  return message ?? ERRORS[code].message;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  constructor(code: ErrorCode, message?: string) {
    super(messageFor(code, message));
    this.name = new.target.name;
    this.code = code;
    this.kind = ERRORS[code].kind;
  }
}

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class ValidationError extends AppError {
  readonly errors: readonly FieldError[];
  constructor(errors: FieldError[], message?: string) {
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
    super('ERR_AUTH_INVALID_CREDENTIALS');
  }
}

export type TokenProblem = 'missing' | 'malformed' | 'invalid' | 'expired' | 'revoked';

/** The access token is missing, malformed, expired, or no longer honoured. */
export class UnauthenticatedError extends AppError {
  readonly problem: TokenProblem;
  constructor(problem: TokenProblem, message?: string) {
    super(problem === 'expired' ? 'ERR_AUTH_TOKEN_EXPIRED' : problem === 'missing' ? 'ERR_AUTH_REQUIRED' : 'ERR_AUTH_TOKEN_INVALID', message);
    this.problem = problem;
  }
}

export class InvalidRefreshTokenError extends AppError {
  constructor(message?: string) {
    super('ERR_AUTH_INVALID_REFRESH_TOKEN', message);
  }
}

export class ForbiddenError extends AppError {
  declare readonly code: CodeOf<'forbidden'>;
  constructor(message?: string, code: CodeOf<'forbidden'> = 'ERR_FORBIDDEN') {
    super(code, message);
  }
}

/**
 * MFA-05, RFC 9470: the access token is valid, but the user proved who they are too long ago for
 * this route; a new proof (POST /auth/reauthenticate) lets the request through.
 */
export class StepUpRequiredError extends AppError {
  constructor(readonly maxAgeSeconds: number) {
    super('ERR_AUTH_STEP_UP_REQUIRED');
  }
}

/** MFA-07: removing this would leave the account with no way to sign in. */
export class LastSignInMethodError extends AppError {
  constructor() {
    super('ERR_LAST_SIGN_IN_METHOD');
  }
}

/** EMAIL-01: a used, expired, unknown or voided link or code: one answer for all of them. */
export class InvalidEmailTokenError extends AppError {
  constructor(message = 'The link or code is invalid or has expired. Ask for a new one.') {
    super('ERR_TOKEN_INVALID', message);
  }
}

export class NotFoundError extends AppError {
  declare readonly code: CodeOf<'not_found'>;
  constructor(code: CodeOf<'not_found'>, message?: string) {
    super(code, message);
  }
}

export class ConflictError extends AppError {
  declare readonly code: CodeOf<'conflict'>;
  readonly field: string | undefined;
  constructor(code: CodeOf<'conflict'>, message?: string, field?: string) {
    super(code, message);
    this.field = field;
  }
}

/** Too many attempts; try again after `retryAfterSeconds`. */
export class TooManyRequestsError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, message?: string) {
    super('ERR_RATE_LIMITED', message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** Too much work queued right now (a login storm); come back after `retryAfterSeconds`. */
export class BusyError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('ERR_BUSY');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * OAuth 2.0 failures that have no counterpart among the errors above (RFC 6749 §5.2). Each code's
 * kind is named after the RFC's `error` value, which the OAuth routes answer with.
 */
export type OAuthErrorCode = CodeOf<'invalid_client' | 'unauthorized_client' | 'invalid_scope'>;

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
  declare readonly code: 'ERR_STORAGE_UNAVAILABLE' | 'ERR_STORAGE_FULL';
  constructor(code: 'ERR_STORAGE_UNAVAILABLE' | 'ERR_STORAGE_FULL', message: string, retryAfterSeconds = 5, reason: string | null = null) {
    super(code, message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
    this.reason = reason;
  }

  /** The database (its disk) has no space for a write. */
  static full(reason: string | null, retryAfterSeconds = 30): UnavailableError {
    return new UnavailableError('ERR_STORAGE_FULL', ERRORS.ERR_STORAGE_FULL.message, retryAfterSeconds, reason);
  }
}
