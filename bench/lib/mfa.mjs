// TOTP verify and passkey assertion verify, measured in process over the built services and a
// temporary SQLite file (no HTTP). Neither can be driven at volume over HTTP: a TOTP code is good
// once per user and step, and each second step needs a password login first (Argon2id would be
// what is measured); a passkey assertion answers one single-use challenge. So each operation gets
// its own pre-made input, and what is timed is exactly the verification a request does: for TOTP,
// the mfa_token lookup, the sealed seed opened, the code matched and its step swapped in, and the
// session started; for a passkey, the challenge taken, the credential found, the signature and
// flags checked (@simplewebauthn/server), the counter swapped in, and the session started.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Secret, TOTP } from 'otpauth';

const CHEAP_ARGON2 = { memoryCost: 64, timeCost: 1, parallelism: 1 };
const ORIGIN = 'http://localhost:3000';

function percentile(sorted, p) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const WARMUP_OPS = 100;

/**
 * Runs `ops` (each an async function) `concurrency` at a time; rate and latency percentiles. The
 * first WARMUP_OPS run first and are not counted: V8 optimises the paths while they run.
 */
async function run(all, concurrency) {
  for (const op of all.slice(0, WARMUP_OPS)) await op();
  const ops = all.slice(WARMUP_OPS);
  const latencies = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ops.length) {
        const op = ops[next++];
        const t0 = performance.now();
        try {
          await op();
        } catch {
          failed++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { operations: ops.length, failed, seconds, per_sec: ops.length / seconds, p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99) };
}

// --- a synced passkey (counter 0, backup flags set), enough of CTAP2 for `none` attestation ---
const cborHead = (major, n) => (n < 24 ? Buffer.from([(major << 5) | n]) : n < 256 ? Buffer.from([(major << 5) | 24, n]) : Buffer.from([(major << 5) | 25, n >> 8, n & 255]));
function cbor(v) {
  if (typeof v === 'number') return v >= 0 ? cborHead(0, v) : cborHead(1, -1 - v);
  if (typeof v === 'string') return Buffer.concat([cborHead(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (v instanceof Uint8Array) return Buffer.concat([cborHead(2, v.length), Buffer.from(v)]);
  const entries = v instanceof Map ? [...v] : Object.entries(v);
  return Buffer.concat([cborHead(5, entries.length), ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)])]);
}
const sha256 = (b) => createHash('sha256').update(b).digest();
function syncedPasskey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const id = randomBytes(16);
  const authData = (rpId, attested) => Buffer.concat([sha256(rpId), Buffer.from([0x01 | 0x04 | 0x18 | (attested ? 0x40 : 0)]), Buffer.alloc(4), attested ?? Buffer.alloc(0)]);
  let userHandle;
  return {
    create(options) {
      userHandle = options.user.id;
      const cose = cbor(
        new Map([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, Buffer.from(jwk.x, 'base64url')],
          [-3, Buffer.from(jwk.y, 'base64url')],
        ]),
      );
      const attested = Buffer.concat([Buffer.alloc(16), Buffer.from([0, id.length]), id, cose]);
      const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: ORIGIN });
      return {
        id: id.toString('base64url'),
        rawId: id.toString('base64url'),
        type: 'public-key',
        response: {
          clientDataJSON: Buffer.from(clientDataJSON).toString('base64url'),
          attestationObject: cbor({ fmt: 'none', attStmt: {}, authData: authData(options.rp.id, attested) }).toString('base64url'),
        },
        clientExtensionResults: {},
      };
    },
    get(options) {
      const data = authData(options.rpId);
      const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: ORIGIN }));
      return {
        id: id.toString('base64url'),
        rawId: id.toString('base64url'),
        type: 'public-key',
        response: {
          clientDataJSON: clientDataJSON.toString('base64url'),
          authenticatorData: data.toString('base64url'),
          signature: sign('sha256', Buffer.concat([data, sha256(clientDataJSON)]), privateKey).toString('base64url'),
          userHandle,
        },
        clientExtensionResults: {},
      };
    },
  };
}

/**
 * Rows for TOTP verify and passkey assertion verify: `count` operations each, `concurrency` at a
 * time, against Gatehouse's services from `distDir`.
 */
export async function measureSecondFactors({ distDir, count, concurrency }) {
  const imp = (p) => import(path.join(distDir, p));
  const [{ loadConfig }, { createServices }, { openStorage }, { PASSWORD_ONLY }] = await Promise.all([
    imp('config/index.js'),
    imp('services.js'),
    imp('storage/open.js'),
    imp('core/auth/authentication.js'),
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-mfa-'));
  const config = loadConfig({ DATABASE_URL: `sqlite:${path.join(dir, 'mfa.db')}`, PUBLIC_URL: ORIGIN, RATE_LIMIT: 'off', LOG_LEVEL: 'silent' });
  const storage = await openStorage(config.databaseUrl);
  const services = await createServices(config, storage, { argon2: CHEAP_ARGON2 });
  const grant = { clientId: 'gatehouse' };
  try {
    // TOTP: one user per operation (a code is good once per user and step), each with a pending
    // second step made without a password check, and the code of the current step.
    const totpOps = [];
    for (let i = 0; i < count + WARMUP_OPS; i++) {
      const user = await services.users.create({ username: `totp${i}`, email: `totp${i}@example.com`, password: 'bench passphrase 123' });
      const enrolment = await services.mfa.startTotp(user, 'bench', {});
      const totp = new TOTP({ secret: Secret.fromBase32(enrolment.secret), digits: 6, period: 30 });
      // Confirmed with the previous step's code, so the current one is still unused. Asked again once
      // should a step boundary pass between making the code and checking it (then it is two steps old).
      const confirm = () => services.mfa.confirmTotp(user, enrolment.factor.id, totp.generate({ timestamp: Date.now() - 30_000 }), {});
      await confirm().catch(confirm);
      const step = await services.mfa.complete(user, PASSWORD_ONLY, {}, grant);
      totpOps.push(() => services.mfa.verify(step.mfaToken, { code: totp.generate() }, {}));
    }
    const totp = await run(totpOps, concurrency);

    // Passkeys: one synced passkey (counter 0, so assertions may finish in any order), an options
    // call per operation made beforehand, the assertion signed beforehand too.
    const owner = await services.users.create({ username: 'passkey', email: 'passkey@example.com', password: 'bench passphrase 123' });
    const key = syncedPasskey();
    const creation = await services.passkeys.registrationOptions(owner, 'bench');
    await services.passkeys.register(owner, creation.challengeId, key.create(creation.options), {});
    const passkeyOps = [];
    for (let i = 0; i < count + WARMUP_OPS; i++) {
      const options = await services.passkeys.options(null);
      const assertion = { challengeId: options.challengeId, response: key.get(options.options) };
      passkeyOps.push(() => services.passkeys.signIn(assertion, {}, grant));
    }
    const passkey = await run(passkeyOps, concurrency);
    return { totp, passkey };
  } finally {
    await services.email.idle?.();
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
