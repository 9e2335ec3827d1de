/**
 * The registrant CSV upload over HTTP, on real PostgreSQL and a real Temporal dev server with a
 * worker: the dry run's per-line report in Japanese (era dates of every form), all-or-nothing
 * imports, CP932 and UTF-8 (with and without BOM) files, duplicate employee codes, the limits of a
 * file, and the workflows that start — with or without an invitation — only after the commit.
 */
import { randomUUID } from 'node:crypto';
import iconv from 'iconv-lite';
import type { ImportReport } from '../services/registrants/csv';
import { todayInJapan } from '../services/retention/rules';
import { lifecycleQuery, registrantWorkflowId } from '../shared';
import { createTenant, type Agent } from './support/fixtures';
import { bytesOf } from './support/http';
import { JAPANESE } from './support/problems';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'registrant-csv-import';
const HEADER = ['社員コード', '姓', '名', 'セイ', 'メイ', 'メールアドレス', '区分', '生年月日', '性別', '入社日', '退職日', 'グループ', '備考'];

const harness = useWorkerHarness({ taskQueue: TASK_QUEUE });

/** A tenant with a manager logged in. */
async function hrOf(name: string): Promise<{ tenantId: string; agent: Agent }> {
  const tenantId = await createTenant(harness.prisma, name);
  return { tenantId, agent: await harness.agent(tenantId, 'manager', `${name} 人事`) };
}

/** RFC 4180 text with CRLF, as Excel writes it (quotes only where needed). */
function csvText(rows: string[][]): string {
  const cell = (c: string) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
const cp932 = (rows: string[][]) => iconv.encode(csvText(rows), 'cp932');
const utf8 = (rows: string[][]) => Buffer.from(csvText(rows), 'utf8');
const utf8Bom = (rows: string[][]) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(rows)]);

function upload(agent: Agent, file: Buffer, query: Record<string, string> = {}, type = 'text/csv') {
  return agent.post('/v1/registrants/import').query(query).set('Content-Type', type).send(file);
}

/** A line of the template's columns, the rest blank. */
const line = (cells: Partial<Record<(typeof HEADER)[number], string>>) => HEADER.map((h) => cells[h] ?? '');
const count = (tenantId: string) => harness.prisma.registrant.count({ where: { tenantId } });
/** Workflows of the tenant's registrants the server knows of (visibility; ids start with the tenant's). */
async function workflowsOf(tenantId: string): Promise<number> {
  let n = 0;
  for await (const _wf of harness.env.client.workflow.list({ query: `WorkflowId STARTS_WITH "registrant-${tenantId}-"` })) n++;
  return n;
}
const events = (tenantId: string, operation: string) => harness.prisma.operationEvent.findMany({ where: { tenantId, operation }, orderBy: { id: 'asc' } });

describe('dry run', () => {
  it('reports every line in Japanese, reads era dates of every form, and stores nothing', async () => {
    const { tenantId, agent } = await hrOf('和暦株式会社');
    const existingId = randomUUID();
    await harness.prisma.registrant.create({ data: { id: existingId, tenantId, employeeCode: 'EXIST01', familyName: '既存', givenName: '社員', workflowId: registrantWorkflowId(tenantId, existingId) } });
    const file = utf8([
      HEADER,
      line({ 社員コード: '1001', 姓: '山田', 名: '太郎', セイ: 'ﾔﾏﾀﾞ', メイ: 'たろう', 区分: '従業員1', 生年月日: 's55/1/1', 性別: '男', 入社日: '2010/4/1' }),
      line({ 社員コード: '1002', 姓: '佐藤', 名: '花子', 区分: '従業員2', 生年月日: 'S55.1.1', 性別: '女性', 入社日: 'H2.4.1' }),
      line({ 社員コード: '1003', 姓: '鈴木', 名: '一郎', 区分: '業務委託', 生年月日: 'h2/4/1', 入社日: 'R5/1/1' }),
      line({ 社員コード: '1004', 姓: '高橋', 名: '令子', 区分: '報酬支払', 生年月日: '令和元年5月1日' }),
      line({ 社員コード: '1005', 姓: '田中', 名: '平', 生年月日: '平成2年4月1日', 入社日: '2012-04-01' }),
      line({ 社員コード: '1006', 姓: '伊藤', 名: '元', 生年月日: 'R元/5/1' }),
      line({ 社員コード: '1007', 姓: '渡辺', 名: '西暦', 生年月日: '1980/1/1', 入社日: '1998-04-01', 退職日: 'Ｈ３１．４．３０' }),
      ['', '', '', '', '', '', '', '', '', '', '', '', ''],
      line({ 社員コード: '1008', 姓: '中村', 名: '平成', 生年月日: 'H31/5/1' }),
      line({ 社員コード: '1009', 姓: '小林', 名: '閏', 区分: '社長', 生年月日: '2023/2/29', 性別: 'X' }),
      line({ 社員コード: '1010', 姓: '加藤' }),
      line({ 社員コード: '1001', 姓: '吉田', 名: '重複' }),
      line({ 社員コード: 'EXIST01', 姓: '山本', 名: '既存' }),
      line({ 社員コード: '1013', 姓: '松本', 名: '仮名', セイ: 'matsumoto' }),
      line({ 社員コード: '10 14', 姓: '井上', 名: '記号', メールアドレス: 'not-an-address', 入社日: '2030/1/1', 退職日: '2029/12/31' }),
    ]);
    const res = await upload(agent, file, { dryRun: 'true' });
    expect(res.status).toBe(200);
    const report = res.body as ImportReport;
    expect(report).toMatchObject({ dryRun: true, ok: false, encoding: 'utf8', rows: 14, valid: 7, invalid: 7, created: 0, invited: 0, newGroups: [], ignoredColumns: [] });
    expect(report.message).toBe('14行中7行に誤りがあります。直してからもう一度アップロードしてください（誤りが1行でもあると1人も登録しません）');
    const byLine = new Map(report.lines.map((l) => [l.line, l]));
    // the blank row 9 is skipped but counted, as a spreadsheet numbers its rows
    expect(report.lines.map((l) => l.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16]);
    for (const n of [2, 3, 4, 5, 6, 7, 8]) expect(byLine.get(n)).toMatchObject({ ok: true, errors: [], invite: false });
    expect(byLine.get(2)).toMatchObject({ employeeCode: '1001', name: '山田 太郎' });
    expect(byLine.get(10)!.errors).toEqual([{ column: '生年月日', message: '平成31年5月1日は平成の期間外です（平成は1989年1月8日から2019年4月30日まで）' }]);
    expect(byLine.get(11)!.errors).toEqual([
      { column: '区分', message: '区分は「従業員1」「従業員2」「業務委託」「報酬支払」のいずれかを入力してください' },
      { column: '性別', message: '性別は「男性」「女性」「その他」のいずれかを入力してください' },
      { column: '生年月日', message: '2023年2月29日は存在しない日付です（2月は28日まで）' },
    ]);
    expect(byLine.get(12)!.errors).toEqual([{ column: '名', message: '名を入力してください' }]);
    expect(byLine.get(13)!.errors).toEqual([{ column: '社員コード', message: '社員コード「1001」は2行目と重複しています' }]);
    expect(byLine.get(14)!.errors).toEqual([{ column: '社員コード', message: '社員コード「EXIST01」は既に登録されています' }]);
    expect(byLine.get(15)!.errors).toEqual([{ column: 'セイ', message: 'フリガナ（姓）はカタカナで入力してください' }]); // the old header, still read
    expect(byLine.get(16)!.errors.map((e) => e.column)).toEqual(['社員コード', 'メールアドレス', '退職日']);
    for (const l of report.lines) for (const e of l.errors) expect(e.message).toMatch(JAPANESE);

    // nothing stored, nothing recorded
    expect(await count(tenantId)).toBe(1);
    expect(await events(tenantId, 'registrant_created')).toHaveLength(0);
    expect(await events(tenantId, 'registrants_imported')).toHaveLength(0);

    // the good lines alone pass
    const good = utf8([HEADER, ...[2, 3, 4, 5, 6, 7, 8].map((n) => csvTextRow(file, n))]);
    const ok = await upload(agent, good, { dryRun: 'true' }).expect(200);
    expect(ok.body).toMatchObject({ ok: true, rows: 7, valid: 7, invalid: 0, created: 0, message: '7行すべて登録できます（確認のみで、まだ登録していません）' });
    expect(await count(tenantId)).toBe(1);
  });

  it('reads a CP932 file and a UTF-8 file with BOM the same way, English headers too', async () => {
    const { agent } = await hrOf('文字コード株式会社');
    const rows = [HEADER, line({ 社員コード: '00077', 姓: '髙橋', 名: '～一', セイ: 'タカハシ', 区分: '従業員2', 生年月日: '昭和55年1月1日', グループ: '経理部' })];
    // the charset a client names does not matter: the bytes decide
    const sjis = await upload(agent, cp932(rows), { dryRun: 'true' }, 'text/csv; charset=UTF-8').expect(200);
    const bom = await upload(agent, utf8Bom(rows), { dryRun: 'true' }).expect(200);
    expect(sjis.body).toMatchObject({ ok: true, encoding: 'cp932', newGroups: ['経理部'] });
    expect(bom.body).toMatchObject({ ok: true, encoding: 'utf8-bom', newGroups: ['経理部'] });
    expect(sjis.body.lines[0]).toMatchObject({ employeeCode: '00077', name: '髙橋 ～一' });
    expect(bom.body.lines[0]).toMatchObject({ employeeCode: '00077', name: '髙橋 ～一' });
    const english = ['employeeCode', 'familyName', 'givenName', 'familyNameKana', 'givenNameKana', 'email', 'category', 'birthDate', 'gender', 'hireDate', 'retirementDate', 'group', 'note'];
    const en = await upload(agent, utf8([english, ['7', 'Smith', 'John', '', '', 'john@example.com', 'contractor', '1990-01-01', 'male', '', '', '', '']]), { dryRun: 'true' }).expect(200);
    expect(en.body).toMatchObject({ ok: true, encoding: 'utf8', rows: 1 });
  });

  it('with invite=true every line needs an e-mail address; people with a retirement date are not invited', async () => {
    const { agent } = await hrOf('招待確認株式会社');
    const res = await upload(
      agent,
      utf8([
        HEADER,
        line({ 姓: '山田', 名: '太郎', メールアドレス: 'taro@example.co.jp' }),
        line({ 姓: '佐藤', 名: '花子' }),
        line({ 姓: '鈴木', 名: '退職', 退職日: '2020/3/31' }),
      ]),
      { dryRun: 'true', invite: 'true' },
    ).expect(200);
    expect(res.body.lines).toEqual([
      expect.objectContaining({ line: 2, ok: true, invite: true }),
      expect.objectContaining({ line: 3, ok: false, invite: false, errors: [{ column: 'メールアドレス', message: '収集メールを送る（invite=true）にはメールアドレスが必要です' }] }),
      expect.objectContaining({ line: 4, ok: true, invite: false, notes: ['退職日があるため収集メールは送りません'] }),
    ]);
    expect(res.body.invited).toBe(1);
  });
});

/** Row `n` (1-based, as reported) of a UTF-8 file built by utf8(). */
function csvTextRow(file: Buffer, n: number): string[] {
  return file.toString('utf8').split('\r\n')[n - 1]!.split(',');
}

describe('import', () => {
  it('is all or nothing: one bad line → 400 with the same report, nobody stored, no workflow started', async () => {
    const { tenantId, agent } = await hrOf('全か無か株式会社');
    const codes = ['A1', 'A2', 'A3', 'A4'];
    const res = await upload(
      agent,
      utf8([
        HEADER,
        line({ 社員コード: 'A1', 姓: '一', 名: '太郎' }),
        line({ 社員コード: 'A2', 姓: '二', 名: '次郎' }),
        line({ 社員コード: 'A3', 姓: '三', 名: '三郎', 生年月日: 'R1/4/30' }),
        line({ 社員コード: 'A4', 姓: '四', 名: '四郎' }),
      ]),
    );
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'CSV_IMPORT_INVALID', status: 400 });
    expect(res.body.title).toBe('CSVに誤りがあるため、1人も登録していません（4行中1行に誤り）。各行の内容を直してからアップロードしてください');
    expect(res.body.errors).toEqual([{ path: '/lines/4/生年月日', message: '4行目「生年月日」：令和元年4月30日は令和の期間外です（令和は2019年5月1日から）', code: 'invalid' }]);
    expect(res.body.report).toMatchObject({ dryRun: false, ok: false, rows: 4, valid: 3, invalid: 1, created: 0 });
    expect(res.body.report.lines.map((l: { ok: boolean }) => l.ok)).toEqual([true, true, false, true]);
    expect(await count(tenantId)).toBe(0);
    expect(await events(tenantId, 'registrants_imported')).toHaveLength(0);
    for (const code of codes) expect(await harness.prisma.registrant.findFirst({ where: { tenantId, employeeCode: code } })).toBeNull();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await workflowsOf(tenantId)).toBe(0);
  });

  it('stores a CP932 file in one go, then starts each workflow without inviting; retirement dates are taken over', async () => {
    const { tenantId, agent } = await hrOf('一括登録株式会社');
    await harness.prisma.group.create({ data: { tenantId, name: '総務部' } });
    const retiredOn = '2024/03/31';
    const retiresOn = `${Number(todayInJapan().slice(0, 4)) + 1}/03/31`;
    const rows = [
      HEADER,
      line({ 社員コード: '00101', 姓: '山田', 名: '太郎', セイ: 'ヤマダ', メイ: 'タロウ', メールアドレス: 'taro.csv@example.co.jp', 区分: '従業員1', 生年月日: 'S55/1/1', 性別: '男性', 入社日: 'H22/4/1', グループ: '営業部', 備考: "'=SUM(1,2)" }),
      line({ 社員コード: '00102', 姓: '佐藤', 名: '花子', メールアドレス: 'hanako.csv@example.co.jp', 区分: '従業員2', 生年月日: '平成2年4月1日', 性別: '女', グループ: '総務部' }),
      line({ 社員コード: '00103', 姓: '鈴木', 名: '退職', 区分: '業務委託', 退職日: retiredOn, グループ: '営業部' }),
      line({ 社員コード: '00104', 姓: '高橋', 名: '予定', 退職日: retiresOn }),
    ];
    const res = await upload(agent, cp932(rows), {}, 'application/vnd.ms-excel');
    expect(res.status).toBe(201);
    const report = res.body as ImportReport;
    expect(report).toMatchObject({ dryRun: false, ok: true, encoding: 'cp932', rows: 4, created: 4, invited: 0, newGroups: ['営業部'], message: '4人を登録しました' });
    const ids = report.lines.map((l) => l.registrantId!);
    expect(ids.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);

    const stored = await harness.prisma.registrant.findMany({ where: { tenantId }, include: { group: true }, orderBy: { employeeCode: 'asc' } });
    expect(stored.map((r) => r.id)).toEqual(ids);
    expect(stored[0]).toMatchObject({
      employeeCode: '00101',
      familyName: '山田',
      givenName: '太郎',
      familyNameKana: 'ヤマダ',
      givenNameKana: 'タロウ',
      email: 'taro.csv@example.co.jp',
      category: 'employee',
      gender: 'male',
      status: 'unregistered',
      invitationState: null,
      // the neutralising quote of an exported cell is taken off again
      note: '=SUM(1,2)',
      group: { name: '営業部' },
    });
    expect(stored[0]!.birthDate!.toISOString().slice(0, 10)).toBe('1980-01-01');
    expect(stored[0]!.hireDate!.toISOString().slice(0, 10)).toBe('2010-04-01');
    expect(stored[1]).toMatchObject({ category: 'part_time', gender: 'female', group: { name: '総務部' } });
    expect(stored[1]!.birthDate!.toISOString().slice(0, 10)).toBe('1990-04-01');
    expect(stored[2]!.groupId).toBe(stored[0]!.groupId);
    // the retention rule gives the deletion date, as setting the retirement in the console would
    const nextYear = Number(retiresOn.slice(0, 4));
    expect(stored[3]).toMatchObject({ retired: false, deletionRule: 'dependents_declaration_7y' });
    expect(stored[3]!.deletionDueDate!.toISOString().slice(0, 10)).toBe(`${nextYear + 8}-01-11`);

    // each has a running workflow; nobody is invited
    await until(async () => (await workflowsOf(tenantId)) === 4, 'the four workflows to be listed');
    for (const r of stored) {
      const state = await harness.env.client.workflow.getHandle(r.workflowId).query(lifecycleQuery);
      expect(state).toMatchObject({ status: 'unregistered', invitation: null, deleted: false });
    }
    const future = await harness.env.client.workflow.getHandle(stored[3]!.workflowId).query(lifecycleQuery);
    expect(future).toMatchObject({ retirementDate: retiresOn.replace(/\//g, '-'), retired: false, deletion: { dueDate: `${nextYear + 8}-01-11`, rule: 'dependents_declaration_7y' } });
    // a retirement date already past: the workflow retires the person at once, as any retirement
    await until(async () => (await harness.prisma.registrant.findUniqueOrThrow({ where: { id: stored[2]!.id } })).retired, 'the past retirement to be applied');
    expect((await events(tenantId, 'retired')).map((e) => e.registrantId)).toEqual([stored[2]!.id]);

    const created = await events(tenantId, 'registrant_created');
    expect(created.map((e) => e.registrantId).sort()).toEqual([...ids].sort());
    expect(created[0]).toMatchObject({ actorLabel: '一括登録株式会社 人事', detail: { source: 'csv_import', line: 2 } });
    expect((await events(tenantId, 'retirement_set')).map((e) => e.registrantId).sort()).toEqual([stored[2]!.id, stored[3]!.id].sort());
    const imported = await events(tenantId, 'registrants_imported');
    expect(imported).toHaveLength(1);
    expect(imported[0]).toMatchObject({ label: '登録者のCSVアップロード', detail: { count: 4, invited: 0, encoding: 'cp932', newGroups: 1 } });
    await new Promise((r) => setTimeout(r, 500));
    expect(harness.outbox.mails.some((m) => m.to.includes('taro.csv@example.co.jp') || m.to.includes('hanako.csv@example.co.jp'))).toBe(false);

    // the same codes again: each line is a duplicate of a stored registrant, nothing more is stored
    const again = await upload(agent, cp932(rows));
    expect(again.status).toBe(400);
    expect(again.body.report.lines.map((l: { errors: { message: string }[] }) => l.errors[0]?.message)).toEqual([
      '社員コード「00101」は既に登録されています',
      '社員コード「00102」は既に登録されています',
      '社員コード「00103」は既に登録されています',
      '社員コード「00104」は既に登録されています',
    ]);
    expect(await count(tenantId)).toBe(4);

    // an export of this tenant imports cleanly elsewhere (export-only columns are read past)
    const exported = await bytesOf(agent.get('/v1/registrants/export.csv')).expect(200);
    const other = await hrOf('移行先株式会社');
    const check = await upload(other.agent, exported.body as Buffer, { dryRun: 'true' }).expect(200);
    expect(check.body).toMatchObject({ ok: true, rows: 4, encoding: 'cp932', ignoredColumns: ['ステータス', '扶養ステータス', '扶養家族数', 'マイナンバー登録', '削除予定日', '登録日時'] });
  });

  it('a UTF-8 file with BOM and invite=true: stored, then each person gets the invitation mail', async () => {
    const { tenantId, agent } = await hrOf('招待送信株式会社');
    const emails = [`a-${randomUUID().slice(0, 8)}@example.co.jp`, `b-${randomUUID().slice(0, 8)}@example.co.jp`];
    const res = await upload(
      agent,
      utf8Bom([HEADER, line({ 社員コード: '0001', 姓: '招待', 名: '一', メールアドレス: emails[0] }), line({ 社員コード: '0002', 姓: '招待', 名: '二', メールアドレス: emails[1] })]),
      { invite: 'true' },
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ encoding: 'utf8-bom', created: 2, invited: 2, message: '2人を登録しました（うち2人に収集メールを送ります）' });
    for (const email of emails) await harness.outbox.waitFor((m) => m.to.includes(email), 15_000);
    await until(async () => (await harness.prisma.registrant.count({ where: { tenantId, invitationState: 'open' } })) === 2, 'both invitations to open');
    expect(await harness.prisma.registrant.findMany({ where: { tenantId }, select: { employeeCode: true }, orderBy: { employeeCode: 'asc' } })).toEqual([{ employeeCode: '0001' }, { employeeCode: '0002' }]);
  });

  it('the template downloads and passes a dry run', async () => {
    const { agent } = await hrOf('雛形株式会社');
    const template = await bytesOf(agent.get('/v1/registrants/import-template.csv')).expect(200);
    const res = await upload(agent, template.body as Buffer, { dryRun: 'true' }).expect(200);
    expect(res.body).toMatchObject({ ok: true, encoding: 'cp932', rows: 2, newGroups: ['営業部'] });
  });
});

describe('whole-file problems', () => {
  let agent: Agent;
  beforeAll(async () => {
    agent = (await hrOf('ファイル検査株式会社')).agent;
  });

  it('more than 2,000 rows: 400 with a clear message, even in a dry run', async () => {
    const rows = [HEADER, ...Array.from({ length: 2001 }, (_v, i) => line({ 社員コード: `C${i}`, 姓: '多', 名: `${i}` }))];
    const res = await upload(agent, utf8(rows), { dryRun: 'true' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'CSV_TOO_MANY_ROWS', title: '1つのファイルで登録できるのは2,000人までです（このファイルには2,001行あります）。ファイルを分けてアップロードしてください' });
    expect(res.body.report).toBeUndefined();
    // exactly 2,000 is fine
    const ok = await upload(agent, utf8(rows.slice(0, 2001)), { dryRun: 'true' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, rows: 2000 });
  });

  it('an unknown or duplicated column, or a missing required one: 400 naming it', async () => {
    const res = await upload(agent, utf8([['社員コード', '姓', '名前', '名', '給与'], ['1', '山田', '太郎', '太郎', '300000']]), { dryRun: 'true' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('CSV_HEADER_INVALID');
    expect(res.body.title).toMatch(/^1行目の見出しに誤りがあります。使える列名: 社員コード、姓、名、フリガナ（姓）/);
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual(['見出し「名」（4列目）は「名前」と同じ項目です。どちらか一方にしてください', '見出し「給与」（5列目）は使えない列名です']);
    const missing = await upload(agent, utf8([['社員コード', '姓'], ['1', '山田']]), { dryRun: 'true' });
    expect(missing.body.errors.map((e: { message: string }) => e.message)).toEqual(['必須の列「名」がありません']);
  });

  it('an empty file, a header alone, UTF-16, broken quoting: 400 with a Japanese title', async () => {
    const cases: [Buffer, string][] = [
      [Buffer.alloc(0), 'CSV_EMPTY'],
      [utf8([HEADER]), 'CSV_NO_ROWS'],
      [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csvText([HEADER]), 'utf16le')]), 'CSV_UTF16'],
      [Buffer.from('社員コード,姓,名\r\n1,"山田,太郎\r\n', 'utf8'), 'CSV_SYNTAX'],
    ];
    for (const [file, code] of cases) {
      const res = await upload(agent, file, { dryRun: 'true' });
      expect([code, res.status]).toEqual([code, 400]);
      expect([code, res.body.code]).toEqual([code, code]);
      expect(res.body.title).toMatch(JAPANESE);
    }
  });

  it('bytes that are neither UTF-8 nor Shift_JIS are reported on their line, not guessed', async () => {
    const file = Buffer.concat([iconv.encode('社員コード,姓,名\r\n1,山田,太郎\r\n2,', 'cp932'), Buffer.from([0x85, 0x40]), iconv.encode(',花子\r\n', 'cp932')]);
    const res = await upload(agent, file, { dryRun: 'true' }).expect(200);
    expect(res.body.encoding).toBe('cp932');
    expect(res.body.lines[1]).toMatchObject({ line: 3, ok: false, errors: [{ column: '姓', message: '読み取れない文字があります（ファイルの文字コードを確認してください）' }] });
  });

  it('more than 5 MB: 413', async () => {
    const res = await upload(agent, Buffer.alloc(5 * 1024 * 1024 + 1, 0x41), { dryRun: 'true' });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('CSV_TOO_LARGE');
  });

  it('viewers may not upload', async () => {
    const t = await createTenant(harness.prisma, '閲覧者株式会社');
    const viewer = await harness.agent(t, 'viewer');
    expect((await upload(viewer, utf8([HEADER, line({ 姓: '山田', 名: '太郎' })]), { dryRun: 'true' })).status).toBe(403);
  });
});
