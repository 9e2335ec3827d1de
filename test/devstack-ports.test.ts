/**
 * Ports `npm start` keeps between starts (and tests keep between restarts) are picked below the OS's
 * ephemeral range: a port from that range can become some outgoing connection's local port before it
 * is bound again, which once made a restart's Temporal server fail with "address already in use".
 */
import fs from 'node:fs';
import net from 'node:net';
import { freePort, isPortInUse } from '../services/devstack/ports';

const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

it('picks distinct free ports, below the ephemeral range where it leaves room (here from ' + low + ')', async () => {
  const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
  const room = low! - 1 - Math.max(10_000, low! - 1 - 12_000) >= 1000;
  for (const p of ports) {
    if (room) expect(p).toBeLessThan(low!);
    expect(p).toBeGreaterThanOrEqual(1024);
  }
  expect(new Set(ports).size).toBe(ports.length);
});

it('tells a port someone listens on from a free one', async () => {
  const port = await freePort();
  expect(await isPortInUse(port)).toBe(false);
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  try {
    expect(await isPortInUse(port)).toBe(true);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
