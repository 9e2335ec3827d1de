/**
 * The workflow bundle built ahead of time (`npm run build`, run by scripts/setup.sh), so
 * a worker starts without webpack: faster, and without webpack's hundred-odd MiB left in its heap.
 * The bundle is stamped with a hash of the workflow sources and SDK version it was built from; a
 * worker uses it only when the stamp matches its own sources, otherwise it bundles from source as
 * before (a stale bundle would run old workflow code: non-determinism on the next replay).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PROJECT_ROOT } from '../config/project-root';

const ROOT = PROJECT_ROOT;
/** The workflows' entry module, bundled from source when no prebuilt bundle is current. */
export const WORKFLOWS_PATH = path.join(ROOT, 'workflows', 'index.ts');
/**
 * What the bundle is made of: the workflow code and what it imports, and every package version
 * (the SDK's workflow runtime and interceptors, webpack, swc: all in package-lock.json).
 */
const SOURCES = ['workflows', 'shared'];
const LOCKFILE = 'package-lock.json';

export const BUNDLE_DIR = path.join(ROOT, 'dist');
const bundleFile = (dir: string) => path.join(dir, 'workflow-bundle.js');
const stampFile = (dir: string) => path.join(dir, 'workflow-bundle.stamp');

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

/** The hash of the sources a bundle built now would contain. */
export function workflowSourceHash(root = ROOT): string {
  const hash = createHash('sha256');
  for (const file of SOURCES.flatMap((d) => filesUnder(path.join(root, d)))) hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  hash.update(fs.readFileSync(path.join(ROOT, LOCKFILE)));
  return hash.digest('hex');
}

/** The prebuilt bundle's code when it was built from the current sources; null otherwise. */
export function prebuiltWorkflowBundle(dir = BUNDLE_DIR, root = ROOT): { code: string } | null {
  try {
    if (fs.readFileSync(stampFile(dir), 'utf8').trim() !== workflowSourceHash(root)) return null;
    return { code: fs.readFileSync(bundleFile(dir), 'utf8') };
  } catch {
    return null;
  }
}

/** Builds the bundle unless the one there is current; true when it built. */
export async function buildWorkflowBundle(dir = BUNDLE_DIR): Promise<boolean> {
  if (prebuiltWorkflowBundle(dir)) return false;
  const hash = workflowSourceHash();
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  fs.mkdirSync(dir, { recursive: true });
  // The stamp last: a bundle half written is never taken for current.
  fs.rmSync(stampFile(dir), { force: true });
  fs.writeFileSync(bundleFile(dir), code);
  fs.writeFileSync(stampFile(dir), `${hash}\n`);
  return true;
}
