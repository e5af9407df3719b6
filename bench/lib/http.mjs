// Plain JSON requests for the benchmarks' set-up steps (register, log in, check before loading),
// and a free port for each server under test.
import net from 'node:net';

export function freePort(host) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function jsonRequest(url, { method = 'GET', body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export async function expectStatus(label, promise, expected) {
  const res = await promise;
  if (res.status !== expected) throw new Error(`${label}: expected ${expected}, got ${res.status}: ${res.text.slice(0, 500)}`);
  return res.json;
}
