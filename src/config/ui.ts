/** Hosted pages under /ui (UI, UI_TITLE, UI_LOGO_URL, UI_PRIMARY_COLOR). */
export interface UiConfig {
  /** UI=off removes every /ui route. */
  readonly enabled: boolean;
  /** Shown in the header and the document title. */
  readonly title: string;
  /** An absolute http(s) URL or a path on this service; its origin is added to the pages' img-src. */
  readonly logoUrl: string | null;
  /** `#rgb` or `#rrggbb`; null keeps the built-in colour. */
  readonly primaryColor: string | null;
}

type Env = Record<string, string | undefined>;

/**
 * Reads the UI block; every problem goes to `problems` so loadConfig reports them with the rest.
 * The values end up in the served HTML and CSS, so they are held to shapes that cannot break out
 * of an attribute or a declaration: a colour is hex only, a logo URL is http(s) or a plain path.
 */
export function loadUiConfig(env: Env, flag: (name: string, fallback: boolean) => boolean, problems: string[]): UiConfig {
  const enabled = flag('UI', true);
  const title = env.UI_TITLE?.trim() || 'Gatehouse';
  if (title.length > 60 || /[\u0000-\u001f\u007f]/.test(title)) problems.push('UI_TITLE must be at most 60 characters without control characters');

  const logoRaw = env.UI_LOGO_URL?.trim() || null;
  let logoUrl: string | null = null;
  if (logoRaw !== null) {
    if (isLogoUrl(logoRaw)) logoUrl = logoRaw;
    else problems.push(`UI_LOGO_URL must be an https:// or http:// URL, or a path starting with / (got "${logoRaw}")`);
  }

  const colourRaw = env.UI_PRIMARY_COLOR?.trim() || null;
  let primaryColor: string | null = null;
  if (colourRaw !== null) {
    if (/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(colourRaw)) primaryColor = colourRaw.toLowerCase();
    else problems.push(`UI_PRIMARY_COLOR must be a hex colour such as #3355cc (got "${colourRaw}")`);
  }
  return Object.freeze({ enabled, title, logoUrl, primaryColor });
}

function isLogoUrl(raw: string): boolean {
  // A path on this service, but not "//host" (another origin in disguise) or one with a backslash.
  if (raw.startsWith('/')) return !raw.startsWith('//') && !/[\\\s"'<>]/.test(raw);
  try {
    const url = new URL(raw);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && !/[\s"'<>]/.test(raw);
  } catch {
    return false;
  }
}
