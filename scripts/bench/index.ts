/**
 * `npm run bench`: performance figures on a throwaway local stack (private PostgreSQL cluster,
 * Temporal dev server, in-process SMTP capture), removed again at the end. Not a test: it prints
 * figures, and exits 1 when a check the figures rely on fails (e.g. a mail missing or sent twice).
 *
 *   npm run bench -- [--count 10000] [--asleep 100000] [--concurrency 32] [--seconds 10] [--temporal-db memory|file] [--only lifecycle[,…]]
 *   (import: a migration file of 5 × --count lines stored as a job)
 */
import { runDashboardBench } from './dashboard';
import { runHrReadsBench } from './hr-reads';
import { runImportJobBench } from './import-job';
import { runLifecycleBench } from './lifecycle';
import { runNumberPullBench } from './number-pull';
import { Cleanup, machine, say, startStack, type Stack } from './stack';

interface Options {
  count: number;
  /** Lifecycle workflows asleep at the end of the lifecycle bench (its worker's memory). */
  asleep: number;
  concurrency: number;
  /** How long each HTTP load runs (hr-reads). */
  seconds: number;
}

const TEMPORAL_DBS = ['memory', 'file'] as const;

/**
 * The most lifecycle workflows asleep the dev server holds with its SQLite in memory here: it grew
 * to 23 GiB of RSS at 90,000 (about 250 KiB a workflow) and stopped answering. More need `--temporal-db file`.
 */
const MEMORY_ASLEEP_MAX = 20_000;
/** Asleep at the end of the lifecycle bench: 10 × the count (100,000 at the default), as the memory allows. */
const asleepFor = (count: number, db: (typeof TEMPORAL_DBS)[number]) => (db === 'file' ? 10 * count : Math.min(10 * count, MEMORY_ASLEEP_MAX));

/** Each bench is a module; `--only` picks some, by name. */
const BENCHES: Record<string, (stack: Stack, cleanup: Cleanup, opts: Options) => Promise<boolean>> = {
  lifecycle: runLifecycleBench,
  pull: runNumberPullBench,
  dashboard: runDashboardBench,
  'hr-reads': runHrReadsBench,
  import: runImportJobBench,
};

const USAGE = `usage: npm run bench -- [--count N] [--asleep N] [--concurrency N] [--seconds N] [--temporal-db memory|file] [--only ${Object.keys(BENCHES).join('|')}[,…]]
  --count N            registrants (workflows) per bench, default 10000 (the dashboard and hr-reads benches: 10 × N)
  --asleep N           lifecycle workflows asleep at the end of the lifecycle bench (its worker's
                       memory is measured at 10,000 on the way and at N), default 10 × --count;
                       with Temporal's SQLite in memory at most ${MEMORY_ASLEEP_MAX} (the default is cut to that)
  --concurrency N      starts in flight at once, default 32
  --seconds N          how long each HTTP load of hr-reads runs, default 10
  --temporal-db WHERE  the Temporal dev server's SQLite: memory (default, as the tests run it) or
                       file (as npm start runs it; bound by the disk's fsync rate)
  --only NAMES         run only these benches (comma-separated); default all`;

class UsageError extends Error {}

function parseArgs(argv: string[]): Options & { only: string[]; temporalDb: (typeof TEMPORAL_DBS)[number] } {
  // --asleep's default depends on --count and --temporal-db: filled in once all are read.
  let asleep: number | undefined;
  const opts = { count: 10_000, concurrency: 32, seconds: 10, only: Object.keys(BENCHES), temporalDb: 'memory' as (typeof TEMPORAL_DBS)[number] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    const positive = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive whole number, not "${v}"`);
      return n;
    };
    switch (flag) {
      case '--count':
        opts.count = positive(value());
        break;
      case '--asleep':
        asleep = positive(value());
        break;
      case '--concurrency':
        opts.concurrency = positive(value());
        break;
      case '--seconds':
        opts.seconds = positive(value());
        break;
      case '--temporal-db': {
        const v = value();
        const db = TEMPORAL_DBS.find((d) => d === v);
        if (!db) throw new UsageError(`--temporal-db must be ${TEMPORAL_DBS.join(' or ')}, not "${v}"`);
        opts.temporalDb = db;
        break;
      }
      case '--only': {
        const names = value().split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = names.filter((n) => !(n in BENCHES));
        if (unknown.length || !names.length) throw new UsageError(`unknown bench "${unknown.join(',')}"; known: ${Object.keys(BENCHES).join(', ')}`);
        opts.only = names;
        break;
      }
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (asleep !== undefined && opts.temporalDb === 'memory' && asleep > MEMORY_ASLEEP_MAX) {
    throw new UsageError(`--asleep ${asleep} needs --temporal-db file: the dev server's in-memory SQLite holds at most ${MEMORY_ASLEEP_MAX} workflows on this machine (about 250 KiB each)`);
  }
  return { ...opts, asleep: asleep ?? asleepFor(opts.count, opts.temporalDb) };
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`[bench] ${signal}: cleaning up`);
    void cleanup.run().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = new Date();
  say(`${started.toISOString()} on ${machine()}`);
  say(`benches: ${opts.only.join(', ')}; count ${opts.count}, concurrency ${opts.concurrency}, Temporal SQLite ${opts.temporalDb === 'file' ? 'in a file' : 'in memory'}`);
  let ok = true;
  try {
    const stack = await startStack(cleanup, { temporalDb: opts.temporalDb });
    for (const name of opts.only) {
      const passed = await BENCHES[name]!(stack, cleanup, opts);
      ok &&= passed;
    }
  } catch (err) {
    console.error(`[bench] FAIL: ${(err as Error).stack ?? (err as Error).message}`);
    ok = false;
  } finally {
    await cleanup.run();
  }
  if (interrupted) return 130;
  say(`done in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s: ${ok ? 'PASS' : 'FAIL'}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`[bench] ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
