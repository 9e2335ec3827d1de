/** Temporal test servers from the project venv (scripts/setup.sh): the SDK never downloads one. */
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Runtime, DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { prebuiltWorkflowBundle } from '../../services/worker/workflow-bundle';

/** Workflow code as a worker or replayer takes it. */
export type WorkflowBundle = { code: string };
import type { ConnectionPlugin } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createLogger } from '../../services/logging/logger';
import { temporalLogger } from '../../services/logging/temporal-logger';
import { dataConverterFor } from '../../services/temporal/payload-codec';
import { capture } from './capture';
import type { Keyring } from '../../services/vault/keyring';
import { testKeyring } from './keys';

const BIN = path.resolve(__dirname, '..', '..', '.tools', 'venv', 'bin');

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Warnings still reach the console; everything goes through the scrubbing logger and the capture.
  const out = createLogger({ level: 'warn', destination: { write: (line: string) => void (capture('temporal-sdk', line), process.stderr.write(line)) } });
  Runtime.install({ logger: temporalLogger(out, 'WARN') });
}

export interface LocalEnvOptions {
  /**
   * Server dynamic config (`temporal server start-dev --dynamic-config-value key=value`), e.g.
   * `{ 'limit.historyCount.suggestContinueAsNew': 60 }`. Values are written as JSON.
   */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** The keys of the client's payload codec: those of worker or API processes the file starts (MASTER_KEY). */
  keyring?: Keyring;
}

/**
 * The test client waits up to a minute for a dev server to answer its first call (the SDK's default
 * is 10 s): at the start of a full run, jest's workers start a dozen servers and clusters on two
 * cores at once, and one that needed 11 s failed a whole file ("Failed to connect before the deadline").
 */
const patientConnect: ConnectionPlugin = {
  name: 'mynaflow-test-patient-connect',
  configureConnection: (options) => ({ ...options, connectTimeout: '60s' }),
};

/** A full Temporal dev server (same as `npm start` runs). */
export function createLocalEnv(opts: LocalEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const extraArgs = Object.entries(opts.dynamicConfig ?? {}).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
  return TestWorkflowEnvironment.createLocal({
    plugins: [patientConnect],
    server: { executable: { type: 'existing-path', path: path.join(BIN, 'temporal') }, ip: '127.0.0.1', extraArgs },
    // Payloads encrypted as the API and worker encrypt them (the file's own keys).
    client: { dataConverter: dataConverterFor(opts.keyring ?? testKeyring()) },
  });
}

/**
 * The test client pings no more. The Java test server allows a ping every 5 minutes during a call
 * and the SDK pings every 30 s: a sleep through days of retries that takes over a minute on a
 * loaded machine got its connection closed ("excess pings"), and time stopped skipping for good.
 */
const noKeepalivePings: ConnectionPlugin = {
  name: 'mynaflow-test-no-keepalive-pings',
  configureConnection: (options) => ({ ...options, channelArgs: { ...options.channelArgs, 'grpc.keepalive_time_ms': -1 } }),
};

/** The time-skipping test server: timers of days pass in moments. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    plugins: [noKeepalivePings],
    client: { dataConverter: dataConverterFor(testKeyring()) },
    server: { executable: { type: 'existing-path', path: path.join(BIN, 'temporal-test-server') } },
  });
}

export const TEMPORAL_CLI = path.join(BIN, 'temporal');

let bundle: Promise<WorkflowBundle> | undefined;
/**
 * The workflow bundle: the one prebuilt at set-up (as production workers load it) when it is built
 * from the current sources, else built once per test file.
 */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= Promise.resolve(prebuiltWorkflowBundle() ?? bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') }));
  return bundle;
}

/**
 * The workflow code of an earlier commit (a released version), bundled: its workflows/ and shared/
 * taken from git into .tools/releases/<commit>/ (inside the project, so the bundler finds this
 * node_modules). For tests that run a workflow on the release and go on with it on this code.
 */
export async function releasedWorkflowBundle(commit: string): Promise<WorkflowBundle> {
  const root = path.resolve(__dirname, '..', '..');
  const dir = path.join(root, '.tools', 'releases', commit);
  if (!fs.existsSync(path.join(dir, 'workflows', 'index.ts'))) {
    fs.mkdirSync(dir, { recursive: true });
    const tar = execFileSync('git', ['archive', '--format=tar', commit, 'workflows', 'shared'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  }
  return bundleWorkflowCode({ workflowsPath: path.join(dir, 'workflows', 'index.ts'), logger: new DefaultLogger('WARN') });
}

