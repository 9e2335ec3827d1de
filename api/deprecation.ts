/**
 * Retiring part of the contract (RFC 9745 Deprecation, RFC 8594 Sunset): every operation the spec
 * marks `deprecated: true` carries `x-deprecated-since` and `x-sunset` (dates, Japan time), and each
 * answer of it says so in headers, with a link to where the integration guide tells what replaces it.
 * oasdiff (test/contract-compat.test.ts) refuses to drop such an operation before its sunset.
 */
import type { RequestHandler } from 'express';

interface Retired {
  method: string;
  pattern: RegExp;
  deprecation: string;
  sunset: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A real calendar date (2027-02-30 is not). */
const isDate = (v: unknown): v is string => {
  if (typeof v !== 'string' || !DATE.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
};
/** Midnight of a date in Japan (UTC+9, no daylight saving). */
const japanMidnight = (date: string) => new Date(`${date}T00:00:00+09:00`);
export const DEPRECATION_POLICY_LINK = '</docs/integration-guide.md>; rel="deprecation"; type="text/markdown"';

/** The deprecated operations of a parsed spec; throws when one lacks its dates (a spec mistake). */
export function retiredOperations(spec: Record<string, unknown>): Retired[] {
  const out: Retired[] = [];
  for (const [route, ops] of Object.entries((spec.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!op || typeof op !== 'object' || op.deprecated !== true) continue;
      const since = op['x-deprecated-since'];
      const sunset = op['x-sunset'];
      if (!isDate(since) || !isDate(sunset)) throw new Error(`${method.toUpperCase()} ${route} is deprecated: give it x-deprecated-since and x-sunset (YYYY-MM-DD)`);
      if (sunset <= since) throw new Error(`${method.toUpperCase()} ${route}: x-sunset must come after x-deprecated-since`);
      const pattern = new RegExp(`^${route.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
      out.push({
        method: method.toUpperCase(),
        pattern,
        // RFC 9745: a structured-field date, seconds since the epoch.
        deprecation: `@${Math.floor(japanMidnight(since).getTime() / 1000)}`,
        // RFC 8594: an HTTP date.
        sunset: japanMidnight(sunset).toUTCString(),
      });
    }
  }
  return out;
}

export function deprecationHeaders(spec: Record<string, unknown>): RequestHandler {
  const retired = retiredOperations(spec);
  return (req, res, next) => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const hit = retired.find((r) => r.method === method && r.pattern.test(req.path));
    if (hit) res.set({ Deprecation: hit.deprecation, Sunset: hit.sunset, Link: DEPRECATION_POLICY_LINK });
    next();
  };
}
