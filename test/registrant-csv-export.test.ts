/**
 * HR's registrant CSV downloads over HTTP, on real PostgreSQL: the export without numbers (CP932 by
 * default, UTF-8 with BOM on request, leading zeros, formula neutralising, 𠮷 reported by person
 * and column) and the export with numbers (password again, a purpose the tenant uses, recorded with
 * the purpose and counts, never cached, the numbers in the body only — never in a log line).
 *
 * Registrants are inserted directly; nothing here needs Temporal (the client points nowhere), which
 * also shows that an upload is refused whole (503, nothing stored) while Temporal cannot be reached.
 * Numbers are compared as booleans so a failure never prints one.
 */
import { randomInt, randomUUID } from 'node:crypto';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import type { Prisma, Purpose } from '../prisma/generated/client';
import { checkDigit } from '../services/mynumber/validate';
import { NUMBERS_EXPORT_HEADER, REGISTRANT_EXPORT_HEADER } from '../services/registrants/csv-columns';
import { registrantWorkflowId } from '../shared';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, memoryLogger, testVault, type Agent, type TestUser } from './support/fixtures';
import { bytesOf } from './support/http';
import { containsAny } from './support/leak-scan';

const log = memoryLogger();
// Nothing listens here: downloads do not need Temporal.
const harness = useApiHarness({ taskQueue: 'registrant-csv-export', logger: log.logger });
let manager: TestUser;
let hr: Agent;
let viewerAgent: Agent;

/** Every number this file stored: none may reach a log line or any response but the download. */
const used: string[] = [];
const responses: string[] = [];

/** A valid number; `leadingZero` makes one that starts with 0 (Excel would drop it as a number). */
function validNumber(leadingZero = false): string {
  const first11 = `${leadingZero ? '0' : String(1 + randomInt(9))}${Array.from({ length: 10 }, () => String(randomInt(10))).join('')}`;
  const n = `${first11}${checkDigit(first11)}`;
  used.push(n);
  return n;
}

const exportCsv = (agent: Agent, query: Record<string, string> = {}) => bytesOf(agent.get('/v1/registrants/export.csv').query(query));
const exportNumbers = (agent: Agent, body: Record<string, unknown>) => bytesOf(agent.post('/v1/registrants/export-with-numbers').send(body));
/** A problem+json answer read from raw bytes. */
const problemOf = (res: request.Response) => JSON.parse((res.body as Buffer).toString('utf8')) as { code: string; title: string; errors?: { path: string; message: string; code?: string }[] };
const cp932Records = (res: request.Response) => parse(iconv.decode(res.body as Buffer, 'cp932')) as string[][];

async function registrant(tenantId: string, data: Partial<Prisma.RegistrantUncheckedCreateInput> & { familyName: string; givenName: string }) {
  const id = randomUUID();
  return harness.prisma.registrant.create({ data: { id, tenantId, workflowId: registrantWorkflowId(tenantId, id), ...data } });
}
async function withNumber(tenantId: string, registrantId: string, n: string) {
  const secret = await testVault(harness.prisma).seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(n) });
  await harness.prisma.registrant.update({ where: { id: registrantId }, data: { myNumberSecretId: secret } });
}
async function dependent(tenantId: string, registrantId: string, data: Partial<Prisma.DependentUncheckedCreateInput> & { givenName: string; relationship: string }, n?: string) {
  const secret = n ? await testVault(harness.prisma).seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(n) }) : null;
  return harness.prisma.dependent.create({ data: { registrantId, familyName: '山田', myNumberSecretId: secret, ...data } });
}
const exportEvents = (tenantId: string, operation: string) => harness.prisma.operationEvent.findMany({ where: { tenantId, operation }, orderBy: { id: 'asc' } });
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

let tenantId: string;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, 'CSV出力株式会社');
  manager = await createLoginUser(harness.prisma, tenantId, 'manager', '出力 担当');
  [hr, viewerAgent] = await Promise.all([harness.login(manager), harness.agent(tenantId, 'viewer', '出力 閲覧')]);
});

describe('GET /v1/registrants/export.csv', () => {
  let t: string;
  let agent: Agent;
  beforeAll(async () => {
    t = await createTenant(harness.prisma, '往復テスト株式会社');
    agent = await harness.agent(t, 'viewer', '往復 閲覧');
    const group = await harness.prisma.group.create({ data: { tenantId: t, name: '営業部' } });
    await registrant(t, {
      employeeCode: '00123',
      familyName: '=HYPERLINK("http://evil.example","山田")',
      givenName: '太郎',
      familyNameKana: 'ヤマダ',
      givenNameKana: 'タロウ',
      email: 'taro@example.co.jp',
      category: 'part_time',
      birthDate: new Date('1980-01-01T00:00:00Z'),
      gender: 'male',
      hireDate: new Date('2010-04-01T00:00:00Z'),
      groupId: group.id,
      note: '週3日〜、"在宅",\r\n火曜休み',
      status: 'completed',
    });
    const b = await registrant(t, { employeeCode: '0042', familyName: '佐藤', givenName: '花子', note: '-5000', retirementDate: new Date('2025-03-31T00:00:00Z'), retired: true, deletionDueDate: new Date('2033-01-11T00:00:00Z'), deletionRule: 'dependents_declaration_7y' });
    await dependent(t, b.id, { givenName: '一郎', relationship: '子', status: 'pending' });
    await registrant(t, { familyName: '+鈴木', givenName: '@次郎', category: 'payee' });
  });

  it('is CP932 with CRLF by default: leading zeros kept as quoted text, formulas neutralised, recorded', async () => {
    const res = await exportCsv(agent);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=Shift_JIS');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="registrants-\d{8}\.csv"$/);
    expect(res.headers['cache-control']).toBe('no-store');
    const bytes = res.body as Buffer;
    expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
    const text = iconv.decode(bytes, 'cp932');
    // every record ends in CRLF; the only other line break is the one inside the quoted note
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n').length - 1).toBe(5);
    expect(text.replace(/\r\n/g, '').includes('\n')).toBe(false);
    // the employee codes are quoted text, so importers keep the zeros
    expect(text).toContain('"00123"');
    expect(text).toContain('"0042"');
    // the round trip: a CP932 reader gets back every value
    const records = parse(text) as string[][];
    expect(records[0]).toEqual(REGISTRANT_EXPORT_HEADER);
    const [, first, second, third] = records;
    expect(first).toEqual([
      '00123',
      '\'=HYPERLINK("http://evil.example","山田")',
      '太郎',
      'ヤマダ',
      'タロウ',
      'taro@example.co.jp',
      '従業員2',
      '1980/01/01',
      '男性',
      '2010/04/01',
      '',
      '営業部',
      // 〜 (WAVE DASH) is written as CP932's own ～ and reads back as that
      '週3日～、"在宅",\r\n火曜休み',
      '完了',
      '',
      '0',
      '未登録',
      '',
      expect.stringMatching(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/),
    ]);
    expect(second!.slice(0, 3)).toEqual(['0042', '佐藤', '花子']);
    // a negative-looking text is neutralised too; the retirement and the deletion date are shown
    expect(second![12]).toBe("'-5000");
    expect([second![10], second![13], second![14], second![15], second![17]]).toEqual(['2025/03/31', '未登録', '承認待ち', '1', '2033/01/11']);
    expect(third!.slice(0, 7)).toEqual(['', "'+鈴木", "'@次郎", '', '', '', '報酬支払']);

    const events = await exportEvents(t, 'registrants_exported');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorLabel: '往復 閲覧', label: '登録者情報のダウンロード', registrantId: null, purpose: null, detail: { encoding: 'cp932', count: 3, filteredBy: {} } });
  });

  it('UTF-8 on request: a BOM first, CRLF, the same records', async () => {
    const res = await exportCsv(agent, { encoding: 'utf8-bom' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=UTF-8');
    const bytes = res.body as Buffer;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    expect(text.startsWith('"社員コード","姓","名"')).toBe(true);
    const records = parse(text) as string[][];
    expect(records.map((r) => r[0])).toEqual(['社員コード', '00123', '0042', '']);
    // UTF-8 keeps the WAVE DASH as it was stored
    expect(records[1]![12]).toBe('週3日〜、"在宅",\r\n火曜休み');
    expect((await exportEvents(t, 'registrants_exported')).at(-1)!.detail).toMatchObject({ encoding: 'utf8-bom' });
  });

  it('filters by status and retirement', async () => {
    const codes = async (query: Record<string, string>) => cp932Records(await exportCsv(agent, query).expect(200)).slice(1).map((r) => r[0]);
    expect(await codes({ status: 'completed' })).toEqual(['00123']);
    expect(await codes({ retired: 'true' })).toEqual(['0042']);
    expect(await codes({ retired: 'false' })).toEqual(['00123', '']);
    expect(await codes({ status: 'refused' })).toEqual([]);
    expect((await exportEvents(t, 'registrants_exported')).at(-1)!.detail).toMatchObject({ count: 0, filteredBy: { status: 'refused' } });
    expect((await agent.get('/v1/registrants/export.csv').query({ status: 'done' })).status).toBe(400);
    expect((await agent.get('/v1/registrants/export.csv').query({ encoding: 'sjis' })).status).toBe(400);
  });

  it('a character CP932 lacks: 422 naming each person and column, no file, nothing recorded; UTF-8 works', async () => {
    const u = await createTenant(harness.prisma, '吉野家テスト株式会社');
    const agentU = await harness.agent(u, 'manager');
    await registrant(u, { employeeCode: '001', familyName: '山田', givenName: '太郎' });
    await registrant(u, { employeeCode: '002', familyName: '𠮷田', givenName: '一𠮷', note: '𠮷と😀' });
    await registrant(u, { employeeCode: '003', familyName: '佐藤', givenName: '花子', email: 'é@example.com' });
    const before = (await exportEvents(u, 'registrants_exported')).length;

    const res = await exportCsv(agentU);
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['content-disposition']).toBeUndefined();
    const problem = problemOf(res);
    expect(problem.code).toBe('CSV_UNENCODABLE');
    expect(problem.title).toMatch(/Shift_JIS（CP932）で表せない文字/);
    // one entry per offending cell (two 𠮷 in 名 are one cell), each with the person and the column
    expect(problem.errors!.map((e) => e.path)).toEqual(['/rows/2/姓', '/rows/2/名', '/rows/2/備考', '/rows/3/メールアドレス']);
    expect(problem.errors![0]!.message).toBe('2行目（社員コード002 𠮷田 一𠮷）の「姓」：「𠮷」（U+20BB7）はShift_JISで表せません');
    expect(problem.errors![2]!.message).toBe('2行目（社員コード002 𠮷田 一𠮷）の「備考」：「𠮷」（U+20BB7）「😀」（U+1F600）はShift_JISで表せません');
    expect(problem.errors![3]!.message).toContain('3行目（社員コード003 佐藤 花子）の「メールアドレス」：「é」');
    expect((await exportEvents(u, 'registrants_exported')).length).toBe(before);

    const utf8 = await exportCsv(agentU, { encoding: 'utf8-bom' }).expect(200);
    const records = parse((utf8.body as Buffer).subarray(3).toString('utf8')) as string[][];
    expect(records[2]!.slice(0, 3)).toEqual(['002', '𠮷田', '一𠮷']);
  });

  it('a tenant of several export pages (streamed): everyone once, in the file\'s order across the pages; a name CP932 lacks on a later page is refused with its row number', async () => {
    const big = await createTenant(harness.prisma, '大量出力株式会社');
    const agentB = await harness.agent(big, 'viewer');
    // 2,300 with codes (out of insertion order) and 200 without: three pages of 1,000.
    await harness.prisma.$executeRaw`
      INSERT INTO registrants (id, tenant_id, employee_code, family_name, given_name, workflow_id, created_at, updated_at)
      SELECT gen_random_uuid(), ${big}::uuid, CASE WHEN i <= 2300 THEN lpad(((i * 7919) % 2300)::text, 5, '0') END, '大量', '社員' || i, 'wf-big-' || gen_random_uuid(), now() - (i || ' seconds')::interval, now()
        FROM generate_series(1, 2500) i`;
    const res = await exportCsv(agentB).expect(200);
    const records = cp932Records(res);
    expect(records[0]).toEqual(REGISTRANT_EXPORT_HEADER);
    const rows = records.slice(1);
    expect(rows).toHaveLength(2500);
    const codes = rows.slice(0, 2300).map((r) => r[0]);
    expect(codes).toEqual([...codes].sort());
    expect(new Set(codes).size).toBe(2300);
    // Without a code: last, oldest first (generate_series' last rows are the oldest).
    expect(rows.slice(2300).map((r) => r[0])).toEqual(Array(200).fill(''));
    expect(rows.slice(2300, 2302).map((r) => r[2])).toEqual(['社員2500', '社員2499']);
    expect((await exportEvents(big, 'registrants_exported')).at(-1)!.detail).toMatchObject({ count: 2500 });

    // A name on the third page: its row number counts the pages before it.
    await harness.prisma.registrant.updateMany({ where: { tenantId: big, employeeCode: '02100' }, data: { givenName: '𠮷' } });
    const refused = await exportCsv(agentB);
    expect(refused.status).toBe(422);
    expect(problemOf(refused).errors!.map((e) => e.path)).toEqual(['/rows/2101/名']);
    expect(problemOf(refused).errors![0]!.message).toContain('2101行目（社員コード02100 大量 𠮷）');
  });

  it('is for logged-in HR only, and each tenant sees its own', async () => {
    expect((await request(harness.app).get('/v1/registrants/export.csv')).status).toBe(401);
    const mine = cp932Records(await exportCsv(hr).expect(200));
    expect(mine.slice(1).some((r) => r[0] === '00123')).toBe(false);
  });
});

describe('GET /v1/registrants/import-template.csv', () => {
  it('is a CP932 sample: the header and two example rows', async () => {
    const res = await bytesOf(viewerAgent.get('/v1/registrants/import-template.csv')).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=Shift_JIS');
    expect(res.headers['content-disposition']).toBe('attachment; filename="registrant-import-template.csv"');
    const records = cp932Records(res);
    expect(records[0]).toEqual(['社員コード', '姓', '名', 'フリガナ（姓）', 'フリガナ（名）', 'メールアドレス', '区分', '生年月日', '性別', '入社日', '退職日', 'グループ', '備考']);
    expect(records).toHaveLength(3);
    expect(records[1]!.slice(0, 3)).toEqual(['00123', '山田', '太郎']);
    expect(iconv.decode(res.body as Buffer, 'cp932')).toContain('"00123"');
  });
});

describe('POST /v1/registrants/export-with-numbers', () => {
  let t: string;
  let user: TestUser;
  let agent: Agent;
  const numbers: Record<string, string> = {};
  let yamadaId: string;
  let satoId: string;

  beforeAll(async () => {
    t = await createTenant(harness.prisma, '番号出力株式会社');
    user = await createLoginUser(harness.prisma, t, 'manager', '番号出力 担当');
    agent = await harness.login(user);
    const yamada = await registrant(t, { employeeCode: '00007', familyName: '山田', givenName: '太郎', birthDate: new Date('1980-01-01T00:00:00Z'), gender: 'male', status: 'completed' });
    yamadaId = yamada.id;
    numbers.yamada = validNumber(true);
    numbers.hanako = validNumber();
    numbers.ichiro = validNumber(true);
    numbers.draft = validNumber();
    numbers.former = validNumber();
    await withNumber(t, yamada.id, numbers.yamada);
    await dependent(t, yamada.id, { givenName: '花子', relationship: '配偶者', kind: 'category3', gender: 'female', status: 'completed', birthDate: new Date('1982-02-02T00:00:00Z') }, numbers.hanako);
    await dependent(t, yamada.id, { givenName: '一郎', relationship: '子', status: 'completed' }, numbers.ichiro);
    // still in the employee's draft (HR does not see it) and a former dependent: not exported
    await dependent(t, yamada.id, { givenName: '下書', relationship: '子', draft: true }, numbers.draft);
    await dependent(t, yamada.id, { givenName: '元扶養', relationship: '父', noLongerDependentAt: new Date() }, numbers.former);
    const sato = await registrant(t, { employeeCode: '00008', familyName: '佐藤', givenName: '次郎' });
    satoId = sato.id;
  });

  const body = (extra: Record<string, unknown> = {}) => ({ password: user.password, purpose: 'withholding_slip' as Purpose, ...extra });

  it('a wrong password: 400, no file, nothing recorded, a failed login counted', async () => {
    const res = await exportNumbers(agent, body({ password: `${user.password}x` }));
    responses.push((res.body as Buffer).toString('utf8'));
    expect(res.status).toBe(400);
    expect(problemOf(res)).toMatchObject({ code: 'PASSWORD_INCORRECT', title: 'パスワードが正しくありません' });
    expect((await exportEvents(t, 'numbers_downloaded')).length).toBe(0);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).failedLogins).toBe(1);
  });

  it('a purpose the tenant does not use, or none: 400 and nothing recorded', async () => {
    await harness.prisma.tenant.update({ where: { id: t }, data: { purposes: ['withholding_slip', 'employment_insurance'] } });
    try {
      const res = await exportNumbers(agent, body({ purpose: 'dividends' }));
      responses.push((res.body as Buffer).toString('utf8'));
      expect(res.status).toBe(400);
      expect(problemOf(res)).toMatchObject({ code: 'PURPOSE_DISABLED', title: 'この利用目的は契約者設定で使用しないことになっています' });
      const none = await exportNumbers(agent, { password: user.password });
      responses.push((none.body as Buffer).toString('utf8'));
      expect(none.status).toBe(400);
      expect(problemOf(none).errors!.map((e) => e.path)).toContain('/body/purpose');
    } finally {
      await harness.prisma.tenant.update({ where: { id: t }, data: { purposes: { set: ['withholding_slip', 'employment_insurance', 'health_insurance_pension', 'workers_compensation', 'category3_pension', 'property_savings', 'dividends', 'real_estate', 'contractor_payments'] } } });
    }
    expect((await exportEvents(t, 'numbers_downloaded')).length).toBe(0);
  });

  it('viewers may not download numbers; anonymous callers are nobody', async () => {
    const viewer = await createLoginUser(harness.prisma, t, 'viewer');
    const res = await exportNumbers(await harness.login(viewer), { password: viewer.password, purpose: 'withholding_slip' });
    expect(res.status).toBe(403);
    expect((await request(harness.app).post('/v1/registrants/export-with-numbers').send(body())).status).toBe(401);
  });

  it('one row per person with the number as text, never cached, recorded with the purpose and counts only', async () => {
    const res = await exportNumbers(agent, body({ purpose: 'employment_insurance' }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=Shift_JIS');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="registrant-numbers-\d{8}\.csv"$/);
    const text = iconv.decode(res.body as Buffer, 'cp932');
    const records = parse(text) as string[][];
    expect(records[0]).toEqual(NUMBERS_EXPORT_HEADER);
    const col = NUMBERS_EXPORT_HEADER.indexOf('マイナンバー');
    const withoutNumbers = records.map((r) => r.filter((_c, i) => i !== col));
    expect(withoutNumbers.slice(1).map((r) => r.slice(0, 11))).toEqual([
      ['00007', '本人', '本人', '山田', '太郎', '', '', '1980/01/01', '男性', '従業員1', '完了'],
      ['00007', '扶養家族', '配偶者', '山田', '花子', '', '', '1982/02/02', '女性', '第3号被保険者', '完了'],
      ['00007', '扶養家族', '子', '山田', '一郎', '', '', '', '', '扶養親族', '完了'],
      ['00008', '本人', '本人', '佐藤', '次郎', '', '', '', '', '従業員1', '未登録'],
    ]);
    expect(records[1]![NUMBERS_EXPORT_HEADER.indexOf('登録者ID')]).toBe(yamadaId);
    expect(records[4]![NUMBERS_EXPORT_HEADER.indexOf('扶養家族ID')]).toBe('');
    // the numbers, compared without printing them; the leading zero survives as quoted text
    expect([records[1]![col] === numbers.yamada, records[2]![col] === numbers.hanako, records[3]![col] === numbers.ichiro, records[4]![col] === '']).toEqual([true, true, true, true]);
    expect(text.includes(`"${numbers.yamada}"`)).toBe(true);
    expect(containsAny(text, [numbers.draft!, numbers.former!]).length).toBe(0);

    const events = await exportEvents(t, 'numbers_downloaded');
    expect(events).toHaveLength(2);
    const [summary, perPerson] = events;
    expect(summary).toMatchObject({ actorLabel: '番号出力 担当', label: 'マイナンバーのダウンロード', purpose: 'employment_insurance', registrantId: null });
    expect(summary!.detail).toMatchObject({ encoding: 'cp932', persons: 4, numbers: 3, registrants: 1, filteredBy: {} });
    expect(perPerson).toMatchObject({ registrantId: yamadaId, registrantLabel: '山田 太郎', purpose: 'employment_insurance', detail: { numbers: 3, downloadId: (summary!.detail as { downloadId: string }).downloadId } });
    expect(events.some((e) => e.registrantId === satoId)).toBe(false);
    expect(containsAny(json(events), used).length).toBe(0);
  });

  it('UTF-8 with BOM and filters on request', async () => {
    const res = await exportNumbers(agent, body({ encoding: 'utf8-bom', status: 'completed' }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=UTF-8');
    const bytes = res.body as Buffer;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const records = parse(bytes.subarray(3).toString('utf8')) as string[][];
    expect(records.slice(1).map((r) => r[4])).toEqual(['太郎', '花子', '一郎']);
    expect((await exportEvents(t, 'numbers_downloaded')).at(-2)!.detail).toMatchObject({ encoding: 'utf8-bom', persons: 3, numbers: 3, filteredBy: { status: 'completed' } });
  });

  it('a dependent CP932 cannot write: 422 naming the person and column, no numbers anywhere in it, nothing recorded', async () => {
    const u = await createTenant(harness.prisma, '番号吉田株式会社');
    const uUser = await createLoginUser(harness.prisma, u, 'owner');
    const uAgent = await harness.login(uUser);
    const r = await registrant(u, { employeeCode: '9', familyName: '吉田', givenName: '太郎' });
    const n = validNumber();
    await withNumber(u, r.id, n);
    await dependent(u, r.id, { familyName: '吉田', givenName: '𠮷子', relationship: '子' }, validNumber());
    const res = await exportNumbers(uAgent, { password: uUser.password, purpose: 'withholding_slip' });
    const text = (res.body as Buffer).toString('utf8');
    responses.push(text);
    expect(res.status).toBe(422);
    const problem = problemOf(res);
    expect(problem.errors).toEqual([{ path: '/rows/2/名', message: '2行目（吉田 𠮷子（社員コード9 吉田 太郎の扶養家族））の「名」：「𠮷」（U+20BB7）はShift_JISで表せません', code: 'cp932' }]);
    expect((await exportEvents(u, 'numbers_downloaded')).length).toBe(0);
  });

  it('never puts a number in a log line or in any other response', () => {
    expect(log.lines.some((l) => l.includes('/v1/registrants/export-with-numbers'))).toBe(true);
    expect(containsAny(log.lines.join('\n'), used).length).toBe(0);
    expect(containsAny(responses.join('\n'), used).length).toBe(0);
  });
});

describe('POST /v1/registrants/import while Temporal cannot be reached', () => {
  it('stores nothing and answers 503 (a dry run still works)', async () => {
    const t = await createTenant(harness.prisma, '障害時株式会社');
    const agent = await harness.agent(t, 'manager');
    const file = iconv.encode('社員コード,姓,名\r\n00001,山田,太郎\r\n', 'cp932');
    const dry = await agent.post('/v1/registrants/import').query({ dryRun: 'true' }).set('Content-Type', 'text/csv').send(file);
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ ok: true, encoding: 'cp932' });
    const res = await agent.post('/v1/registrants/import').set('Content-Type', 'text/csv').send(file);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'TEMPORAL_UNAVAILABLE', title: 'ワークフローサーバーに接続できません。時間をおいて再度お試しください（登録はしていません）' });
    expect(await harness.prisma.registrant.count({ where: { tenantId: t } })).toBe(0);
    expect(await exportEvents(t, 'registrants_imported')).toHaveLength(0);
  });
});

describe('POST /v1/registrants/import-with-numbers while Temporal cannot be reached', () => {
  it('stores nothing, seals nothing and answers 503 (a dry run still works)', async () => {
    const t = await createTenant(harness.prisma, '番号取込障害時株式会社');
    const user = await createLoginUser(harness.prisma, t, 'manager');
    const agent = await harness.login(user);
    const file = iconv.encode(`社員コード,本人・扶養の別,姓,名,マイナンバー\r\n00001,本人,山田,太郎,${validNumber()}\r\n`, 'cp932');
    const post = () => agent.post('/v1/registrants/import-with-numbers').attach('file', file, 'numbers.csv');
    const dry = await post().field('dryRun', 'true');
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ ok: true, encoding: 'cp932', numbers: 1 });
    const res = await post().field('password', user.password).field('reason', '移行');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'TEMPORAL_UNAVAILABLE', title: 'ワークフローサーバーに接続できません。時間をおいて再度お試しください（登録はしていません）' });
    expect(await harness.prisma.registrant.count({ where: { tenantId: t } })).toBe(0);
    expect(await harness.prisma.vaultSecret.count({ where: { tenantId: t } })).toBe(0);
    expect(await exportEvents(t, 'numbers_imported')).toHaveLength(0);
    responses.push(JSON.stringify(dry.body), JSON.stringify(res.body));
  });
});
