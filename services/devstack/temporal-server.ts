/**
 * The Temporal server `npm run cluster` runs (not the CLI's dev server): built from the Go module
 * proxy at a pinned version into .tools/cluster/<version>/ — temporal-server, temporal-sql-tool and
 * the PostgreSQL schemas the module ships — once; later runs find it there. The module needs a newer
 * Go than the machine may have: GOTOOLCHAIN fetches the pinned toolchain through the same proxy.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../config/project-root';
import { StartError } from './parts';

const run = promisify(execFile);

export const TEMPORAL_SERVER_VERSION = 'v1.32.2';
export const GO_TOOLCHAIN = 'go1.27.3';
const MODULE = 'go.temporal.io/server';

export interface TemporalServerBuild {
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12 of the module: temporal/ and visibility/, each with versioned/ */
  schemaDir: string;
}

export function temporalServerBuild(root = path.join(PROJECT_ROOT, '.tools', 'cluster', TEMPORAL_SERVER_VERSION)): TemporalServerBuild {
  return { server: path.join(root, 'bin', 'server'), sqlTool: path.join(root, 'bin', 'sql'), schemaDir: path.join(root, 'schema', 'postgresql', 'v12') };
}

/** The module cache is read-only, and so is a copy of it: made writable so that it can be replaced. */
function writable(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) writable(path.join(dir, e.name));
    else fs.chmodSync(path.join(dir, e.name), 0o644);
  }
}

const built = (b: TemporalServerBuild) => [b.server, b.sqlTool, path.join(b.schemaDir, 'temporal', 'versioned'), path.join(b.schemaDir, 'visibility', 'versioned')].every((p) => fs.existsSync(p));

/** Builds what is missing (about 4 minutes on 2 cores the first time); says what it did. */
export async function ensureTemporalServer(log: (message: string) => void, b = temporalServerBuild()): Promise<TemporalServerBuild> {
  if (built(b)) return b;
  const env = { ...process.env, GOTOOLCHAIN: GO_TOOLCHAIN, GOBIN: path.dirname(b.server), GOFLAGS: '-mod=mod' };
  log(`building temporal-server and temporal-sql-tool ${TEMPORAL_SERVER_VERSION} with ${GO_TOOLCHAIN} (once; a few minutes)`);
  try {
    await run('go', ['install', `${MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`], { env, maxBuffer: 64 * 1024 * 1024 });
    const { stdout } = await run('go', ['env', 'GOMODCACHE'], { env });
    const source = path.join(stdout.trim(), `${MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
    fs.rmSync(b.schemaDir, { recursive: true, force: true });
    fs.cpSync(source, b.schemaDir, { recursive: true });
    writable(b.schemaDir);
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: string };
    if (e.code === 'ENOENT') throw new StartError('Go is needed to build the Temporal server (apt install golang, or https://go.dev/dl): it is built once into .tools/cluster');
    throw new StartError(`building the Temporal server failed:\n${(e.stderr ?? e.message).split('\n').slice(-15).join('\n')}`);
  }
  if (!built(b)) throw new StartError(`the Temporal server build left ${path.dirname(b.server)} incomplete`);
  return b;
}
