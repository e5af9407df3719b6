import { AppError, type ErrorCode } from '../errors.js';

/** Why a federated sign-in was refused, as the audit trail records it. */
export type RefusalReason = 'flow' | 'denied' | 'token' | 'no_email' | 'link_required' | 'identity_taken' | 'disabled' | 'unavailable' | 'last_method';

const CODE_OF: Record<RefusalReason, ErrorCode> = {
  flow: 'ERR_SSO_FLOW_INVALID',
  denied: 'ERR_SSO_REFUSED',
  token: 'ERR_SSO_REFUSED',
  no_email: 'ERR_SSO_NO_EMAIL',
  link_required: 'ERR_SSO_LINK_REQUIRED',
  identity_taken: 'ERR_SSO_IDENTITY_TAKEN',
  disabled: 'ERR_SSO_REFUSED',
  unavailable: 'ERR_SSO_UNAVAILABLE',
  last_method: 'ERR_LAST_SIGN_IN_METHOD',
};

/**
 * A federated sign-in, link or unlink that did not happen. `linking` says whether it came from the
 * account page (its error lands there); `detail` is for the log and audit only (what the library
 * said about a bad token), never for the browser.
 */
export class FederationError extends AppError {
  linking = false;
  constructor(
    readonly reason: RefusalReason,
    message?: string,
    readonly detail: string | null = null,
  ) {
    super(CODE_OF[reason], message);
  }
}
