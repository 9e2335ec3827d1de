/**
 * How much an unauthenticated caller may make the API do before it is turned away: a small body
 * (64 KB) and validation that stops at the first error. Callers whose credentials were checked (a
 * console session, an employee's registration session, a connector's token, the codec operator's
 * token) get the full size (1 MB; 8 MB for a number pull) and every validation error at once. The
 * credentials are therefore checked before the body is read (api/app.ts).
 */
import express, { type Request, type RequestHandler } from 'express';

export const ANONYMOUS_BODY_LIMIT = '64kb';
export const BODY_LIMIT = '1mb';
/** A number pull may name up to 100,000 people (payroll's whole staff). */
export const NUMBER_PULL_BODY_LIMIT = '8mb';

export type Identified = (req: Request) => boolean;

/** Picks one of two handlers per request, by whether the caller is identified. */
export const byCaller =
  (identified: Identified, known: RequestHandler, anonymous: RequestHandler): RequestHandler =>
  (req, res, next) =>
    (identified(req) ? known : anonymous)(req, res, next);

/** JSON bodies sized by caller (a parser that ran leaves the next one nothing to do). */
export function jsonBodies(identified: Identified): RequestHandler[] {
  const pull = express.json({ limit: NUMBER_PULL_BODY_LIMIT });
  const skip: RequestHandler = (_req, _res, next) => next();
  return [
    (req, res, next) => (req.path === '/v1/numbers/pull' ? byCaller(identified, pull, skip)(req, res, next) : next()),
    byCaller(identified, express.json({ limit: BODY_LIMIT }), express.json({ limit: ANONYMOUS_BODY_LIMIT })),
  ];
}
