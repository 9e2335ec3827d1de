/**
 * A request URL as the access log keeps it: the path, with an invitation token (links are
 * `/i/<token>`) redacted, and the names of the query's parameters without their values. Searches
 * carry names, e-mail addresses and whatever was typed — even a number, URL-encoded or full-width,
 * which the log's number scrubber cannot recognise in that form.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(/\/i\/[^/#]+/, '/i/[redacted]');
  if (q < 0) return path;
  let names: string[];
  try {
    names = [...new Set(new URLSearchParams(url.slice(q + 1)).keys())];
  } catch {
    names = ['[unreadable query]'];
  }
  // The contract's names are plain words; anything else was typed by someone and is not kept.
  return names.length ? `${path}?${names.map((n) => (/^[A-Za-z][A-Za-z0-9_.-]{0,39}$/.test(n) ? n : '[other]')).join('&')}` : path;
}
