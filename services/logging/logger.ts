/**
 * Structured logging. Secrets are redacted by key, and any 12-digit run (the shape of a My Number)
 * is masked in every logged string, so a number can't leak even through an unexpected field.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

const REDACT_KEYS = [
  'password', 'newPassword', 'currentPassword', 'passcode', 'token', 'secret', 'clientSecret',
  'myNumber', 'individualNumber', 'number', 'numberConfirm', 'totp', 'code',
];

const TWELVE_DIGITS = /(?<!\d)\d{12}(?!\d)/g;

export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(TWELVE_DIGITS, '************');
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: scrub(value.message), stack: scrub(value.stack) };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, depth + 1)]));
}

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name,
      redact: {
        paths: [
          ...REDACT_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
        ],
        censor: '[redacted]',
      },
      formatters: { log: (obj) => scrub(obj) as Record<string, unknown> },
      hooks: {
        // The message string itself is scrubbed too.
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    opts.destination,
  );
}
