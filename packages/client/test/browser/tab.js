// A tab of a single-page app in cookie mode: the test drives it through window.tab.
import { createClient } from './client/index.js';

const api = new URLSearchParams(location.search).get('api');
const client = createClient({ baseUrl: api, mode: 'cookie' });
const stats = { ok: 0, unauthorized: 0, other: [], errors: [], events: [] };
for (const event of ['signed-in', 'signed-out', 'refreshed']) {
  client.on(event, (detail) => stats.events.push({ event, how: detail.how ?? null, reason: detail.reason ?? null, fromOtherTab: detail.fromOtherTab ?? null }));
}

// What the app sees of one call: a status, or the client's error code.
async function once() {
  try {
    const res = await client.fetch('/auth/me');
    if (res.status === 200) stats.ok += 1;
    else if (res.status === 401) stats.unauthorized += 1;
    else stats.other.push(res.status);
    return res.status;
  } catch (error) {
    stats.errors.push(error.code ?? String(error));
    return error.code ?? String(error);
  }
}

let timer = null;
window.tab = {
  signIn: async (login, password) => (await client.signIn({ login, password })).status,
  once,
  start: (ms) => {
    timer = setInterval(once, ms);
  },
  stop: () => clearInterval(timer),
  stats: () => stats,
  user: () => client.user?.username ?? null,
};
