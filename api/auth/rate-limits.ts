/**
 * Per-client-address limits on the steps anyone can call without a session. The login lock stops
 * guessing one account; these stop one address guessing many accounts, and stop the mail-sending
 * steps being used to flood someone's inbox. Counted in PostgreSQL (services/rate-limits/postgres-store.ts):
 * every API instance shares the counts, and a restart keeps them.
 */
import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { AppError } from '../../services/errors';
import type { RateLimitCounters } from '../../services/rate-limits/postgres-store';
import { sendProblem } from '../problem';

export interface RateLimit {
  /** Requests allowed per window and client address. */
  limit: number;
  windowMinutes: number;
}

export interface AuthRateLimits {
  /** Password and code attempts (login, second factor, reset with a code, customer-number code). */
  attempts: RateLimit;
  /** Steps that send mail (code resend, password-reset and customer-number reminders). */
  mailings: RateLimit;
}

export const DEFAULT_AUTH_RATE_LIMITS: AuthRateLimits = {
  attempts: { limit: 50, windowMinutes: 15 },
  mailings: { limit: 10, windowMinutes: 15 },
};

/** The limits and where they are counted, as the routes get them. */
export interface AuthRateLimiting extends AuthRateLimits {
  counters: RateLimitCounters;
}

function limiter(l: RateLimit, counters: RateLimitCounters, name: string, failuresOnly = false): RequestHandler {
  return rateLimit({
    windowMs: l.windowMinutes * 60_000,
    limit: l.limit,
    skipSuccessfulRequests: failuresOnly,
    store: counters.store(name),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req: Request & { rateLimit?: { resetTime?: Date } }, res) => {
      const reset = req.rateLimit?.resetTime?.getTime() ?? Date.now() + l.windowMinutes * 60_000;
      res.set('Retry-After', String(Math.max(1, Math.ceil((reset - Date.now()) / 1000))));
      sendProblem(res, new AppError(429, 'TOO_MANY_REQUESTS', '短時間に操作が集中しました。しばらく待ってから再度お試しください'));
    },
  });
}

/**
 * The two limiters of one group of routes. `scope` names the group's counters: each group keeps its
 * own budget (the console login, the employee's link, the OAuth token endpoint), as it always had.
 * `failuresOnly`: an attempt that succeeded gives its count back. For the employee's link, code and
 * password, where a company's employees share one address (the office network) on the day the
 * sheets are handed out: only wrong links, codes and passwords use up the budget, which is what
 * guessing does.
 */
export function authRateLimiters(limits: AuthRateLimiting, scope: string, opts: { failuresOnly?: boolean } = {}): { attempts: RequestHandler; mailings: RequestHandler } {
  return {
    attempts: limiter(limits.attempts, limits.counters, `${scope}-attempts`, opts.failuresOnly),
    mailings: limiter(limits.mailings, limits.counters, `${scope}-mailings`),
  };
}
