import { Secret, TOTP } from 'otpauth';
import type { TestApp, TestUser } from './app.js';

/** The code an authenticator app shows for `secret` at `at` (ms), `steps` periods away: generated with otpauth, as the issue asks. */
export function totpCode(secret: string, at: number, steps = 0): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at + steps * 30_000 });
}

/** Enrols and confirms an authenticator app for `user` over HTTP; returns the secret and the recovery codes. */
export async function enrolTotp(t: TestApp, user: TestUser): Promise<{ id: string; secret: string; recoveryCodes: string[] }> {
  const start = await t.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: user.auth, payload: {} });
  if (start.statusCode !== 201) throw new Error(`enrol failed: ${start.statusCode} ${start.body}`);
  const { id, secret } = start.json() as { id: string; secret: string };
  const confirm = await t.app.inject({ method: 'POST', url: `/auth/mfa/totp/${id}/confirm`, headers: user.auth, payload: { code: totpCode(secret, t.clock.now()) } });
  if (confirm.statusCode !== 200) throw new Error(`confirm failed: ${confirm.statusCode} ${confirm.body}`);
  return { id, secret, recoveryCodes: (confirm.json() as { recovery_codes?: string[] }).recovery_codes ?? [] };
}
