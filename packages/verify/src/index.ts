export { createVerifier } from './create-verifier.js';
export type { Verifier, VerifierOptions } from './create-verifier.js';
export { requireRole } from './require-role.js';
export { requireScope } from './require-scope.js';
export { ERROR_CODES, VerifyError, TokenMissingError, TokenInvalidError, TokenExpiredError, InsufficientScopeError, ForbiddenError, DiscoveryFailedError } from './errors.js';
export type { VerifyErrorCode } from './errors.js';
export type { AccessTokenClaims, Algorithm, Requirement } from './types.js';
