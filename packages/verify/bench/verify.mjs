// Verifications per second on one core, cached key, for each algorithm: @gatehouse/verify next to
// jose's jwtVerify with a local key (what it builds on) and node:crypto's raw signature check (the
// floor). One call at a time, so the figure is per core. Run: npm run bench:verify (at the root).
import { createHmac, generateKeyPairSync, sign, timingSafeEqual, verify as cryptoVerify, createPublicKey } from 'node:crypto';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { execSync } from 'node:child_process';
import { importJWK, jwtVerify } from 'jose';
import { createVerifier } from '../dist/index.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ISSUER = 'https://auth.example.com';
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');

function keyPair(alg) {
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519');
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

function makeToken(alg, key) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg, typ: 'at+jwt', kid: 'k1' })}.${b64({ iss: ISSUER, aud: 'gatehouse', sub: 'u1', sid: 's1', role: 'user', client_id: 'gatehouse', scope: '', jti: 'j1', iat: now, exp: now + 3600, auth_time: now })}`;
  const data = Buffer.from(input);
  const signature =
    alg === 'HS256'
      ? createHmac('sha256', key).update(data).digest()
      : alg === 'ES256'
        ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
        : sign(alg === 'EdDSA' ? null : 'sha256', data, key);
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * Sequential awaited calls, SECONDS per function in total, the functions taking turns in 100 ms
 * slices: on a loaded machine the load then falls on each of them alike, and the ratios hold even
 * when the absolute figures do not. Returns calls per second for each.
 */
async function measure(fns) {
  for (const fn of fns) for (let i = 0; i < 300; i++) await fn();
  const counts = fns.map(() => 0);
  const spent = fns.map(() => 0);
  while (spent.some((ms) => ms < SECONDS * 1000)) {
    for (const [i, fn] of fns.entries()) {
      const start = performance.now();
      const end = start + 100;
      let n = 0;
      while (performance.now() < end) {
        for (let j = 0; j < 20; j++) await fn();
        n += 20;
      }
      counts[i] += n;
      spent[i] += performance.now() - start;
    }
  }
  return counts.map((n, i) => Math.round((n / spent[i]) * 1000));
}

const keys = {};
const server = createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ keys: Object.values(keys) }));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const jwksUri = `http://127.0.0.1:${server.address().port}/jwks`;

const rows = [];
for (const alg of ['EdDSA', 'ES256', 'RS256', 'HS256']) {
  let signKey, joseKey, verifier, raw;
  if (alg === 'HS256') {
    signKey = Buffer.from('bench-secret-'.repeat(4));
    joseKey = new Uint8Array(signKey);
    verifier = createVerifier({ issuer: ISSUER, audience: 'gatehouse', secret: joseKey });
  } else {
    const pair = keyPair(alg);
    signKey = pair.privateKey;
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'k1', alg, use: 'sig' };
    for (const k of Object.keys(keys)) delete keys[k];
    keys.k1 = jwk;
    joseKey = await importJWK(jwk, alg);
    verifier = createVerifier({ issuer: ISSUER, audience: 'gatehouse', jwksUri });
    raw = createPublicKey({ key: jwk, format: 'jwk' });
  }
  const token = makeToken(alg, signKey);
  const [h, p, s] = token.split('.');
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  const rawVerify =
    alg === 'HS256'
      ? () => timingSafeEqual(createHmac('sha256', signKey).update(data).digest(), sig)
      : alg === 'ES256'
        ? () => cryptoVerify('sha256', data, { key: raw, dsaEncoding: 'ieee-p1363' }, sig)
        : () => cryptoVerify(alg === 'EdDSA' ? null : 'sha256', data, raw, sig);
  if (!rawVerify()) throw new Error(`${alg}: raw verify failed`);
  await verifier.verify(token); // fetches and caches the key
  const options = { issuer: ISSUER, audience: 'gatehouse', typ: 'at+jwt', algorithms: [alg] };
  const [ours, jose, floor] = await measure([() => verifier.verify(token), () => jwtVerify(token, joseKey, options), async () => rawVerify()]);
  rows.push({
    alg,
    '@gatehouse/verify': ours,
    'jose jwtVerify (local key)': jose,
    'node:crypto raw verify': floor,
    'ours / jose': (ours / jose).toFixed(2),
    'key fetches': verifier.keyFetches,
  });
}
server.close();

console.log(`verifications per second, one core, cached key, ${SECONDS} s each (interleaved) (node ${process.version}, ${cpus().length} cores: ${cpus()[0]?.model})`);
console.table(rows);
console.log(
  `uptime: ${execSync('uptime').toString().trim()} (loadavg ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})`,
);
