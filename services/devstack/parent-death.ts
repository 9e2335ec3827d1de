/**
 * The parts `npm start` runs must not outlive it, even when it is killed with SIGKILL and cannot stop
 * them (they would keep their ports and the next start would fail). Linux has this in the kernel: a
 * parent-death signal (prctl PR_SET_PDEATHSIG), sent to a process when the one that started it dies.
 * Node cannot set it for a child, so the child is started through util-linux's `setpriv --pdeathsig`,
 * which sets it and then execs the command: same PID, same stdio and IPC channel, no process in
 * between. Without setpriv (not Linux) the command runs as is; the next start then names what a
 * killed supervisor left running (stack-state.ts).
 */
import { spawnSync } from 'node:child_process';

let supported: boolean | undefined;

export function parentDeathSignalSupported(): boolean {
  supported ??= process.platform === 'linux' && spawnSync('setpriv', ['--pdeathsig', 'SIGTERM', '--', 'true'], { stdio: 'ignore' }).status === 0;
  return supported;
}

/** argv that runs `cmd` so that it gets `signal` when this process dies, however it dies. */
export function withParentDeathSignal(cmd: string, args: string[], signal: NodeJS.Signals): [string, string[]] {
  return parentDeathSignalSupported() ? ['setpriv', ['--pdeathsig', signal, '--', cmd, ...args]] : [cmd, args];
}
