/** What the service tells its pages, baked into the served HTML (no inline script: WEB-02). */
export interface UiSettings {
  readonly title: string;
  readonly logoUrl: string | null;
  /** REFRESH_COOKIE: sessions survive reloads (cookie mode), else they live in this page only. */
  readonly refreshCookie: boolean;
  /** CORS_ORIGINS: where `redirect_to` may lead besides this origin (WEB-03). */
  readonly redirectOrigins: readonly string[];
  /** The audit event types the admin page can filter by. */
  readonly auditTypes: readonly string[];
}

const FALLBACK: UiSettings = { title: 'Gatehouse', logoUrl: null, refreshCookie: false, redirectOrigins: [], auditTypes: [] };

export function readSettings(doc: Document = document): UiSettings {
  const raw = doc.querySelector('meta[name="gatehouse-ui"]')?.getAttribute('content');
  if (!raw) return FALLBACK;
  try {
    return { ...FALLBACK, ...(JSON.parse(raw) as Partial<UiSettings>) };
  } catch {
    return FALLBACK;
  }
}
