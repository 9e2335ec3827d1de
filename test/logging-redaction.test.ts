/**
 * What reaches the log: secrets are redacted by key, and a 12-digit run (the shape of a My Number)
 * is masked wherever it appears, while other numbers stay readable.
 */
import { createLogger, type Logger } from '../services/logging/logger';
import { temporalLogger } from '../services/logging/temporal-logger';

const MY_NUMBER = '123456789018';
const MASK = '************';

function memory(): { logger: Logger; lines: string[]; last: () => Record<string, unknown> } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const last = () => {
    expect(lines.length).toBeGreaterThan(0);
    return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  };
  return { logger, lines, last };
}

describe('12-digit runs are masked', () => {
  it('in the message', () => {
    const { logger, lines, last } = memory();
    logger.info(`registrant typed ${MY_NUMBER} into the name field`);
    expect(last().msg).toBe(`registrant typed ${MASK} into the name field`);
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });

  it('in a printf-style string argument', () => {
    const { logger, lines, last } = memory();
    logger.warn('value %s rejected', MY_NUMBER);
    expect(last().msg).toBe(`value ${MASK} rejected`);
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });

  it('in nested fields and arrays, under keys that are not redacted', () => {
    const { logger, lines, last } = memory();
    logger.info({ detail: { note: `see ${MY_NUMBER}`, history: [{ text: `${MY_NUMBER}` }], deep: { a: { b: { c: MY_NUMBER } } } } }, 'saved');
    expect(last().detail).toEqual({ note: `see ${MASK}`, history: [{ text: MASK }], deep: { a: { b: { c: MASK } } } });
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });

  it('in an error message and stack logged under err', () => {
    const { logger, lines, last } = memory();
    logger.error({ err: new Error(`number ${MY_NUMBER} failed the check digit`) }, 'validation failed');
    const err = last().err as { message: string; stack: string };
    expect(err.message).toBe(`number ${MASK} failed the check digit`);
    expect(err.stack).toContain(`number ${MASK} failed`);
    expect(last().msg).toBe('validation failed');
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });

  it('in an error logged with a message of its own', () => {
    const { logger, lines, last } = memory();
    logger.error(new Error(`bad ${MY_NUMBER}`), 'could not store');
    expect((last().err as { message: string }).message).toBe(`bad ${MASK}`);
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });

  it('several times in one string, next to letters and punctuation', () => {
    const { logger, last } = memory();
    logger.info(`a${MY_NUMBER}b ${MY_NUMBER}-x (${MY_NUMBER})`);
    expect(last().msg).toBe(`a${MASK}b ${MASK}-x (${MASK})`);
  });

  // pino copies an error's message into `msg` when no message is given.
  it('in an error logged without a message (pino uses err.message as msg)', () => {
    const { logger, lines } = memory();
    logger.error(new Error(`bad ${MY_NUMBER}`));
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });

  // pino-http puts the request (with its URL) in child-logger bindings.
  it('in child logger bindings', () => {
    const { logger, lines } = memory();
    logger.child({ req: { url: `/v1/registrants/${MY_NUMBER}` } }).info('request completed');
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });
});

describe('the number as people write it is masked too', () => {
  it.each([
    ['hyphenated', '1234-5678-9018'],
    ['spaced', '1234 5678 9018'],
    ['full-width', '１２３４５６７８９０１８'],
    ['full-width with an ideographic space', '１２３４　５６７８　９０１８'],
    ['full-width hyphens', '1234－5678－9018'],
  ])('%s', (_name, written) => {
    const { logger, lines, last } = memory();
    logger.warn({ input: written }, `rejected ${written}.`);
    expect(last()).toMatchObject({ input: MASK, msg: `rejected ${MASK}.` });
    expect(lines.join('')).not.toContain(written);
  });

  it('dates, times, phone numbers and postal codes stay readable', () => {
    const { logger, last } = memory();
    const text = '2026-11-22 10:00, tel 03-1234-5678 / 090-1234-5678, 〒100-0001, 2026-11-22T10:00:00.000Z';
    logger.info(text);
    expect(last().msg).toBe(text);
  });
});

describe("the Temporal SDK's own log", () => {
  it('goes through the same scrubbing, at the chosen level', () => {
    const { logger, lines } = memory();
    const sdk = temporalLogger(logger, 'WARN');
    sdk.info('not shown');
    sdk.warn(`Activity failed: number ${MY_NUMBER}`, { activityType: 'sendInvitationMail', note: MY_NUMBER });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, component: 'temporal-sdk', activityType: 'sendInvitationMail', note: MASK, msg: `Activity failed: number ${MASK}` });
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });
});

describe('other numbers stay readable', () => {
  it('keeps runs shorter or longer than 12 digits', () => {
    const { logger, last } = memory();
    // 13 digits: a corporate number (法人番号); 11 digits: a phone number.
    logger.info({ corporateNumber: '1234567890123', phone: '09012345678', year: '2024' }, 'tenant 1234567890123 in 2024, tel 09012345678');
    expect(last()).toMatchObject({
      msg: 'tenant 1234567890123 in 2024, tel 09012345678',
      corporateNumber: '1234567890123',
      phone: '09012345678',
      year: '2024',
    });
  });

  it('masks a 12-digit value held as a number, at any depth', () => {
    const { logger, lines } = memory();
    logger.info({ a: { b: { c: { d: { e: Number(MY_NUMBER) } } } } }, 'n=%d', Number(MY_NUMBER));
    expect(lines.join('')).not.toContain(MY_NUMBER);
  });

  it('keeps numbers, booleans and ordinary text', () => {
    const { logger, last } = memory();
    logger.info({ remindersSent: 3, latencyMs: 42, ok: true, stage: 'invited' }, 'reminder 3 of 3 sent');
    expect(last()).toMatchObject({ remindersSent: 3, latencyMs: 42, ok: true, stage: 'invited', msg: 'reminder 3 of 3 sent' });
  });
});

describe('secret keys are redacted', () => {
  it.each(['password', 'token', 'myNumber', 'individualNumber', 'secret', 'clientSecret', 'passcode', 'totp', 'numberConfirm'])(
    '%s at the top level and nested up to two levels',
    (key) => {
      const { logger, lines, last } = memory();
      logger.info({ [key]: 'hunter2-top', body: { [key]: 'hunter2-one' }, req: { body: { [key]: 'hunter2-two' } } }, 'login');
      expect(last()).toMatchObject({ [key]: '[redacted]', body: { [key]: '[redacted]' }, req: { body: { [key]: '[redacted]' } } });
      expect(lines.join('')).not.toContain('hunter2');
    },
  );

  it('in objects inside arrays', () => {
    const { logger, lines, last } = memory();
    logger.info({ users: [{ email: 'a@example.co.jp', password: 'hunter2' }] }, 'import');
    expect(last().users).toEqual([{ email: 'a@example.co.jp', password: '[redacted]' }]);
    expect(lines.join('')).not.toContain('hunter2');
  });

  it('in child logger bindings', () => {
    const { logger, lines, last } = memory();
    logger.child({ token: 'hunter2' }).info('invitation opened');
    expect(last().token).toBe('[redacted]');
    expect(lines.join('')).not.toContain('hunter2');
  });

  it('removes authorization and cookie headers of a logged request', () => {
    const { logger, lines, last } = memory();
    logger.info({ req: { headers: { authorization: 'Bearer hunter2', cookie: 'sid=hunter2', accept: 'application/json' } } }, 'request');
    expect((last().req as { headers: unknown }).headers).toEqual({
      authorization: '[redacted]',
      cookie: '[redacted]',
      accept: 'application/json',
    });
    expect(lines.join('')).not.toContain('hunter2');
  });

  it('leaves other keys alone', () => {
    const { logger, last } = memory();
    logger.info({ familyName: '山田', email: 'taro@example.co.jp', status: 'pending' }, 'registered');
    expect(last()).toMatchObject({ familyName: '山田', email: 'taro@example.co.jp', status: 'pending' });
  });
});

describe('log levels', () => {
  it('writes nothing below the configured level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (s: string) => void lines.push(s) } });
    logger.info('quiet');
    logger.warn('loud');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['loud']);
  });
});
