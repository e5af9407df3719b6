import { StepUpRequiredError } from '../errors.js';

/**
 * MFA-05 (RFC 9470): throws StepUpRequiredError unless the user proved who they are (`auth_time`,
 * seconds) within `maxAgeMs` of `now`. A stolen access token, or a device left signed in, is then
 * not enough to change the password, the address, the factors, or to delete the account.
 */
export function assertRecentAuthentication(authTime: number | undefined, now: number, maxAgeMs: number): void {
  if (authTime === undefined || now - authTime * 1000 > maxAgeMs) throw new StepUpRequiredError(Math.floor(maxAgeMs / 1000));
}
