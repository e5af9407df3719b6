/**
 * WEB-03: where a page may send the browser after signing in. `redirect_to` comes from the address
 * bar, which anyone can craft, so only this origin and the allow-listed ones (CORS_ORIGINS) count;
 * anything else (another host, `//host`, `/\host`, `javascript:`, a malformed URL) is ignored in
 * favour of the fallback.
 */
export function safeRedirect(raw: string | null, here: string, allowedOrigins: readonly string[], fallback: string): string {
  if (!raw) return fallback;
  let url: URL;
  try {
    url = new URL(raw, here);
  } catch {
    return fallback;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fallback;
  if (url.username !== '' || url.password !== '') return fallback;
  const origin = new URL(here).origin;
  if (url.origin !== origin && !allowedOrigins.includes(url.origin)) return fallback;
  return url.href;
}
