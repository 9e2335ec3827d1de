/**
 * The prebuilt workflow bundle (services/worker/workflow-bundle.ts): a worker takes it only when it
 * was built from the sources it has; a change to any workflow or shared source, or a bundle whose
 * stamp was never written, sends it back to bundling from source. The pool of a worker's database
 * connections follows its activity slots unless DATABASE_URL sets one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withDefaultConnectionLimit } from '../services/db/client';
import { BUNDLE_DIR, prebuiltWorkflowBundle, workflowSourceHash } from '../services/worker/workflow-bundle';

const ROOT = path.resolve(__dirname, '..');
let tmp: string;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-bundle-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of the sources the bundle is made of, to change without touching the project. */
function copyOfSources(): string {
  const root = path.join(tmp, 'root');
  for (const dir of ['workflows', 'shared']) fs.cpSync(path.join(ROOT, dir), path.join(root, dir), { recursive: true });
  return root;
}

it('set-up built a bundle from the current sources, and a worker would take it', () => {
  const bundle = prebuiltWorkflowBundle();
  expect(bundle?.code).toContain('registrantWorkflow');
  expect(fs.readFileSync(path.join(BUNDLE_DIR, 'workflow-bundle.stamp'), 'utf8').trim()).toBe(workflowSourceHash());
});

it('a bundle built from other sources is not taken: one changed line of a workflow, or a bundle without its stamp', () => {
  const root = copyOfSources();
  expect(workflowSourceHash(root)).toBe(workflowSourceHash());
  const dir = path.join(tmp, 'dist');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'workflow-bundle.js'), 'bundle code');
  fs.writeFileSync(path.join(dir, 'workflow-bundle.stamp'), `${workflowSourceHash(root)}\n`);
  expect(prebuiltWorkflowBundle(dir, root)).toEqual({ code: 'bundle code' });

  fs.appendFileSync(path.join(root, 'workflows', 'lifecycle.ts'), '\n// changed\n');
  expect(prebuiltWorkflowBundle(dir, root)).toBeNull();
  // A new module among the shared sources, on sources otherwise unchanged.
  fs.rmSync(root, { recursive: true });
  fs.appendFileSync(path.join(copyOfSources(), 'shared', 'new-module.ts'), 'export const x = 1;\n');
  expect(prebuiltWorkflowBundle(dir, root)).toBeNull();

  fs.rmSync(path.join(dir, 'workflow-bundle.stamp'));
  fs.rmSync(root, { recursive: true });
  expect(prebuiltWorkflowBundle(dir, copyOfSources())).toBeNull();
});

it('the worker’s pool follows its activity slots unless DATABASE_URL sets connection_limit', () => {
  expect(new URL(withDefaultConnectionLimit('postgresql://app:pw@db:5432/mynaflow', 24)).searchParams.get('connection_limit')).toBe('24');
  expect(new URL(withDefaultConnectionLimit('postgresql://app:pw@db:5432/mynaflow?connection_limit=5', 24)).searchParams.get('connection_limit')).toBe('5');
  expect(withDefaultConnectionLimit('postgresql://app:pw@db/mynaflow', undefined)).toBe('postgresql://app:pw@db/mynaflow');
});
