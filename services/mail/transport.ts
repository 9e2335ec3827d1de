import nodemailer, { type Transporter } from 'nodemailer';

/**
 * Limits on one SMTP exchange, so that a mail activity always ends well inside its start-to-close
 * timeout (3 minutes): an attempt Temporal gave up on must never still be sending while its retry
 * sends again. Connection 20 s, greeting 20 s, 40 s without a byte: at most about 80 s.
 */
export const SMTP_TIMEOUTS = { connectionTimeout: 20_000, greetingTimeout: 20_000, socketTimeout: 40_000 } as const;

/** An SMTP transport from a URL such as smtp://127.0.0.1:1025 or smtps://user:pass@host:465. */
export function createMailTransport(smtpUrl: string): Transporter {
  return nodemailer.createTransport({ url: smtpUrl, ...SMTP_TIMEOUTS });
}
