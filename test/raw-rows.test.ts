/**
 * The hot reads written in plain SQL (services/db/raw-rows.ts) give exactly what the Prisma queries
 * they replace give: every field, its type and value (dates, enum arrays, bigints, JSON, nulls).
 * A column added to the schema that the mapping gets wrong fails here, not in a console screen.
 */
import { randomUUID } from 'node:crypto';
import { Prisma, type Registrant } from '../prisma/generated/client';
import { CALLER_TENANT_FIELDS, CALLER_USER_FIELDS, createSessions } from '../services/auth/sessions';
import { createPrisma, isUniqueViolation, type PrismaClient } from '../services/db/client';
import { insertRegistrants, type NewRegistrantRow } from '../services/registrants/insert-registrants';
import { directSql } from '../services/db/direct-sql';
import { DEPENDENT_COLUMNS, LOGIN_USER_COLUMNS, pickModel, REGISTRANT_COLUMNS, selectColumns, TENANT_COLUMNS } from '../services/db/raw-rows';
import { freePort } from '../services/devstack/ports';
import { outageOf } from '../services/health/outages';
import { getRegistrantItem, listRegistrants, type RegistrantFilters } from '../services/registrants/listing';
import { registrantView } from '../services/registrants/view';
import { dependentSummary } from '../services/registrants/listing';
import { createTenant, testVault } from './support/fixtures';

let prisma: PrismaClient;

beforeAll(() => {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL missing: jest global set-up did not run');
  prisma = createPrisma(url);
});

afterAll(() => prisma?.$disconnect());

type RegistrantData = Parameters<PrismaClient['registrant']['create']>[0]['data'];

/** A registrant of the tenant with a fresh id (and its workflow id from it); its id. */
async function registrant(tenantId: string, data: Omit<RegistrantData, 'id' | 'tenantId' | 'workflowId' | 'tenant'>): Promise<string> {
  const id = randomUUID();
  await prisma.registrant.create({ data: { id, tenantId, workflowId: `wf-${id}`, ...data } as RegistrantData });
  return id;
}

it('a session with its login user and tenant is what Prisma reads, field for field (enum arrays, bigints, nulls and dates included)', async () => {
  const tenantId = await createTenant(prisma, '生SQL株式会社');
  await prisma.tenant.update({ where: { id: tenantId }, data: { purposes: ['withholding_slip', 'dividends'], reminderDays: [3, 9], mailPausedAt: new Date('2026-11-30T01:02:03.456Z'), corporateNumber: '1234567890123' } });
  const user = await prisma.loginUser.create({ data: { tenantId, email: `raw-${randomUUID().slice(0, 6)}@example.co.jp`, name: '生 太郎', role: 'manager', passwordHash: 'x', totpLastStep: 9_007_199_254_740_993n, lockedAt: null, failedLogins: 2 } });
  const sessions = createSessions({ prisma, idleMinutes: 30, absoluteHours: 12, loginLockMinutes: 30 });
  const { token, session } = await sessions.create({ tenantId, loginUserId: user.id, ip: '192.0.2.1', userAgent: 'テスト' });

  const viaPrisma = await prisma.session.findUnique({ where: { id: session.id }, include: { loginUser: { include: { tenant: true } } } });
  const viaSql = await sessions.find(token, { touch: false });
  expect(viaSql).toStrictEqual(viaPrisma);
  // A request's own lookup: the caller's fields of the user and tenant, nothing more (no password hash).
  const only = (fields: readonly string[]) => Object.fromEntries(fields.map((f) => [f, true]));
  const callerViaPrisma = await prisma.session.findUnique({ where: { id: session.id }, include: { loginUser: { select: { ...only(CALLER_USER_FIELDS), tenant: { select: only(CALLER_TENANT_FIELDS) } } } } });
  const caller = await sessions.findCaller(token);
  expect(caller).toStrictEqual(callerViaPrisma);
  expect(caller!.loginUser).not.toHaveProperty('passwordHash');
  expect(Object.keys(caller!.loginUser.tenant).sort()).toEqual([...CALLER_TENANT_FIELDS].sort());
  expect(viaSql!.loginUser.tenant.purposes).toEqual(['withholding_slip', 'dividends']);
  expect(viaSql!.loginUser.totpLastStep).toBe(9_007_199_254_740_993n);
  expect(await sessions.find(`${token.slice(0, -2)}xx`)).toBeNull();
});

it('a registrant read (with its submitted dependents in order) is what the Prisma query with its include gave', async () => {
  const tenantId = await createTenant(prisma, '生SQL読取株式会社');
  const id = await registrant(tenantId, {
    familyName: '山田',
    givenName: '花子',
    familyNameKana: 'ヤマダ',
    email: 'hanako@example.co.jp',
    employeeCode: 'RAW-1',
    birthDate: new Date('1990-04-01T00:00:00Z'),
    gender: 'female',
    hireDate: new Date('2015-04-01T00:00:00Z'),
    retirementDate: new Date('2027-03-31T00:00:00Z'),
    deletionDueDate: new Date('2034-01-10T00:00:00Z'),
    retired: false,
    status: 'remanded',
    statusReason: '写真が不鮮明です',
    invitationState: 'open',
    invitationExpiresAt: new Date('2027-01-01T00:00:00.123Z'),
    workflowPendingSince: new Date(),
    workflowStart: { invite: { note: '再送' }, startedBy: { type: 'system' } },
    note: '備考',
  });
  const later = (s: number) => new Date(Date.now() + s * 1000);
  await prisma.dependent.create({ data: { registrantId: id, relationship: '子', familyName: '山田', givenName: '二郎', birthDate: new Date('2015-06-01T00:00:00Z'), status: 'pending', createdAt: later(2) } });
  await prisma.dependent.create({ data: { registrantId: id, relationship: '配偶者', kind: 'category3', familyName: '山田', givenName: '一郎', gender: 'male', status: 'completed', noLongerDependentAt: new Date(), createdAt: later(1) } });
  await prisma.dependent.create({ data: { registrantId: id, relationship: '子', familyName: '山田', givenName: '下書', draft: true } });

  const r = await prisma.registrant.findFirstOrThrow({ where: { id, tenantId }, include: { dependents: { where: { draft: false }, orderBy: { createdAt: 'asc' } } } });
  const expected = { ...registrantView(r, r.dependents), updatedAt: r.updatedAt.toISOString(), groupId: r.groupId, dependents: r.dependents.map(dependentSummary) };
  const item = await getRegistrantItem(prisma, tenantId, id);
  expect(item).toStrictEqual(expected);
  expect(item!.dependents.map((d) => d.givenName)).toEqual(['一郎', '二郎']);
  // Another tenant's id is nobody.
  expect(await getRegistrantItem(prisma, await createTenant(prisma, '別の会社'), id)).toBeNull();
});

describe('the registrant list chosen in plain SQL', () => {
  let tenantId: string;
  let groupId: string;
  const filterSets: RegistrantFilters[] = [];

  beforeAll(async () => {
    tenantId = await createTenant(prisma, '生SQL一覧株式会社');
    groupId = (await prisma.group.create({ data: { tenantId, name: '営業部' } })).id;
    const base = Date.parse('2026-11-01T00:00:00.000Z');
    const statuses = ['unregistered', 'pending', 'remanded', 'completed', 'refused'] as const;
    for (let i = 0; i < 23; i++) {
      const id = await registrant(tenantId, {
        groupId: i % 3 === 0 ? groupId : null,
        category: i % 4 === 0 ? 'part_time' : 'employee',
        familyName: '一覧',
        givenName: `${i}`,
        sortKana: ['イチ', 'ニ', 'サン', ''][i % 4]!,
        // Ties in the orders (the id decides within them); employee codes are unique, their nulls tie.
        employeeCode: i % 5 === 0 ? null : `E${String(i).padStart(2, '0')}`,
        status: statuses[i % 5]!,
        retired: i % 2 === 0,
        retirementDate: i % 3 === 1 ? new Date(Date.UTC(2026, 2 + (i % 2), 15)) : null,
        deletionDueDate: i % 3 === 2 ? new Date(Date.UTC(2033, 3 + (i % 2), 1)) : null,
        submittedAt: i % 4 === 1 ? null : new Date(base + (i % 3) * 60_000),
        updatedAt: new Date(base + (i % 6) * 1000),
      });
      if (i % 2) {
        await prisma.dependent.create({ data: { registrantId: id, relationship: '子', familyName: '一覧', givenName: `子${i}`, status: 'pending' } });
        await prisma.dependent.create({ data: { registrantId: id, relationship: '子', familyName: '一覧', givenName: `下書${i}`, draft: true } });
      }
    }
    filterSets.push(
      {},
      { status: 'completed' },
      { category: 'part_time' },
      { groupId },
      { employeeCode: 'E03' },
      { retired: true },
      { retired: false },
      { retiring: true },
      { retiring: false },
      { retirementMonth: '2026-03' },
      { deletionMonth: '2033-05' },
      { updatedSince: new Date(base + 3000).toISOString() },
      { status: 'pending', retired: false, category: 'employee' },
    );
  });

  it.each(['updated', '-updated', 'employeeCode', 'submitted', 'kana'] as const)('sorted by %s, every filter of plain columns: the same pages and cursors as the Prisma query, page by page to the end', async (sort) => {
    for (const filters of filterSets) {
      const walk = async (prismaOnly: boolean) => {
        const pages: { items: unknown[]; nextCursor: string | null }[] = [];
        let cursor: string | undefined;
        do {
          const page = await listRegistrants(prisma, tenantId, { ...filters, sort, limit: 4, cursor }, { prismaOnly });
          pages.push(page);
          cursor = page.nextCursor ?? undefined;
        } while (cursor && pages.length < 20);
        return pages;
      };
      const [plain, viaPrisma] = [await walk(false), await walk(true)];
      expect({ filters, pages: plain }).toStrictEqual({ filters, pages: viaPrisma });
    }
    // The walk saw everyone once.
    const all = (await listRegistrants(prisma, tenantId, { sort, limit: 100 })).items;
    expect(new Set(all.map((i) => i.id)).size).toBe(23);
  });
});

it('a single create\'s INSERT in plain SQL stores and gives back what Prisma\'s createManyAndReturn does, field for field, in the order given', async () => {
  const tenantId = await createTenant(prisma, '生SQL登録株式会社');
  const actorId = randomUUID();
  const rows = (code: string): NewRegistrantRow[] => [
    { familyName: '山田', givenName: '花子', familyNameKana: 'ヤマダ', givenNameKana: null, email: 'hanako@example.co.jp', employeeCode: `${code}-1`, category: 'employee', submissionDueDate: new Date('2027-01-15T00:00:00Z'), workflowPendingSince: new Date('2026-12-06T01:02:03.456Z'), workflowStart: { invite: { message: '提出してください', copyTo: 'hr@example.co.jp' }, startedBy: { type: 'login_user', id: actorId } } },
    { familyName: '佐藤', givenName: '一郎', familyNameKana: null, givenNameKana: 'イチロウ', email: null, employeeCode: null, category: 'payee', submissionDueDate: null, workflowPendingSince: new Date('2026-12-06T01:02:03.457Z'), workflowStart: Prisma.DbNull },
  ].map((r) => {
    const id = randomUUID();
    return { id, tenantId, workflowId: `wf-${id}`, ...r } as NewRegistrantRow;
  });
  const viaPrismaRows = rows('PRISMA');
  const viaPrisma = await prisma.registrant.createManyAndReturn({ data: viaPrismaRows });
  const directRows = rows('DIRECT');
  const direct = await (await directSql(prisma)).transaction((tx) => insertRegistrants(tx, directRows));
  expect(direct.map((r) => r.id)).toEqual(directRows.map((r) => r.id));
  // What differs by design: ids, employee codes, and the moments each was written.
  const comparable = (r: Registrant) => ({ ...r, id: undefined, workflowId: undefined, employeeCode: r.employeeCode?.replace(/^(PRISMA|DIRECT)/, ''), createdAt: undefined, updatedAt: undefined });
  const byId = new Map(viaPrisma.map((r) => [r.id, r]));
  expect(direct.map(comparable)).toStrictEqual(viaPrismaRows.map((r) => comparable(byId.get(r.id)!)));
  // As stored, read back by Prisma: the same again, and both timestamps set.
  for (const r of direct) {
    const stored = await prisma.registrant.findUniqueOrThrow({ where: { id: r.id } });
    expect(r).toStrictEqual(stored);
    expect(stored.createdAt).toBeInstanceOf(Date);
    expect(stored.updatedAt).toBeInstanceOf(Date);
  }
  // A taken employee code fails the statement as a unique violation, the way the create tells it.
  const taken = await (await directSql(prisma)).transaction((tx) => insertRegistrants(tx, rows('DIRECT').slice(0, 1))).catch((err: unknown) => err);
  expect(isUniqueViolation(taken)).toBe(true);
});

describe('plain SQL on the pool (services/db/direct-sql.ts, the number pull)', () => {
  /** Bytes compared as bytes: $queryRaw gives Uint8Array, pg a Buffer (also a Uint8Array). */
  const bytesAsBuffers = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v) : v])));

  it('gives every column as $queryRaw gives it: dates, timestamps, enums, enum arrays, JSON, bigints, bytes and nulls', async () => {
    const tenantId = await createTenant(prisma, '直接SQL株式会社');
    await prisma.tenant.update({ where: { id: tenantId }, data: { purposes: ['withholding_slip', 'dividends'] } });
    const id = await registrant(tenantId, {
      familyName: '直接',
      givenName: '花子',
      birthDate: new Date('1990-04-01T00:00:00Z'),
      hireDate: null,
      status: 'completed',
      invitationExpiresAt: new Date('2027-01-01T00:00:00.123Z'),
      workflowStart: { invite: { note: '再送' }, n: 1 },
    });
    await prisma.dependent.create({ data: { registrantId: id, relationship: '子', familyName: '直接', givenName: '二郎', birthDate: new Date('2015-06-01T00:00:00Z'), status: 'pending' } });
    await prisma.loginUser.create({ data: { tenantId, email: `direct-${randomUUID().slice(0, 6)}@example.co.jp`, name: '直接', role: 'owner', passwordHash: 'x', totpLastStep: 9_007_199_254_740_993n } });
    const vault = testVault(prisma);
    const secretId = await vault.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from('bytes, not a number') });
    const sql = await directSql(prisma);
    const queries = [
      Prisma.sql`SELECT ${selectColumns('r', REGISTRANT_COLUMNS)} FROM registrants r WHERE r.id = ${id}::uuid`,
      Prisma.sql`SELECT ${selectColumns('d', DEPENDENT_COLUMNS)} FROM dependents d WHERE d.registrant_id = ${id}::uuid`,
      Prisma.sql`SELECT ${selectColumns('t', TENANT_COLUMNS)} FROM tenants t WHERE t.id = ${tenantId}::uuid`,
      Prisma.sql`SELECT ${selectColumns('u', LOGIN_USER_COLUMNS)} FROM login_users u WHERE u.tenant_id = ${tenantId}::uuid`,
      Prisma.sql`SELECT * FROM vault_secrets WHERE id = ANY(${[secretId]}::uuid[])`,
    ];
    for (const q of queries) {
      const [viaPrisma, direct] = [await prisma.$queryRaw<Record<string, unknown>[]>(q), await sql.$queryRaw<Record<string, unknown>[]>(q)];
      expect(viaPrisma).toHaveLength(1);
      expect(bytesAsBuffers(direct)).toStrictEqual(bytesAsBuffers(viaPrisma));
    }
    expect(pickModel<Registrant>((await sql.$queryRaw<Record<string, unknown>[]>(queries[0]!))[0]!, REGISTRANT_COLUMNS)).toStrictEqual(await prisma.registrant.findUniqueOrThrow({ where: { id } }));
    // The vault opens what it sealed through either.
    expect((await vault.openMany([secretId], tenantId, sql)).get(secretId)!.toString()).toBe('bytes, not a number');
  });

  it('timestamps printed in any session time zone (whole hours, half hours, historical offsets with seconds, early years) are the instants $queryRaw gives', async () => {
    const sql = await directSql(prisma);
    const instants = ['2026-12-07 11:25:36.123456+00', '2026-12-07 11:25:36+00', '1900-01-01 00:00:00+00', '0050-06-15 12:00:00.5+00', '2026-03-29 01:30:00.01+00'];
    const query = Prisma.sql`SELECT v::timestamptz AS at, v::timestamptz::text AS printed FROM unnest(${instants}::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n`;
    const expected = (await prisma.$queryRaw<{ at: Date }[]>(query)).map((r) => r.at.getTime());
    expect(expected).toHaveLength(instants.length);
    const printedOffsets = new Set<string>();
    for (const zone of ['UTC', 'Asia/Tokyo', 'Asia/Kolkata', 'America/St_Johns', 'Europe/London']) {
      const rows = await sql.transaction(async (tx) => {
        await tx.$queryRaw`SELECT set_config('TimeZone', ${zone}, true)`;
        return tx.$queryRaw<{ at: Date; printed: string }[]>(query);
      });
      expect(rows.map((r) => r.at.getTime())).toEqual(expected);
      for (const r of rows) printedOffsets.add(/[+-][\d:]+$/.exec(r.printed)![0]);
    }
    // The forms the parser reads itself and the ones it leaves to pg's were both printed.
    expect([...printedOffsets]).toEqual(expect.arrayContaining(['+00', '+09', '+05:30', '-03:30', '+09:18:59']));
  });

  it('a transaction commits what its function wrote, or nothing when the function throws; the connection goes back either way', async () => {
    const sql = await directSql(prisma);
    const tenantId = await createTenant(prisma, '直接トランザクション株式会社');
    const name = (n: string) => sql.transaction((tx) => tx.$executeRaw`UPDATE tenants SET name = ${n} WHERE id = ${tenantId}::uuid`);
    expect(await name('書いた')).toBe(1);
    await expect(
      sql.transaction(async (tx) => {
        await tx.$executeRaw`UPDATE tenants SET name = ${'消える'} WHERE id = ${tenantId}::uuid`;
        throw new Error('the function failed');
      }),
    ).rejects.toThrow('the function failed');
    await expect(sql.transaction((tx) => tx.$queryRaw`SELECT 1/0`)).rejects.toMatchObject({ code: '22012' });
    expect((await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).name).toBe('書いた');
    // Each transaction gave its connection back: more of them than the pool holds still run.
    for (let i = 0; i < 12; i++) await name(`書いた${i}`);
    const [state] = await sql.transaction((tx) => tx.$queryRaw<{ isolation: string }[]>`SELECT current_setting('transaction_isolation') AS isolation`);
    expect(state?.isolation).toBe('read committed');
  });

  it('a database that cannot be reached reads as an outage (503), not as a bug', async () => {
    const away = createPrisma(`postgresql://nobody:x@127.0.0.1:${await freePort()}/none?pool_timeout=2`);
    try {
      const sql = await directSql(away);
      const err = await sql.$queryRaw`SELECT 1`.then(() => null, (e: unknown) => e);
      expect([String(err), outageOf(err)]).toEqual([String(err), 'database']);
      const txErr = await sql.transaction((tx) => tx.$queryRaw`SELECT 1`).then(() => null, (e: unknown) => e);
      expect(outageOf(txErr)).toBe('database');
    } finally {
      await away.$disconnect();
    }
  });
});
