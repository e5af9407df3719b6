export { createClient } from './create-client.js';
export { CLIENT_ERROR_CODES, GatehouseError, type ClientErrorCode, type ErrorCode } from './errors.js';
export type {
  ClientEvents,
  ClientOptions,
  FactorProof,
  GatehouseClient,
  LogoutScope,
  PasskeyAssertion,
  PasskeyOptions,
  PresenceProof,
  Problem,
  SignedInHow,
  SignedOutReason,
  SignInInput,
  SignInResult,
  SignUpInput,
  TokenResponse,
  TokenStorage,
  User,
} from './types.js';
export type { components, paths } from './generated/api.js';
