/**
 * The one place that builds Prisma's driver adapter for PostgreSQL, used both by the Prisma CLI
 * (prisma.config.ts: migrate with the JS schema engine) and by the runtime client.
 *
 * It carries work-arounds for bugs in @prisma/adapter-pg 6.19.3 that the WASM schema engine hits
 * (see ../shared/PRISMA.md). Drop each one when upstream fixes it.
 */
import { sslParams } from './ssl-params';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { poolParams } from './pool-params';

// Fix 1: introspection reads catalog columns of type `name` (19), `"char"` (18) and their arrays
// (1003, 1002), which the adapter refuses to deserialize. Relabel them as text / text[].
const RELABELLED_TYPES: ReadonlyMap<number, number> = new Map([
  [19, 25],
  [18, 25],
  [1003, 1009],
  [1002, 1009],
]);

function relabelFields<T>(result: T): T {
  const fields = (result as { fields?: { dataTypeID: number }[] } | undefined)?.fields;
  if (Array.isArray(fields)) {
    for (const field of fields) {
      const to = RELABELLED_TYPES.get(field.dataTypeID);
      if (to !== undefined) field.dataTypeID = to;
    }
  }
  return result;
}

type Callback = (err: Error | null, res: unknown) => void;

class CatalogSafeClient extends pg.Client {
  // pg's query() has many overloads (promise, callback as last arg, callback on a config object).
  override query(...args: unknown[]): never {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const cb = args[last] as Callback;
      args[last] = ((err, res) => cb(err, err ? res : relabelFields(res))) as Callback;
    } else if (args[0] && typeof args[0] === 'object' && typeof (args[0] as { callback?: unknown }).callback === 'function') {
      const config = args[0] as { callback: Callback };
      const cb = config.callback;
      config.callback = (err, res) => cb(err, err ? res : relabelFields(res));
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      return (result as Promise<unknown>).then(relabelFields) as never;
    }
    return result as never;
  }
}

// Fix 2: pg lets `connectionString` override `database`, so the adapter's shadow database would be
// the real one. Pass every part of the URL as a separate field instead.
export function poolConfigFromUrl(databaseUrl: string): pg.PoolConfig {
  const url = new URL(databaseUrl);
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new Error(`DATABASE_URL must start with postgresql:// (got ${url.protocol}//)`);
  }
  const { params, problems } = poolParams(url);
  const tls = sslParams(url);
  problems.push(...tls.problems);
  if (problems.length > 0) throw new Error(`DATABASE_URL: ${problems.join('; ')}`);
  return {
    host: decodeURIComponent(url.hostname) || url.searchParams.get('host') || 'localhost',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
    ssl: tls.ssl,
    max: params.connections,
    // Fix 5: pg waits for a free pooled connection for ever by default; Prisma's own engines gave up
    // after pool_timeout seconds (P2024). Give up the same way, so a full pool is an answer, not a hang.
    connectionTimeoutMillis: params.timeoutSeconds * 1000,
    Client: CatalogSafeClient,
    // Idle pooled connections must not keep a process (the Prisma CLI above all) alive.
    allowExitOnIdle: true,
  };
}

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;

export class FixedPrismaPg extends PrismaPg {
  /** The pool of the latest connect (a client that disconnects and reconnects gets a new one). */
  pool: pg.Pool | undefined;

  constructor(private readonly poolConfig: pg.PoolConfig) {
    super(poolConfig);
  }

  override async connect(): Promise<Adapter> {
    const adapter = await super.connect();
    this.pool = adapter.underlyingDriver() as pg.Pool;
    return withBrokenTransactionsReleased(withWholeScripts(adapter));
  }

  // Fix 3: upstream drops the shadow database while its pool is still open ("being accessed by
  // other users") and leaks the admin connection. Close the shadow pool first, then drop, then
  // release the admin connection.
  override async connectToShadowDb(): Promise<Adapter> {
    const admin = await super.connect();
    const database = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID().replace(/-/g, '')}`;
    await admin.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new PrismaPg({ ...this.poolConfig, database }).connect();
    const disposeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await disposeShadow();
      try {
        await admin.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
      } finally {
        await admin.dispose();
      }
    };
    return withWholeScripts(shadow);
  }
}

// Fix 4: executeScript splits a migration on every ";", which breaks PL/pgSQL function bodies
// (the append-only triggers). PostgreSQL's simple-query protocol runs a multi-statement script
// as is, so send it whole.
function withWholeScripts(adapter: Adapter): Adapter {
  adapter.executeScript = async (script: string) => {
    await adapter.underlyingDriver().query(script);
  };
  return adapter;
}

type Transaction = Awaited<ReturnType<Adapter['startTransaction']>>;
type TransactionInternals = { client: pg.PoolClient; cleanup?: () => void };

// Fix 6: Prisma ends a transaction by sending COMMIT or ROLLBACK and only then asks the adapter to
// hand the connection back. When the server cut the connection (a restart, a failover), that
// statement throws, the hand-back never happens, and the dead connection keeps its pool slot for
// the life of the process: enough restarts and every query waits for a slot that never frees. Hand
// a connection whose COMMIT or ROLLBACK failed back as broken (the pool then drops it) at once.
function withBrokenTransactionsReleased(adapter: Adapter): Adapter {
  const start = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => {
    const tx: Transaction = await start(isolationLevel);
    const internals = tx as unknown as TransactionInternals;
    let released = false;
    const releaseOnce = (release: () => Promise<void>) => async () => {
      if (released) return;
      released = true;
      await release();
    };
    tx.commit = releaseOnce(tx.commit.bind(tx));
    tx.rollback = releaseOnce(tx.rollback.bind(tx));
    const executeRaw = tx.executeRaw.bind(tx);
    tx.executeRaw = async (query) => {
      try {
        return await executeRaw(query);
      } catch (err) {
        if (!released && /^\s*(COMMIT|ROLLBACK)\b/i.test(query.sql)) {
          released = true;
          internals.cleanup?.();
          internals.client.release(err instanceof Error ? err : new Error(String(err)));
        }
        throw err;
      }
    };
    return tx;
  };
  return adapter;
}

export function createPgAdapter(databaseUrl: string): FixedPrismaPg {
  return new FixedPrismaPg(poolConfigFromUrl(databaseUrl));
}
