/**
 * A lean in-process SMTP capture for benchmarks: counts every delivered mail per envelope recipient
 * and keeps its Message-ID, without parsing or storing bodies (the bench process also drives the
 * load, so it should spend as little as possible here).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SmtpCapture {
  port: number;
  /** Mails accepted (one per DATA, whatever the number of recipients). */
  readonly mails: number;
  /** Mails per envelope recipient (lower-cased). */
  readonly perRecipient: Map<string, number>;
  /** Distinct Message-ID headers seen. */
  readonly messageIds: Set<string>;
  /** When the latest mail was accepted (ms since the epoch), 0 before the first. */
  readonly lastAt: number;
  /** Forgets everything counted so far. */
  reset(): void;
  close(): Promise<void>;
}

const MESSAGE_ID = /^message-id:\s*(\S+)/im;

export async function startSmtpCapture(): Promise<SmtpCapture> {
  let mails = 0;
  let lastAt = 0;
  const perRecipient = new Map<string, number>();
  const messageIds = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Parallel deliveries from the worker (one connection per mail without a pool).
    maxClients: 1000,
    onData(stream, session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        // Headers end at the first blank line; the body is not needed.
        if (head.length < 16_384 && !head.includes('\r\n\r\n')) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        mails++;
        lastAt = Date.now();
        for (const rcpt of session.envelope.rcptTo) {
          const to = rcpt.address.toLowerCase();
          perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
        }
        const id = MESSAGE_ID.exec(head.split('\r\n\r\n')[0] ?? '')?.[1];
        if (id) messageIds.add(id);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    get mails() {
      return mails;
    },
    perRecipient,
    messageIds,
    get lastAt() {
      return lastAt;
    },
    reset() {
      mails = 0;
      lastAt = 0;
      perRecipient.clear();
      messageIds.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
