/**
 * A test's say over the mails arriving at the SMTP capture: pass `decide` as the outbox's option,
 * then `holdFirstMailTo(address)` makes the capture keep the sender waiting for its answer to DATA
 * (the server has the whole message) until the test releases it as accepted, dropped or kept-and-
 * dropped (services/outbox/outbox.ts). Every other mail is accepted.
 */
import type { CapturedMail, OutboxDecision } from '../../services/outbox/outbox';

/** The mail is addressed to `email` (also among several in one To: header). */
export const isTo = (m: CapturedMail, email: string) => m.to.join(', ').includes(email);

/** The personal link in an invitation, reminder or remand mail (the tests' PUBLIC_URL), its token captured. */
export const INVITATION_LINK = /http:\/\/mynaflow\.test\/i\/#k=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/;

/** The link's token in a mail; a mail without a link fails the test, naming the mail. */
export function tokenOf(mail: CapturedMail): string {
  const match = INVITATION_LINK.exec(mail.text);
  if (!match) throw new Error(`no invitation link in mail "${mail.subject}":\n${mail.text}`);
  return match[1]!;
}

export function mailGate() {
  let intercept: ((m: CapturedMail) => Promise<OutboxDecision> | undefined) | undefined;
  return {
    decide: (m: CapturedMail): OutboxDecision | Promise<OutboxDecision> => intercept?.(m) ?? 'accept',
    /** `held` resolves with the mail once it arrived; `release` decides what becomes of it. */
    holdFirstMailTo(email: string) {
      let arrived!: (m: CapturedMail) => void;
      let release!: (d: OutboxDecision) => void;
      const held = new Promise<CapturedMail>((resolve) => (arrived = resolve));
      const decision = new Promise<OutboxDecision>((resolve) => (release = resolve));
      intercept = (m) => {
        if (!isTo(m, email)) return undefined;
        intercept = undefined;
        arrived(m);
        return decision;
      };
      return { held, release };
    },
    /** Accepts everything again (between tests). */
    clear() {
      intercept = undefined;
    },
  };
}
