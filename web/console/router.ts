/**
 * Screens are addressed in the fragment: #/registrants/{id}?tab=… . Nothing after # reaches a server,
 * so a search for a name or an e-mail address never lands in an access log or a proxy.
 */
export interface Route {
  /** path segments after #/ */
  parts: string[];
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path = '', q = ''] = raw.split('?', 2);
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query: new URLSearchParams(q) };
}

/** The address of a screen, with only the set query values. */
export function href(path: string, q: Record<string, string | undefined | null> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v) params.set(k, v);
  const s = params.toString();
  return `#/${path.replace(/^\//, '')}${s ? `?${s}` : ''}`;
}

export function go(path: string, q: Record<string, string | undefined | null> = {}): void {
  const next = href(path, q);
  if (location.hash === next) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = next;
}
