/**
 * The invitation link: the token travels in the fragment (`/i/#k=<token>`), which browsers never
 * send to a server, so no access log, proxy log or Referer carries it; the page reads it, keeps it in
 * the tab's session storage and takes it out of the address bar (and the browser history). Links
 * mailed before (`/i/<token>`) keep working.
 */
export const INVITATION_PAGE = '/i/';

export const invitationUrl = (publicUrl: string, token: string): string => `${publicUrl}${INVITATION_PAGE}#k=${token}`;

/** The token an opened address carries (new form or old; '' when it is garbled), or undefined. */
export function tokenInAddress(address: { pathname: string; hash: string }): string | undefined {
  const fromHash = /^#k=([^&]*)$/.exec(address.hash)?.[1];
  if (fromHash !== undefined) return fromHash;
  const fromPath = /^\/i\/([^/]+)$/.exec(address.pathname)?.[1];
  if (fromPath === undefined) return undefined;
  try {
    return decodeURIComponent(fromPath);
  } catch {
    return '';
  }
}
