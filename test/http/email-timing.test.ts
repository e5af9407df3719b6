import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWASP_ARGON2ID } from '../../src/core/auth/password-hasher.js';
import { buildTestApp, signUp, type TestApp } from '../helpers/app.js';
import { queued } from '../helpers/mail.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

// EMAIL-02 asks for a measurement: production Argon2id parameters, samples interleaved in a new
// order each round so machine noise falls on both cases alike, compared by their medians.
describe.each([
  ['forgot-password', '/auth/password/forgot', 'reset_password'],
  ['sign-in by email', '/auth/email/sign-in', 'sign_in'],
])('EMAIL-02: %s answers alike for known and unknown addresses', (_label, url, kind) => {
  let t: TestApp;
  let known: string;
  beforeAll(async () => {
    t = await buildTestApp({ EMAIL_SIGN_IN: 'on' }, { argon2: OWASP_ARGON2ID });
    known = (await signUp(t)).email;
  }, 60_000);
  afterAll(() => t.close());

  const attempt = async (email: string) => {
    const started = process.hrtime.bigint();
    const res = await t.app.inject({ method: 'POST', url, payload: { email } });
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode, body: res.body };
  };

  it('EMAIL-02: byte-identical bodies, medians within 10%, and only the known address gets mail', { timeout: 60_000, retry: 2 }, async () => {
    const cases = { known, unknown: 'nobody-at-all@example.com' };
    const times: Record<keyof typeof cases, number[]> = { known: [], unknown: [] };
    const answers = new Set<string>();
    // Warm every path (JIT, statement cache) before measuring; a sample is well under a millisecond.
    for (let i = 0; i < 10; i++) for (const email of Object.values(cases)) await attempt(email);
    await t.services.email.idle();
    const order = Object.entries(cases) as [keyof typeof cases, string][];
    for (let i = 0; i < 101; i++) {
      order.sort(() => Math.random() - 0.5);
      for (const [label, email] of order) {
        const { ms, status, body } = await attempt(email);
        times[label].push(ms);
        answers.add(`${status} ${body}`);
        // The work after the answer is done before the next sample, so it slows neither case.
        await t.services.email.idle();
      }
    }
    expect([...answers]).toEqual([`202 ${JSON.stringify({ status: 'accepted', detail: 'If an account uses this address, a message is on its way.' })}`]);
    const ratio = median(times.unknown) / median(times.known);
    console.log(`EMAIL-02 ${url} medians (ms): known ${median(times.known).toFixed(3)}, unknown ${median(times.unknown).toFixed(3)}`);
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
    expect((await queued(t, { to: known, kind })).length).toBeGreaterThanOrEqual(100);
    expect(await queued(t, { to: cases.unknown })).toEqual([]);
  });
});
