/**
 * Every activity tells Temporal it is alive every few seconds while it runs. The workflows give their
 * activities a heartbeat timeout, so when a worker dies mid-activity (SIGKILL, a lost machine) the
 * activity is retried elsewhere within seconds instead of after its whole start-to-close timeout.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export const KEEP_ALIVE_EVERY_MS = 5_000;

export const keepAlive: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      ctx.heartbeat();
      const timer = setInterval(() => ctx.heartbeat(), KEEP_ALIVE_EVERY_MS);
      try {
        return await next(input);
      } finally {
        clearInterval(timer);
      }
    },
  },
});
