/**
 * The development outbox's listing page (npm start's mail capture) holds live invitation links. It
 * listens on loopback, and answers only to loopback host names: a web page on some other site that
 * rebinds its DNS name to 127.0.0.1 gets 421, not the mails.
 */
import http from 'node:http';
import { startOutbox, type Outbox } from '../services/outbox/outbox';

let outbox: Outbox;
beforeAll(async () => {
  outbox = await startOutbox({ httpPort: 0 });
});
afterAll(() => outbox.close());

const get = (host: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: outbox.httpPort, path: '/messages.json', headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });

it('answers localhost and 127.0.0.1, and refuses any other host name (DNS rebinding) with 421', async () => {
  for (const host of [`localhost:${outbox.httpPort}`, `127.0.0.1:${outbox.httpPort}`, `[::1]:${outbox.httpPort}`]) expect([host, (await get(host)).status]).toEqual([host, 200]);
  for (const host of [`rebind.attacker.example:${outbox.httpPort}`, 'localhost.attacker.example', '127.0.0.1.nip.example']) {
    const res = await get(host);
    expect([host, res.status]).toEqual([host, 421]);
    expect(res.body).not.toContain('[');
  }
});
