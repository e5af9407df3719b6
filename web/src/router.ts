import { useEffect, useState } from 'preact/hooks';

/** The pages are one document: moving between them keeps the session held in memory. */
export function navigate(href: string, replace = false): void {
  const url = new URL(href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/ui')) {
    location.assign(url.href);
    return;
  }
  if (replace) history.replaceState(null, '', url.href);
  else history.pushState(null, '', url.href);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useLocation(): URL {
  const [url, setUrl] = useState(() => new URL(location.href));
  useEffect(() => {
    const update = () => setUrl(new URL(location.href));
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return url;
}

/** A link that navigates inside the pages without a reload (a plain link everywhere else). */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.href);
}
