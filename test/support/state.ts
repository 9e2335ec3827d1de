/** What global set-up hands to global tear-down: Jest shares only globals between the two. */
import type { ChildProcess } from 'node:child_process';

export interface TestState {
  tmpDir?: string;
  postgres?: ChildProcess;
  adminUrl?: string;
  database?: string;
}
const KEY = '__mynaflowTestState';
export const testState = {
  set(s: TestState) {
    (globalThis as Record<string, unknown>)[KEY] = s;
  },
  get: (): TestState => ((globalThis as Record<string, unknown>)[KEY] as TestState | undefined) ?? {},
};
