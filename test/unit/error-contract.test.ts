import { describe, expect, it } from 'vitest';
import {
  AppError,
  BusyError,
  ConflictError,
  ERRORS,
  ForbiddenError,
  InvalidCredentialsError,
  InvalidRefreshTokenError,
  NotFoundError,
  OAuthClientError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
  type ErrorCode,
  type ErrorKind,
} from '../../src/core/errors.js';
import { problem, STATUS_OF_KIND, statusOf } from '../../src/http/plugins/errors.js';
import { OAUTH_ERROR_OF_KIND } from '../../src/http/routes/oauth.js';

const codes = Object.keys(ERRORS) as ErrorCode[];
const kinds = Object.keys(STATUS_OF_KIND) as ErrorKind[];

/**
 * The status every code was answered with before the table existed (the tests and the OpenAPI
 * document rely on them): a change here is a breaking change of the HTTP contract.
 */
const STATUS_BEFORE: Record<ErrorCode, number> = {
  ERR_VALIDATION: 400,
  ERR_BAD_REQUEST: 400,
  ERR_AUTH_INVALID_REQUEST: 400,
  ERR_AUTH_INVALID_CREDENTIALS: 401,
  ERR_AUTH_INVALID_REFRESH_TOKEN: 401,
  ERR_AUTH_REQUIRED: 401,
  ERR_AUTH_TOKEN_INVALID: 401,
  ERR_AUTH_TOKEN_EXPIRED: 401,
  ERR_FORBIDDEN: 403,
  ERR_FORBIDDEN_ORIGIN: 403,
  ERR_THIRD_PARTY_TOKEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_USER_NOT_FOUND: 404,
  ERR_ITEM_NOT_FOUND: 404,
  ERR_KEY_NOT_FOUND: 404,
  ERR_SESSION_NOT_FOUND: 404,
  ERR_USER_CONFLICT: 409,
  ERR_USER_LAST_ADMIN: 409,
  ERR_ITEM_CONFLICT: 409,
  ERR_KEYS_HS256: 409,
  ERR_KEYS_ALGORITHM: 409,
  ERR_KEYS_SIGNING: 409,
  ERR_RATE_LIMITED: 429,
  ERR_BUSY: 503,
  ERR_STORAGE_UNAVAILABLE: 503,
  ERR_UI_NOT_BUILT: 503,
  ERR_METRICS_UNAVAILABLE: 503,
  ERR_STORAGE_FULL: 503,
  ERR_NOT_READY: 503,
  ERR_OAUTH_INVALID_CLIENT: 400,
  ERR_OAUTH_UNAUTHORIZED_CLIENT: 400,
  ERR_OAUTH_INVALID_SCOPE: 400,
  ERR_BODY_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_URI_TOO_LONG: 414,
  ERR_HEADERS_TOO_LARGE: 431,
  ERR_REQUEST_TIMEOUT: 408,
  ERR_INTERNAL: 500,
  ERR_STARTUP_DATABASE: 500,
  ERR_MIGRATION_CHANGED: 500,
  ERR_EMAIL_UNVERIFIED: 403,
  ERR_TOKEN_INVALID: 400,
  ERR_SSO_PROVIDER_NOT_FOUND: 404,
  ERR_SSO_PROVIDER_CONFLICT: 409,
  ERR_SSO_FLOW_INVALID: 400,
  ERR_SSO_REFUSED: 403,
  ERR_SSO_NO_EMAIL: 403,
  ERR_SSO_LINK_REQUIRED: 409,
  ERR_SSO_IDENTITY_TAKEN: 409,
  ERR_SSO_IDENTITY_NOT_FOUND: 404,
  ERR_SSO_UNAVAILABLE: 503,
  ERR_AUTH_STEP_UP_REQUIRED: 401,
  ERR_LAST_SIGN_IN_METHOD: 409,
  ERR_MFA_INVALID_CODE: 401,
  ERR_MFA_TOKEN_INVALID: 401,
  ERR_MFA_NOT_FOUND: 404,
  ERR_WEBAUTHN_REFUSED: 401,
  ERR_WEBAUTHN_INVALID: 400,
  ERR_MFA_ENROLMENT_REQUIRED: 403,
  ERR_CLIENT_NOT_FOUND: 404,
  ERR_CLIENT_CONFLICT: 409,
  ERR_OAUTH_INVALID_GRANT: 401,
  ERR_OAUTH_REQUEST_NOT_FOUND: 404,
  ERR_CONSENT_NOT_FOUND: 404,
};

/** RFC 6749 §5.2's error values: nothing else may reach an OAuth client. */
const RFC6749_ERRORS = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'];

describe('the error contract (IN-07: stable codes)', () => {
  it('IN-07: every code is spelled ERR_…, has a declared kind and a default message, and every kind a status', () => {
    for (const code of codes) {
      expect(code).toMatch(/^ERR_[A-Z0-9_]+$/);
      expect(kinds).toContain(ERRORS[code].kind);
      expect(ERRORS[code].message.length).toBeGreaterThan(0);
    }
    for (const kind of kinds) {
      expect(STATUS_OF_KIND[kind]).toBeGreaterThanOrEqual(400);
      expect(STATUS_OF_KIND[kind]).toBeLessThan(600);
    }
    // Kinds with no code are dead rows; codes with a kind not in the table would not compile.
    expect(new Set(codes.map((code) => ERRORS[code].kind))).toEqual(new Set(kinds));
  });

  it('IN-07: every code keeps the status and problem type it had before the table', () => {
    expect(Object.keys(STATUS_BEFORE).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      expect({ code, status: statusOf(code) }).toEqual({ code, status: STATUS_BEFORE[code] });
      const body = problem(code, 'detail');
      expect(body.status).toBe(STATUS_BEFORE[code]);
      expect(body.code).toBe(code);
    }
    expect(problem('ERR_AUTH_REQUIRED', 'x').type).toBe('urn:gatehouse:problem:auth-required');
    expect(problem('ERR_FORBIDDEN_ORIGIN', 'x').type).toBe('urn:gatehouse:problem:forbidden-origin');
    expect(problem('ERR_STORAGE_FULL', 'x')).toMatchObject({ type: 'urn:gatehouse:problem:storage-full', title: 'Service Unavailable' });
  });

  it('the OAuth mapping is total, answers every kind the OAuth routes meet with an RFC 6749 error, and leaves the rest to problem details', () => {
    expect(Object.keys(OAUTH_ERROR_OF_KIND).sort()).toEqual([...kinds].sort());
    const metOnOAuthRoutes: ErrorKind[] = [
      'invalid_input',
      'invalid_credentials',
      'invalid_client',
      'unauthorized_client',
      'invalid_scope',
      'rate_limited',
      'too_large',
      'unsupported_media_type',
    ];
    for (const kind of metOnOAuthRoutes) {
      const answer = OAUTH_ERROR_OF_KIND[kind];
      expect(answer, kind).not.toBeNull();
      expect(RFC6749_ERRORS).toContain(answer!.error);
    }
    expect(OAUTH_ERROR_OF_KIND.invalid_credentials).toEqual({ status: 400, error: 'invalid_grant' });
    expect(OAUTH_ERROR_OF_KIND.invalid_client).toEqual({ status: 401, error: 'invalid_client' });
    expect(OAUTH_ERROR_OF_KIND.rate_limited).toEqual({ status: 429, error: 'invalid_request' });
    // A cross-site cookie refusal (403 ERR_FORBIDDEN_ORIGIN), a saturated hasher and an outage stay problem+json.
    for (const kind of ['forbidden', 'busy', 'unavailable', 'internal'] as const) expect(OAUTH_ERROR_OF_KIND[kind]).toBeNull();
  });

  it('ENUM-01: a wrong password and a bad refresh token are one kind, answered alike', () => {
    expect(new InvalidCredentialsError().kind).toBe('invalid_credentials');
    expect(new InvalidRefreshTokenError().kind).toBe('invalid_credentials');
    expect(new InvalidCredentialsError().message).toBe('The login or password is incorrect.');
  });

  it('subclasses take their code, kind and default message from the table', () => {
    const cases: [AppError, ErrorCode, ErrorKind][] = [
      [ValidationError.field('name', 'is required'), 'ERR_VALIDATION', 'invalid_input'],
      [new UnauthenticatedError('missing'), 'ERR_AUTH_REQUIRED', 'unauthenticated'],
      [new UnauthenticatedError('expired'), 'ERR_AUTH_TOKEN_EXPIRED', 'unauthenticated'],
      [new UnauthenticatedError('revoked'), 'ERR_AUTH_TOKEN_INVALID', 'unauthenticated'],
      [new ForbiddenError(), 'ERR_FORBIDDEN', 'forbidden'],
      [new NotFoundError('ERR_USER_NOT_FOUND'), 'ERR_USER_NOT_FOUND', 'not_found'],
      [new ConflictError('ERR_USER_LAST_ADMIN'), 'ERR_USER_LAST_ADMIN', 'conflict'],
      [new TooManyRequestsError(3), 'ERR_RATE_LIMITED', 'rate_limited'],
      [new BusyError(1), 'ERR_BUSY', 'busy'],
      [UnavailableError.full(null), 'ERR_STORAGE_FULL', 'unavailable'],
      [new OAuthClientError('ERR_OAUTH_INVALID_SCOPE', 'bad scope'), 'ERR_OAUTH_INVALID_SCOPE', 'invalid_scope'],
    ];
    for (const [error, code, kind] of cases) {
      expect({ code: error.code, kind: error.kind }).toEqual({ code, kind });
      expect(error.message.length).toBeGreaterThan(0);
    }
    expect(new NotFoundError('ERR_ITEM_NOT_FOUND').message).toBe('The item was not found.');
    expect(new ConflictError('ERR_USER_LAST_ADMIN').message).toBe(ERRORS.ERR_USER_LAST_ADMIN.message);
  });

  it('AC-06: an undeclared code does not compile, and fails loudly should one arrive from outside the type system', () => {
    // @ts-expect-error: not a declared code
    expect(() => new AppError('ERR_NOT_DECLARED', 'x')).toThrow(/undeclared error code ERR_NOT_DECLARED/);
    // @ts-expect-error: a not_found code is not a conflict
    expect(new ConflictError('ERR_USER_NOT_FOUND').kind).toBe('not_found');
    // @ts-expect-error: the old spelling, a string the code was built from
    expect(() => new NotFoundError('user')).toThrow(TypeError);
  });
});
