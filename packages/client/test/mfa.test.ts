import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type GatehouseClient } from '../src/index.js';
import { newAccount, startGatehouse, type LiveGatehouse } from './helpers.js';

const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { amr?: string[]; auth_time?: number; acr?: string };

// The second step and step-up, in Node (memory mode) against the real service on a real port.
describe('@gatehouse/client: second factors and reauthentication (MFA-04, MFA-05)', () => {
  let gatehouse: LiveGatehouse;
  const clients: GatehouseClient[] = [];
  beforeAll(async () => {
    gatehouse = await startGatehouse({});
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await gatehouse?.stop();
  });
  const clientFor = () => {
    const client = createClient({ baseUrl: gatehouse.url, mode: 'memory' });
    clients.push(client);
    return client;
  };

  it('MFA-04: signIn answers mfa-required with the methods; a wrong code is refused by code, a recovery code signs in; reauthenticate keeps the session', async () => {
    const account = await newAccount(gatehouse.url);
    const client = clientFor();
    expect(await client.signIn({ login: account.username, password: account.password })).toMatchObject({ status: 'signed-in' });
    // Enrol an authenticator app through the client's authenticated fetch.
    const start = (await (await client.fetch('/auth/mfa/totp', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as {
      id: string;
      secret: string;
    };
    const totp = new TOTP({ secret: Secret.fromBase32(start.secret), digits: 6, period: 30 });
    const confirm = await client.fetch(`/auth/mfa/totp/${start.id}/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: totp.generate() }),
    });
    expect(confirm.status).toBe(200);
    const { recovery_codes } = (await confirm.json()) as { recovery_codes: string[] };

    const second = clientFor();
    const step = await second.signIn({ login: account.username, password: account.password });
    expect(step).toMatchObject({ status: 'mfa-required', methods: ['totp', 'recovery_code'], webauthn: null });
    expect(second.user).toBeNull();
    if (step.status !== 'mfa-required') throw new Error('expected the second step');
    await expect(second.completeSignIn({ mfaToken: step.mfaToken, code: String((Number(totp.generate()) + 1) % 1_000_000).padStart(6, '0') })).rejects.toMatchObject({
      code: 'ERR_MFA_INVALID_CODE',
      status: 401,
    });
    // The code of this step was spent by the enrolment: a recovery code finishes the sign-in.
    const done = await second.completeSignIn({ mfaToken: step.mfaToken, recoveryCode: recovery_codes[0]! });
    expect(done).toMatchObject({ status: 'signed-in', user: { username: account.username } });
    const token = (await second.getAccessToken())!;
    expect(claims(token)).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: 'aal2' });
    await expect(second.completeSignIn({ mfaToken: step.mfaToken, recoveryCode: recovery_codes[1]! })).rejects.toMatchObject({ code: 'ERR_MFA_TOKEN_INVALID' });

    // With a second factor the password alone does not reauthenticate; a factor does.
    await expect(second.reauthenticate({ password: account.password })).rejects.toMatchObject({ code: 'ERR_VALIDATION', status: 400 });
    await expect(second.reauthenticate({ recoveryCode: 'AAAA-AAAA-AAAA' })).rejects.toMatchObject({ code: 'ERR_MFA_INVALID_CODE' });
    await second.reauthenticate({ recoveryCode: recovery_codes[2]! });
    const fresh = (await second.getAccessToken())!;
    expect(fresh).not.toBe(token);
    expect(claims(fresh).auth_time).toBeGreaterThanOrEqual(claims(token).auth_time!);
    expect(claims(fresh).amr).toEqual(['otp']);
    // The session's refresh token was kept: a refresh still works and carries the new proof.
    const me = await second.fetch('/auth/me');
    expect(me.status).toBe(200);
  });

  it('passkeyOptions asks for discoverable passkeys (empty allow-list, user verification required)', async () => {
    const options = await clientFor().passkeyOptions();
    expect(options.challengeId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(options.options).toMatchObject({ userVerification: 'required', rpId: 'localhost' });
    expect((options.options.allowCredentials as unknown[] | undefined) ?? []).toEqual([]);
  });
});
