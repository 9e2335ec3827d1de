/**
 * The pool settings a DATABASE_URL may carry, in Prisma's names: `connection_limit` (connections,
 * default 10) and `pool_timeout` (seconds a query waits for a free connection, default 10; 0 waits
 * for ever). Read in one place so the configuration check and the pool agree; a malformed value is
 * refused at start rather than becoming NaN (which pg would take as "no limit" / "no timeout").
 */
export interface PoolParams {
  connections: number;
  timeoutSeconds: number;
}

export const DEFAULT_POOL: PoolParams = { connections: 10, timeoutSeconds: 10 };

/** The URL's pool settings, or the problems with them (each names the parameter). */
export function poolParams(url: URL): { params: PoolParams; problems: string[] } {
  const problems: string[] = [];
  const read = (name: string, fallback: number, min: number, integer: boolean, what: string) => {
    const raw = url.searchParams.get(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > 100_000 || (integer && !Number.isInteger(n))) {
      problems.push(`${name}=${raw} is not ${what}`);
      return fallback;
    }
    return n;
  };
  const params = {
    connections: read('connection_limit', DEFAULT_POOL.connections, 1, true, 'a whole number of connections ≥ 1'),
    timeoutSeconds: read('pool_timeout', DEFAULT_POOL.timeoutSeconds, 0, false, 'a number of seconds ≥ 0 (0: wait for ever)'),
  };
  return { params, problems };
}
