/**
 * Mails to employees come from their employer: the company's name leads the subject and is the
 * sender's display name (over MAIL_FROM's address). A mail from an unknown service asking for a My
 * Number looks like phishing; HR's own mails (codes, digests) stay the service's.
 */
export const employerSubject = (companyName: string, what: string): string => `【${companyName}】${what}`;

export function employerSender(mailFrom: string, companyName: string): { name: string; address: string } {
  const address = /<([^<>]+)>\s*$/.exec(mailFrom)?.[1] ?? mailFrom.trim();
  return { name: `${companyName} マイナンバー登録窓口`, address };
}
