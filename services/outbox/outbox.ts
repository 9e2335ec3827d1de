/**
 * A local SMTP server that keeps every mail: the embedded default of `npm start` (an outbox folder of
 * .eml files with a page listing them) and the in-process mail capture of the tests.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  id: string;
  receivedAt: Date;
  from: string;
  to: string[];
  cc: string[];
  replyTo: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  headers: Record<string, string>;
  raw: Buffer;
}

export interface Outbox {
  smtpPort: number;
  httpPort?: number;
  mails: CapturedMail[];
  /** Resolves with the first mail (already kept or still to come) that matches. */
  waitFor(match: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  close(): Promise<void>;
}

/**
 * What the outbox does with a message whose DATA has arrived, before the sender hears back:
 * - `accept`: keep it and answer 250 (the default);
 * - `drop`: cut the connection without keeping it, as when the sender dies mid-send;
 * - `keep-and-drop`: keep it, then cut the connection before the 250, as when the sender dies just
 *   after the server took the message: the server delivers it, the sender never hears so.
 */
export type OutboxDecision = 'accept' | 'drop' | 'keep-and-drop';

export interface OutboxOptions {
  /**
   * Tests only: decides on each message once its DATA has arrived, and may hold it (the sender
   * waits for the answer meanwhile) until the test has done what it needs, such as stopping a worker.
   */
  decide?: (mail: CapturedMail) => OutboxDecision | Promise<OutboxDecision>;
  /**
   * Tests only: recipients refused at RCPT TO, with 550 (true) as a server refuses an unknown mailbox,
   * or with the code given (such as 450, a mailbox busy now).
   */
  rejectRecipient?: (address: string) => boolean | number;
  host?: string;
  smtpPort?: number;
  /** Folder to keep .eml files in; earlier mails there are loaded at start. */
  dir?: string;
  /** Serve a listing page on this port (0 = any free port). */
  httpPort?: number;
}

const addressText = (a: { text?: string } | { text?: string }[] | undefined): string[] =>
  a === undefined ? [] : (Array.isArray(a) ? a : [a]).map((x) => x.text ?? '').filter(Boolean);

async function parse(id: string, raw: Buffer, receivedAt: Date): Promise<CapturedMail> {
  const m = await simpleParser(raw);
  const headers: Record<string, string> = {};
  for (const line of m.headerLines) headers[line.key] = line.line.slice(line.key.length + 1).trim();
  return {
    id,
    receivedAt,
    from: m.from?.text ?? '',
    to: addressText(m.to),
    cc: addressText(m.cc),
    replyTo: m.replyTo?.text ?? '',
    subject: m.subject ?? '',
    text: m.text ?? '',
    html: typeof m.html === 'string' ? m.html : '',
    messageId: m.messageId ?? '',
    headers,
    raw,
  };
}

export async function startOutbox(opts: OutboxOptions = {}): Promise<Outbox> {
  const host = opts.host ?? '127.0.0.1';
  const mails: CapturedMail[] = [];
  const waiters = new Set<{ match: (m: CapturedMail) => boolean; resolve: (m: CapturedMail) => void }>();

  const keep = (mail: CapturedMail) => {
    mails.push(mail);
    for (const w of waiters) {
      if (w.match(mail)) {
        waiters.delete(w);
        w.resolve(mail);
      }
    }
  };

  if (opts.dir) {
    fs.mkdirSync(opts.dir, { recursive: true });
    for (const file of fs.readdirSync(opts.dir).filter((f) => f.endsWith('.eml')).sort()) {
      const full = path.join(opts.dir, file);
      mails.push(await parse(file.replace(/\.eml$/, ''), fs.readFileSync(full), fs.statSync(full).mtime));
    }
  }

  let seq = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    banner: 'mynaflow outbox',
    logger: false,
    onRcptTo(address, _session, callback) {
      const refused = opts.rejectRecipient?.(address.address);
      if (refused) {
        const responseCode = refused === true ? 550 : refused;
        return callback(Object.assign(new Error(responseCode >= 500 ? '5.1.1 No such user here' : '4.2.1 Mailbox busy, try later'), { responseCode }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const receivedAt = new Date();
        const id = `${receivedAt.toISOString().replace(/[:.]/g, '-')}-${String(++seq).padStart(4, '0')}`;
        parse(id, raw, receivedAt)
          .then(async (mail) => {
            const decision = opts.decide ? await opts.decide(mail) : 'accept';
            if (decision !== 'drop') {
              if (opts.dir) fs.writeFileSync(path.join(opts.dir, `${id}.eml`), raw);
              keep(mail);
            }
            if (decision === 'accept') return callback();
            // The connection ends without an answer to DATA: the sender cannot tell whether it was taken.
            for (const connection of smtp.connections as Set<{ id: string; close(): void }>) if (connection.id === session.id) connection.close();
          })
          .catch((err: Error) => callback(err));
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(opts.smtpPort ?? 0, host, () => resolve());
  });
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  let web: http.Server | undefined;
  if (opts.httpPort !== undefined) {
    web = http.createServer((req, res) => serveListing(req, res, mails));
    await new Promise<void>((resolve, reject) => {
      web!.once('error', reject);
      web!.listen(opts.httpPort, host, () => resolve());
    });
  }

  return {
    smtpPort,
    httpPort: web ? (web.address() as AddressInfo).port : undefined,
    mails,
    waitFor(match, timeoutMs = 30_000) {
      const found = mails.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (m: CapturedMail) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching mail within ${timeoutMs} ms (${mails.length} kept)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async close() {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      if (web) await new Promise<void>((resolve) => web!.close(() => resolve()));
    },
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function summary(m: CapturedMail) {
  return { id: m.id, receivedAt: m.receivedAt.toISOString(), from: m.from, to: m.to, cc: m.cc, subject: m.subject };
}

/** Hosts the loopback listing answers to: any other name is a page of some site rebinding its DNS to 127.0.0.1. */
const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i;

function serveListing(req: http.IncomingMessage, res: http.ServerResponse, mails: CapturedMail[]): void {
  const url = new URL(req.url ?? '/', 'http://outbox');
  const send = (status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  };
  // The mails hold live invitation links: a web page must not read them through DNS rebinding.
  if (!LOOPBACK_HOST.test(req.headers.host ?? '')) return send(421, 'text/plain; charset=utf-8', 'this outbox answers to localhost only');
  const newestFirst = [...mails].reverse();
  if (url.pathname === '/messages.json') return send(200, 'application/json', JSON.stringify(newestFirst.map(summary)));
  const match = /^\/messages\/([\w-]+)(\.eml|\.json)?$/.exec(url.pathname);
  if (match) {
    const mail = mails.find((m) => m.id === match[1]);
    if (!mail) return send(404, 'text/plain; charset=utf-8', 'no such mail');
    if (match[2] === '.eml') return send(200, 'message/rfc822', mail.raw);
    if (match[2] === '.json') return send(200, 'application/json', JSON.stringify({ ...summary(mail), replyTo: mail.replyTo, text: mail.text }));
    return send(
      200,
      'text/html; charset=utf-8',
      page(escapeHtml(mail.subject), `<p><a href="/">← 送信箱</a> · <a href="/messages/${mail.id}.eml">.eml</a></p>
<dl><dt>From</dt><dd>${escapeHtml(mail.from)}</dd><dt>To</dt><dd>${escapeHtml(mail.to.join(', '))}</dd>
${mail.cc.length ? `<dt>Cc</dt><dd>${escapeHtml(mail.cc.join(', '))}</dd>` : ''}
${mail.replyTo ? `<dt>Reply-To</dt><dd>${escapeHtml(mail.replyTo)}</dd>` : ''}
<dt>Date</dt><dd>${mail.receivedAt.toISOString()}</dd></dl><pre>${escapeHtml(mail.text)}</pre>`),
    );
  }
  if (url.pathname === '/') {
    const rows = newestFirst
      .map((m) => `<tr><td>${m.receivedAt.toISOString()}</td><td>${escapeHtml(m.to.join(', '))}</td><td><a href="/messages/${m.id}">${escapeHtml(m.subject || '(件名なし)')}</a></td></tr>`)
      .join('\n');
    return send(200, 'text/html; charset=utf-8', page('送信箱 (outbox)', `<p>${mails.length} 通</p>
<table><thead><tr><th>受信日時</th><th>宛先</th><th>件名</th></tr></thead><tbody>${rows}</tbody></table>`));
  }
  send(404, 'text/plain; charset=utf-8', 'not found');
}

const page = (title: string, body: string) => `<!doctype html><html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1a1a1a}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}
dt{font-weight:bold}dd{margin:0 0 .4rem 0}</style></head><body><h1>${title}</h1>${body}</body></html>`;
