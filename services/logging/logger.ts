/**
 * Structured logging that cannot leak a My Number. Every finished log line is scrubbed on its way out
 * — after pino's serializers, bindings and error handling have done their work — so no path into
 * the log is missed: any run of exactly 12 digits (in a string or as a number, also full-width or
 * split by hyphens or spaces) is masked, and
 * fields named like secrets are redacted at any depth.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

const REDACT_KEYS = new Set(
  [
    'password', 'newPassword', 'currentPassword', 'passcode', 'token', 'secret', 'clientSecret',
    'myNumber', 'individualNumber', 'number', 'numberConfirm', 'totp', 'otp', 'securityCode',
    'authorization', 'cookie', 'set-cookie',
  ].map((k) => k.toLowerCase()),
);

/**
 * Twelve digits, half- or full-width, optionally split by single hyphens or spaces the way people
 * type them (1234-5678-9012, １２３４ ５６７８ ９０１２). Longer runs (timestamps) are left alone.
 */
export const TWELVE_DIGITS = /(?<![0-9０-９])[0-9０-９](?:[-‐－ \u3000]?[0-9０-９]){11}(?![0-9０-９])/g;
export const MASK = '************';

export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(TWELVE_DIGITS, MASK);
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) >= 1e11 && Math.abs(value) < 1e12 ? MASK : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth > 32) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, REDACT_KEYS.has(k.toLowerCase()) ? '[redacted]' : scrub(v, depth + 1)]),
  );
}

/** Scrubs one serialized log line; a line that isn't JSON is masked as text. */
export function scrubLine(line: string): string {
  try {
    return `${JSON.stringify(scrub(JSON.parse(line)))}\n`;
  } catch {
    return line.replace(TWELVE_DIGITS, MASK);
  }
}

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const out = opts.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    { level: opts.level ?? 'info', name: opts.name },
    { write: (line: string) => out.write(scrubLine(line)) },
  );
}
