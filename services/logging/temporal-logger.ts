/**
 * The Temporal SDK's own log (worker state, workflow and activity failures with their messages)
 * sent through our scrubbing logger instead of straight to the console, so it cannot leak either.
 */
import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export function temporalLogger(logger: Logger, level: LogLevel): DefaultLogger {
  const sdk = logger.child({ component: 'temporal-sdk' });
  return new DefaultLogger(level, ({ level: l, message, meta }) => sdk[PINO_LEVEL[l]]({ ...(meta ?? {}) }, message));
}
