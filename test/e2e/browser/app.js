// What a single-page app in browser mode does (README, "Single-page apps"): every call with
// credentials: 'include', the access token in memory, the refresh token only in the HttpOnly cookie.
// The test drives these steps one by one through window.gatehouse.
const api = new URLSearchParams(location.search).get('api');
document.getElementById('api').textContent = api;
const log = document.getElementById('log');
let accessToken = null;

async function call(step, path, { method = 'POST', body, bearer = false } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (bearer) headers.authorization = `Bearer ${accessToken}`;
  const res = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'include' });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (json && json.access_token) accessToken = json.access_token;
  // Headers the API exposes to this origin (WEB-04); a header not exposed reads as null.
  const seen = {};
  for (const name of ['location', 'www-authenticate', 'x-request-id', 'ratelimit-limit']) seen[name] = res.headers.get(name);
  const result = { status: res.status, json, headers: seen, documentCookie: document.cookie };
  log.textContent += `${step}: ${res.status} ${json && json.code ? json.code : ''}\n`;
  return result;
}

window.gatehouse = {
  register: (username, password) => call('register', '/auth/register', { body: { username, email: `${username}@example.com`, password } }),
  login: (login, password) => call('login', '/auth/login', { body: { login, password } }),
  // No body at all: the refresh token travels in the cookie.
  refresh: () => call('refresh', '/auth/refresh'),
  me: () => call('me', '/auth/me', { method: 'GET', bearer: true }),
  logout: () => call('logout', '/auth/logout', { bearer: true }),
};
