import fs from 'node:fs';
import net from 'node:net';

/**
 * The OS hands out ports in its ephemeral range to every outgoing connection, so a port picked there
 * and bound a minute later (a restart that keeps its ports) can meanwhile be some client's local port.
 * Picking just below that range avoids it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 0;
  } catch {
    return 0;
  }
}

function listenOn(port: number, host: string): Promise<number | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/** Ports this process handed out: two callers that bind later never get the same one. */
const handedOut = new Set<number>();

/** A port free on loopback right now, outside the OS's ephemeral range where there is room for that. */
export async function freePort(): Promise<number> {
  const top = ephemeralLow() - 1;
  const bottom = Math.max(10_000, top - 12_000);
  if (top - bottom >= 1000) {
    for (let i = 0; i < 50; i++) {
      const candidate = bottom + Math.floor(Math.random() * (top - bottom + 1));
      if (handedOut.has(candidate)) continue;
      const port = await listenOn(candidate, '127.0.0.1');
      if (port) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const port = await listenOn(0, '127.0.0.1');
  if (!port) throw new Error('no free port on 127.0.0.1');
  return port;
}

/** Whether something already listens on host:port. */
export async function isPortInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return (await listenOn(port, host)) === null;
}
