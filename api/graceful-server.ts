/**
 * The API's HTTP server and how it stops (SIGTERM from a deploy, Ctrl-C): no new connections, the
 * requests in flight finish within a grace and are answered with `Connection: close`, idle keep-alive
 * connections are closed at once. Node alone does not do this: server.close() waits for keep-alive
 * connections to time out, and closeAllConnections() cuts requests half-way.
 */
import http from 'node:http';

export interface Drained {
  /** Requests still open when the grace ran out and their connections were cut. */
  cut: number;
  ms: number;
}

export function createGracefulServer(handler: http.RequestListener) {
  let draining = false;
  const inFlight = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    // A response whose headers went out before the drain began cannot say `close`: its connection
    // turns idle when it ends, so close the idle ones then.
    res.once('finish', () => draining && setImmediate(() => server.closeIdleConnections()));
    if (draining) res.setHeader('Connection', 'close');
    handler(req, res);
  });

  /** Stops accepting, waits up to `graceMs` for the requests in flight, then cuts the rest. */
  function drain(graceMs: number): Promise<Drained> {
    const started = Date.now();
    draining = true;
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    return new Promise((resolve) => {
      let settled = false;
      const done = (cut: number) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ cut, ms: Date.now() - started });
      };
      const timer = setTimeout(() => {
        const cut = inFlight.size;
        server.closeAllConnections();
        done(cut);
      }, graceMs);
      server.close(() => done(0));
      server.closeIdleConnections();
    });
  }

  return { server, drain, inFlight: () => inFlight.size };
}
