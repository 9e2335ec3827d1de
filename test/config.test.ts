/** Configuration from the environment: defaults, parsing, and errors that name every bad key at once. */
import path from 'node:path';
import { ConfigError, loadConfig, requireServices, type Config } from '../services/config/config';
import { poolConfigFromUrl } from '../services/db/pg-adapter';

/** The ConfigError that `fn` throws (fails the test if it throws nothing else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      temporal: { address: undefined, namespace: 'default', taskQueue: 'mynaflow', connection: {} },
      smtpUrl: undefined,
      inviteReminderDays: [7, 30, 80],
      dataDir: path.resolve('.data'),
      logLevel: 'info',
      embedded: { temporalPort: 7233, temporalUiPort: 8233, smtpPort: 1025, outboxPort: 8025 },
      worker: { cachedWorkflows: 250, activitySlots: 20 },
    });
  });

  it('sizes the worker from WORKER_CACHED_WORKFLOWS and WORKER_ACTIVITY_SLOTS, naming a bad value', () => {
    expect(loadConfig({ WORKER_CACHED_WORKFLOWS: '0', WORKER_ACTIVITY_SLOTS: '8' }).worker).toEqual({ cachedWorkflows: 0, activitySlots: 8 });
    const err = configError(() => loadConfig({ WORKER_CACHED_WORKFLOWS: 'lots', WORKER_ACTIVITY_SLOTS: '0' }));
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(['WORKER_CACHED_WORKFLOWS', 'WORKER_ACTIVITY_SLOTS']);
  });

  it('does not read process.env when an environment is passed', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4567';
    try {
      expect(loadConfig({}).port).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('derives the public URL from PORT when PUBLIC_URL is unset', () => {
    expect(loadConfig({ PORT: '8080' })).toMatchObject({ port: 8080, publicUrl: 'http://localhost:8080' });
  });

  it('takes PUBLIC_URL as given, without trailing slashes', () => {
    expect(loadConfig({ PORT: '8080', PUBLIC_URL: 'https://myna.example.co.jp/app//' }).publicUrl).toBe('https://myna.example.co.jp/app');
  });

  it('reads the service addresses', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgresql://u:p@db:5432/mynaflow',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'prod',
      TEMPORAL_TASK_QUEUE: 'q1',
      SMTP_URL: 'smtp://mail:25',
    });
    expect(c).toMatchObject({
      databaseUrl: 'postgresql://u:p@db:5432/mynaflow',
      temporal: { address: 'temporal:7233', namespace: 'prod', taskQueue: 'q1', connection: {} },
      smtpUrl: 'smtp://mail:25',
    });
  });

  it.each([
    ['14', [14]],
    ['3,10,20', [3, 10, 20]],
    [' 3 , 10 ,20 ', [3, 10, 20]],
  ])('parses INVITE_REMINDER_DAYS=%j as %j', (value, days) => {
    expect(loadConfig({ INVITE_REMINDER_DAYS: value }).inviteReminderDays).toEqual(days);
  });

  it.each([['30,7'], ['7,7'], ['0,7'], ['7;30'], ['seven'], ['7,,30'], ['-7']])('rejects INVITE_REMINDER_DAYS=%j', (value) => {
    const err = configError(() => loadConfig({ INVITE_REMINDER_DAYS: value }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^INVITE_REMINDER_DAYS: /);
  });

  it.each([['0'], ['65536'], ['abc'], ['80.5'], ['-1']])('rejects PORT=%j', (value) => {
    const err = configError(() => loadConfig({ PORT: value }));
    expect(err.problems).toEqual([expect.stringMatching(/^PORT: /)]);
  });

  it('reports every bad value at once, each with its key', () => {
    const err = configError(() =>
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'not a url',
        TEMPORAL_ADDRESS: 'localhost',
        INVITE_REMINDER_DAYS: '30,7,80',
        SMTP_URL: 'http://mail:25',
        LOG_LEVEL: 'verbose',
      }),
    );
    const keys = err.problems.map((p) => p.split(':')[0]).sort();
    expect(keys).toEqual(['DATABASE_URL', 'INVITE_REMINDER_DAYS', 'LOG_LEVEL', 'PORT', 'SMTP_URL', 'TEMPORAL_ADDRESS']);
    for (const key of keys) expect(err.message).toContain(`  - ${key}: `);
    expect(err.message).toMatch(/^Invalid configuration:\n/);
    expect(err.name).toBe('ConfigError');
    // The hints say what a good value looks like.
    expect(err.message).toContain('host:port');
    expect(err.message).toContain('postgresql://');
  });

  it('rejects a DATABASE_URL of another kind of database', () => {
    const err = configError(() => loadConfig({ DATABASE_URL: 'mysql://u:p@db:3306/x' }));
    expect(err.problems).toEqual([expect.stringMatching(/^DATABASE_URL: .*postgresql:\/\//)]);
  });

  it('refuses pool settings in DATABASE_URL that are not numbers, naming each, and takes good ones', () => {
    const err = configError(() => loadConfig({ DATABASE_URL: 'postgresql://u@db/x?connection_limit=ten&pool_timeout=-1' }));
    expect(err.problems).toEqual([expect.stringMatching(/^DATABASE_URL: connection_limit=ten is not a whole number/), expect.stringMatching(/^DATABASE_URL: pool_timeout=-1 is not a number of seconds/)]);
    expect(configError(() => loadConfig({ DATABASE_URL: 'postgresql://u@db/x?connection_limit=2.5' })).problems).toHaveLength(1);
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@db/x?connection_limit=4&pool_timeout=0' }).databaseUrl).toContain('pool_timeout=0');
    // The pool reads the same settings (scripts that skip the configuration check are refused too).
    expect(poolConfigFromUrl('postgresql://u@db/x?connection_limit=4&pool_timeout=2.5')).toMatchObject({ max: 4, connectionTimeoutMillis: 2500 });
    expect(poolConfigFromUrl('postgresql://u@db/x')).toMatchObject({ max: 10, connectionTimeoutMillis: 10_000 });
    expect(() => poolConfigFromUrl('postgresql://u@db/x?pool_timeout=soon')).toThrow('DATABASE_URL: pool_timeout=soon is not a number of seconds');
  });

  it('accepts postgres:// as well as postgresql://', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@db/x' }).databaseUrl).toBe('postgres://u@db/x');
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({
      PORT: '',
      PUBLIC_URL: '',
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      TEMPORAL_TASK_QUEUE: '',
      SMTP_URL: '',
      INVITE_REMINDER_DAYS: '',
      LOG_LEVEL: '',
    });
    expect(c).toMatchObject({
      port: 3000,
      publicUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      temporal: { address: undefined, taskQueue: 'mynaflow' },
      smtpUrl: undefined,
      inviteReminderDays: [7, 30, 80],
      logLevel: 'info',
    });
  });

  it('ignores keys it does not know', () => {
    expect(() => loadConfig({ SOMETHING_ELSE: 'x', PATH: '/usr/bin' })).not.toThrow();
  });
});

describe('requireServices', () => {
  const all = { DATABASE_URL: 'postgresql://u@db/x', TEMPORAL_ADDRESS: 'temporal:7233', SMTP_URL: 'smtp://mail:25' };

  it('lists every missing service key', () => {
    const err = configError(() => requireServices(loadConfig({})));
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL']);
    expect(err.message).toContain('DATABASE_URL');
  });

  it('lists only the keys that are missing', () => {
    const err = configError(() => requireServices(loadConfig({ DATABASE_URL: all.DATABASE_URL, SMTP_URL: '' })));
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(['TEMPORAL_ADDRESS', 'SMTP_URL']);
  });

  it('returns the three addresses when all are set', () => {
    const config: Config = loadConfig(all);
    expect(requireServices(config)).toEqual({
      databaseUrl: all.DATABASE_URL,
      temporalAddress: all.TEMPORAL_ADDRESS,
      smtpUrl: all.SMTP_URL,
    });
  });
});
