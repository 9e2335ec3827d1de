/**
 * A TCP proxy between a process of the product and a dependency (Temporal, here) that a test can
 * turn into an outage from that process's point of view, at a moment of its choosing:
 * - `blackhole`: connections stay open and nothing gets through (calls hang until their deadline);
 * - `refuse`: open connections are cut and new ones refused (a server that went away);
 * - `pass`: traffic flows again;
 * - `refuseAfter(n)`: passes `n` more chunks from the dependency, then refuses (a cut in the middle
 *   of a stream of calls, at the same point however fast the machine is).
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'refuse';

export interface TcpProxy {
  /** host:port to give the process instead of the dependency's. */
  address: string;
  mode(m: ProxyMode): void;
  refuseAfter(chunks: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let mode: ProxyMode = 'pass';
  /** Chunks from the dependency still let through before a cut; Infinity: no cut armed. */
  let chunksLeft = Infinity;
  const sockets = new Set<net.Socket>();
  const setMode = (m: ProxyMode) => {
    mode = m;
    if (m === 'refuse') for (const s of sockets) s.destroy();
  };
  const server = net.createServer((client) => {
    if (mode === 'refuse') return void client.destroy();
    const upstream = net.connect(port, host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (mode !== 'pass') return;
        to.write(chunk);
        if (from === upstream && --chunksLeft <= 0) {
          chunksLeft = Infinity;
          setMode('refuse');
        }
      });
      from.on('close', () => (sockets.delete(from), to.destroy()));
      from.on('error', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    mode(m) {
      chunksLeft = Infinity;
      setMode(m);
    },
    refuseAfter(chunks) {
      chunksLeft = chunks;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
