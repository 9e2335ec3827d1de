/**
 * The production processes compiled ahead of time: each entry bundled by esbuild with the project's
 * own TypeScript into one CommonJS file under dist/app (packages stay in node_modules). A process
 * then starts on plain JavaScript: no tsx loader compiling every module at start and keeping its
 * caches and source maps in the heap of a worker meant to stay small.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../config/project-root';

export const APP_DIR = path.join(PROJECT_ROOT, 'dist', 'app');

/** What runs in production (the API, the worker, migrations, the operators' CLI) and npm start's outbox. */
export const APP_ENTRIES = {
  api: 'api/main.ts',
  worker: 'services/worker/main.ts',
  migrate: 'scripts/migrate.ts',
  ops: 'scripts/ops.ts',
  outbox: 'services/outbox/main.ts',
} as const;

export type AppEntry = keyof typeof APP_ENTRIES;

/** The compiled file of an entry: run it with `node`. */
export const appEntryFile = (entry: AppEntry): string => path.join(APP_DIR, `${entry}.js`);

/**
 * How an entry is launched wherever it runs (npm start, the image and docker-compose, the tests' and
 * the bench's child processes): node flags and environment defaults (the environment given wins).
 * The worker's keep its memory from growing with what a burst needed: V8 sized for memory rather
 * than speed in both of its heaps (the main thread's and the workflow thread's; by default each grows
 * tens of MiB of young generation it never gives back), and glibc at 2 malloc arenas instead of 8 per
 * core (the SDK's Rust threads each took one). `npm run bench`, 1,500 asleep: 454 → about 290 MiB
 * RSS, idle 204 → 147 MiB; a burst of invitations goes out 10–25% slower (README: Worker sizing).
 */
export const APP_LAUNCH: Record<AppEntry, { nodeFlags: readonly string[]; env: Readonly<Record<string, string>> }> = {
  api: { nodeFlags: [], env: {} },
  worker: { nodeFlags: ['--optimize-for-size'], env: { MALLOC_ARENA_MAX: '2' } },
  migrate: { nodeFlags: [], env: {} },
  ops: { nodeFlags: [], env: {} },
  outbox: { nodeFlags: [], env: {} },
};

/** The arguments to give `node` to run an entry as production does: its flags, then its file. */
export const appArgs = (entry: AppEntry): string[] => [...APP_LAUNCH[entry].nodeFlags, appEntryFile(entry)];

/** An entry's environment: its defaults, then `env` (which wins). */
export const appEnv = (entry: AppEntry, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...APP_LAUNCH[entry].env, ...env });

/** Compiles every entry (about a second); the output replaces what was there. */
export const buildApp = (): Promise<void> => compileEntries(APP_ENTRIES, APP_DIR);

/** Compiles entries (name → source file under the project) to `outdir/<name>.js`, as production runs them. */
export async function compileEntries(entries: Record<string, string>, outdir: string): Promise<void> {
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, path.resolve(PROJECT_ROOT, file)])),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Packages are loaded from node_modules as they are (native parts, Prisma's engine, the SDK).
    packages: 'external',
    // Stack traces name our functions; the map turns bundle lines into source lines (--enable-source-maps).
    keepNames: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}
