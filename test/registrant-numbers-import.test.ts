/**
 * Moving in with numbers over HTTP, on real PostgreSQL and a real Temporal dev server with the
 * product's worker: the export with numbers of one tenant imported into an empty one gives the
 * same people, numbers and dependents (and the same export again); every bad line is reported in
 * Japanese without its number and nothing is stored; the password, the reason and the role guard
 * the import; a retry with its Idempotency-Key stores nobody twice; the imported people's
 * workflows run from the stored state and nobody is mailed. Numbers are compared as booleans and
 * every response body and log line is scanned for them.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import type { Prisma } from '../prisma/generated/client';
import { checkDigit } from '../services/mynumber/validate';
import type { NumbersImportReport } from '../services/registrants/numbers-import';
import { lifecycleQuery, registrantWorkflowId } from '../shared';
import { createLoginUser, createTenant, memoryLogger, testVault, type Agent, type TestUser } from './support/fixtures';
import { bytesOf } from './support/http';
import { containsAny } from './support/leak-scan';
import { JAPANESE } from './support/problems';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const log = memoryLogger();
const harness = useWorkerHarness({ taskQueue: 'registrant-numbers-import', logger: log.logger });

/** Every number this file made: none may reach a log line or an answer other than the export's file. */
const used: string[] = [];
const answers: string[] = [];

function validNumber(leadingZero = false): string {
  const first11 = `${leadingZero ? '0' : String(1 + randomInt(9))}${Array.from({ length: 10 }, () => String(randomInt(10))).join('')}`;
  const n = `${first11}${checkDigit(first11)}`;
  used.push(n);
  return n;
}
/** A number whose check digit is wrong. */
function badNumber(): string {
  const good = validNumber();
  const bad = `${good.slice(0, 11)}${(Number(good[11]) + 1) % 10}`;
  used.push(bad);
  return bad;
}

function csvText(rows: string[][]): string {
  const cell = (c: string) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

interface Upload {
  file: Buffer;
  dryRun?: boolean;
  password?: string;
  reason?: string;
  key?: string;
}
async function upload(agent: Agent, u: Upload) {
  let req = agent.post('/v1/registrants/import-with-numbers').attach('file', u.file, { filename: 'numbers.csv', contentType: 'text/csv' });
  if (u.dryRun) req = req.field('dryRun', 'true');
  if (u.password !== undefined) req = req.field('password', u.password);
  if (u.reason !== undefined) req = req.field('reason', u.reason);
  if (u.key) req = req.set('Idempotency-Key', u.key);
  const res = await req;
  answers.push(JSON.stringify(res.body));
  return res;
}
const exportNumbers = (agent: Agent, user: TestUser) => bytesOf(agent.post('/v1/registrants/export-with-numbers').send({ password: user.password, purpose: 'withholding_slip' }));

async function hrOf(name: string): Promise<{ tenantId: string; user: TestUser; agent: Agent }> {
  const tenantId = await createTenant(harness.prisma, name);
  const user = await createLoginUser(harness.prisma, tenantId, 'manager', `${name} 人事`);
  return { tenantId, user, agent: await harness.login(user) };
}
async function registrant(tenantId: string, data: Partial<Prisma.RegistrantUncheckedCreateInput> & { familyName: string; givenName: string }, n?: string) {
  const id = randomUUID();
  const secret = n ? await testVault(harness.prisma).seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(n) }) : null;
  return harness.prisma.registrant.create({ data: { id, tenantId, workflowId: registrantWorkflowId(tenantId, id), myNumberSecretId: secret, ...data } });
}
async function dependent(tenantId: string, registrantId: string, data: Partial<Prisma.DependentUncheckedCreateInput> & { familyName: string; givenName: string; relationship: string }, n?: string) {
  const secret = n ? await testVault(harness.prisma).seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(n) }) : null;
  return harness.prisma.dependent.create({ data: { registrantId, myNumberSecretId: secret, ...data } });
}
const events = (tenantId: string, operation: string) => harness.prisma.operationEvent.findMany({ where: { tenantId, operation }, orderBy: { id: 'asc' } });
const secretsOf = (tenantId: string) => harness.prisma.vaultSecret.count({ where: { tenantId } });
/** The number stored for a row, compared as a boolean by the callers. */
const opened = async (tenantId: string, secretId: string | null) => (secretId ? (await testVault(harness.prisma).open(secretId, tenantId)).toString('utf8') : null);

afterAll(() => {
  // The numbers only ever travelled in the files: not in an answer of the import, nor in a log line.
  expect(containsAny(answers.join('\n'), used)).toEqual([]);
  expect(containsAny(log.lines.join('\n'), used)).toEqual([]);
});

describe('round trip: export with numbers → import into an empty tenant', () => {
  it('gives the same people, numbers and dependents, starts their workflows from the stored state and mails nobody', async () => {
    const from = await hrOf('移行元株式会社');
    const n = { yamada: validNumber(true), hanako: validNumber(), ichiro: validNumber(true), suzuki: validNumber() };
    const yamada = await registrant(from.tenantId, { employeeCode: '00007', familyName: '山田', givenName: '太郎', familyNameKana: 'ヤマダ', givenNameKana: 'タロウ', birthDate: new Date('1980-01-01T00:00:00Z'), gender: 'male', status: 'completed' }, n.yamada);
    await dependent(from.tenantId, yamada.id, { familyName: '山田', givenName: '花子', relationship: '配偶者', kind: 'category3', gender: 'female', status: 'completed', birthDate: new Date('1982-02-02T00:00:00Z') }, n.hanako);
    await dependent(from.tenantId, yamada.id, { familyName: '山田', givenName: '一郎', relationship: '子', status: 'completed' }, n.ichiro);
    await registrant(from.tenantId, { employeeCode: '00008', familyName: '佐藤', givenName: '次郎', category: 'part_time' });
    // No employee code: the dependent-less person is keyed by the export's 登録者ID alone.
    await registrant(from.tenantId, { familyName: '鈴木', givenName: '三郎', category: 'contractor', status: 'completed' }, n.suzuki);
    const exported = await exportNumbers(from.agent, from.user);
    expect(exported.status).toBe(200);
    const file = exported.body as Buffer;

    const to = await hrOf('移行先株式会社');
    const dry = await upload(to.agent, { file, dryRun: true });
    expect(dry.status).toBe(200);
    const checked = dry.body as NumbersImportReport;
    expect(checked).toMatchObject({ dryRun: true, ok: true, encoding: 'cp932', rows: 5, valid: 5, invalid: 0, registrants: 3, dependents: 2, numbers: 4, created: 0, ignoredColumns: ['ステータス', '扶養家族ID'] });
    expect(checked.message).toBe('5行すべて登録できます（本人3人、扶養家族2人、マイナンバー4件。確認のみで、まだ登録していません）');
    expect(await harness.prisma.registrant.count({ where: { tenantId: to.tenantId } })).toBe(0);

    const res = await upload(to.agent, { file, password: to.user.password, reason: '前のサービスからの移行' });
    expect(res.status).toBe(201);
    const report = res.body as NumbersImportReport;
    expect(report).toMatchObject({ dryRun: false, ok: true, created: 3, registrants: 3, dependents: 2, numbers: 4 });
    expect(report.message).toBe('本人3人と扶養家族2人を登録し、マイナンバー4件を保管しました');
    for (const l of report.lines) expect(l.registrantId).toBeDefined();
    expect(report.lines.filter((l) => l.kind === 'dependent').every((l) => l.dependentId)).toBe(true);

    // The same people, numbers and dependents: the new tenant's export is the old one but for the ids.
    const again = await exportNumbers(to.agent, to.user);
    const rows = (bytes: Buffer) => (parse(iconv.decode(bytes, 'cp932')) as string[][]).map((r) => r.slice(0, 12));
    const before = rows(file);
    const after = rows(again.body as Buffer);
    expect(after.length).toBe(before.length);
    // Compared without printing a number: equal as a whole, and row by row as booleans.
    expect(after.map((r, i) => r.every((c, j) => c === before[i]![j]))).toEqual(before.map(() => true));

    const stored = await harness.prisma.registrant.findMany({ where: { tenantId: to.tenantId }, include: { dependents: true }, orderBy: { familyName: 'asc' } });
    const byName = new Map(stored.map((r) => [r.familyName, r]));
    const y = byName.get('山田')!;
    expect(y).toMatchObject({ employeeCode: '00007', status: 'completed', loginLocked: true, familyNameKana: 'ヤマダ', gender: 'male' });
    expect((await opened(to.tenantId, y.myNumberSecretId)) === n.yamada).toBe(true);
    const hanako = y.dependents.find((d) => d.givenName === '花子')!;
    expect(hanako).toMatchObject({ relationship: '配偶者', kind: 'category3', status: 'completed', draft: false });
    expect((await opened(to.tenantId, hanako.myNumberSecretId)) === n.hanako).toBe(true);
    expect(byName.get('佐藤')).toMatchObject({ status: 'unregistered', category: 'part_time', myNumberSecretId: null, loginLocked: false });
    expect(byName.get('鈴木')).toMatchObject({ status: 'completed', employeeCode: null, category: 'contractor' });

    // Recorded: the import with its reason and counts, each person's numbers as verified by the employer.
    const [imported] = await events(to.tenantId, 'numbers_imported');
    expect(imported!.detail).toMatchObject({ reason: '前のサービスからの移行', registrants: 3, dependents: 2, numbers: 4, encoding: 'cp932' });
    const registered = await events(to.tenantId, 'number_registered');
    expect(registered.map((e) => [e.registrantId, (e.detail as { numbers: number }).numbers, (e.detail as { verifiedBy: string }).verifiedBy]).sort()).toEqual(
      [
        [y.id, 3, 'employer'],
        [byName.get('鈴木')!.id, 1, 'employer'],
      ].sort(),
    );

    // Each lifecycle workflow runs from what was stored; nobody is invited.
    for (const r of stored) {
      await until(async () => {
        const state = await harness.env.client.workflow.getHandle(r.workflowId).query(lifecycleQuery).catch(() => null);
        return state?.status === r.status;
      }, `the workflow of ${r.familyName} in its stored status`, 20_000);
    }
    await until(async () => (await harness.prisma.registrant.count({ where: { tenantId: to.tenantId, workflowPendingSince: { not: null } } })) === 0, 'every start confirmed', 20_000);
    expect(harness.outbox.mails.filter((m) => stored.some((r) => r.email && m.to.includes(r.email)))).toEqual([]);
    expect(await harness.prisma.invitation.count({ where: { registrant: { tenantId: to.tenantId } } })).toBe(0);
  });
});

describe('a hand-written file (UTF-8, era dates, dependents by 社員コード)', () => {
  it('imports registrants with their optional columns and dependents named by employee code, lines in any order', async () => {
    const hr = await hrOf('手書き株式会社');
    const [a, b] = [validNumber(), validNumber()];
    const file = Buffer.from(
      '\uFEFF' +
        csvText([
          ['社員コード', '本人・扶養の別', '続柄', '姓', '名', 'フリガナ（姓）', 'フリガナ（名）', '生年月日', '性別', '区分', 'マイナンバー', 'メールアドレス', '入社日', 'グループ', '備考'],
          ['A1', '扶養家族', '子', '田中', '花', 'たなか', 'はな', 'H20/4/1', '女', '', b, '', '', '', ''],
          ['A1', '本人', '', '田中', '一', 'ﾀﾅｶ', 'ﾊｼﾞﾒ', 'S50.1.1', '男性', '従業員1', `${a.slice(0, 4)}-${a.slice(4, 8)}-${a.slice(8)}`, 'tanaka@example.co.jp', 'R2/4/1', '営業部', '移行分'],
        ]),
    );
    const res = await upload(hr.agent, { file, password: hr.user.password, reason: '紙の台帳からの移行' });
    expect(res.status).toBe(201);
    const [person] = await harness.prisma.registrant.findMany({ where: { tenantId: hr.tenantId }, include: { dependents: true, group: true } });
    expect(person).toMatchObject({ employeeCode: 'A1', familyNameKana: 'タナカ', givenNameKana: 'ハジメ', email: 'tanaka@example.co.jp', note: '移行分', status: 'completed' });
    expect(person!.birthDate!.toISOString().slice(0, 10)).toBe('1975-01-01');
    expect(person!.hireDate!.toISOString().slice(0, 10)).toBe('2020-04-01');
    expect(person!.group!.name).toBe('営業部');
    expect(person!.dependents).toHaveLength(1);
    expect(person!.dependents[0]).toMatchObject({ relationship: '子', kind: 'dependent', familyNameKana: 'タナカ', gender: 'female', status: 'completed' });
    expect(person!.dependents[0]!.birthDate!.toISOString().slice(0, 10)).toBe('2008-04-01');
    // Written with hyphens, stored as the twelve digits.
    expect((await opened(hr.tenantId, person!.myNumberSecretId)) === a).toBe(true);
    expect((await opened(hr.tenantId, person!.dependents[0]!.myNumberSecretId)) === b).toBe(true);
    // No invitation for the address either: the number is in.
    await until(async () => (await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId, workflowPendingSince: { not: null } } })) === 0, 'the start confirmed', 20_000);
    expect(harness.outbox.mails.some((m) => m.to.includes('tanaka@example.co.jp'))).toBe(false);
  });
});

describe('bad lines', () => {
  it('are each reported in Japanese without the number written, and nothing is stored', async () => {
    const hr = await hrOf('誤り株式会社');
    await registrant(hr.tenantId, { employeeCode: 'TAKEN', familyName: '既存', givenName: '社員' });
    const good = validNumber();
    const header = ['社員コード', '本人・扶養の別', '続柄', '姓', '名', '区分', 'マイナンバー', '登録者ID', 'メールアドレス'];
    const bad = badNumber();
    const file = Buffer.from(
      csvText([
        header,
        ['E1', '本人', '', '正常', '太郎', '', good, 'k1', ''],
        ['E2', '本人', '', '検査', '数字', '', bad, 'k2', ''],
        ['E3', '本人', '', '重複', '番号', '', good, 'k3', ''],
        ['', '扶養家族', '子', '迷子', '扶養', '', '', 'nobody', ''],
        ['E1', '扶養家族', '', '続柄', 'なし', '扶養者', '', 'k1', 'child@example.co.jp'],
        ['E5', '親族', '', '種別', '不明', '', '', '', ''],
        ['TAKEN', '本人', '', '使用済', 'コード', '', '', '', ''],
        ['E6', '本人', '', '桁数', '不足', '', '12345', 'k1', ''],
        ['E9', '扶養家族', '子', '違う', 'コード', '', '', 'k1', ''],
      ]),
    );
    const dry = await upload(hr.agent, { file, dryRun: true });
    expect(dry.status).toBe(200);
    const report = dry.body as NumbersImportReport;
    expect(report).toMatchObject({ ok: false, rows: 9, valid: 1, invalid: 8 });
    const errorsOf = (line: number) => report.lines.find((l) => l.line === line)!.errors;
    expect(errorsOf(2)).toEqual([]);
    expect(errorsOf(3)).toEqual([{ column: 'マイナンバー', message: 'マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください' }]);
    expect(errorsOf(4)).toEqual([{ column: 'マイナンバー', message: '2行目と同じマイナンバーです。どちらかの行を直してください' }]);
    expect(errorsOf(5)).toEqual([{ column: '登録者ID', message: 'この登録者IDの本人の行がファイルにありません' }]);
    expect(errorsOf(6)).toEqual([
      { column: '続柄', message: '扶養家族の続柄（配偶者、子など）を入力してください' },
      { column: '区分', message: '扶養家族の区分は「扶養親族」か「第3号被保険者」を入力してください' },
      { column: 'メールアドレス', message: '扶養家族の行には入力できません（本人の行に入力してください）' },
    ]);
    expect(errorsOf(7)).toEqual([{ column: '本人・扶養の別', message: '「本人」か「扶養家族」を入力してください' }]);
    expect(errorsOf(8)).toEqual([{ column: '社員コード', message: '社員コード「TAKEN」は既に登録されています' }]);
    expect(errorsOf(9).map((e) => e.column)).toEqual(['マイナンバー', '登録者ID']);
    expect(errorsOf(10)).toEqual([{ column: '社員コード', message: '社員コードが本人の行（2行目）と違います' }]);
    expect(report.lines.find((l) => l.line === 10)).toMatchObject({ kind: 'dependent', employeeCode: 'E9', name: '違う コード', hasNumber: false });
    for (const l of report.lines) for (const e of l.errors) expect(e.message).toMatch(JAPANESE);

    const secretsBefore = await secretsOf(hr.tenantId);
    const res = await upload(hr.agent, { file, password: hr.user.password, reason: '移行' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'CSV_IMPORT_INVALID', report: { ok: false, invalid: 8 } });
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId } })).toBe(1);
    expect(await secretsOf(hr.tenantId)).toBe(secretsBefore);
    expect(await events(hr.tenantId, 'numbers_imported')).toEqual([]);
  });

  it('a file that is not the format: a clear 400 for the header, nothing stored', async () => {
    const hr = await hrOf('見出し株式会社');
    const res = await upload(hr.agent, { file: Buffer.from(csvText([['社員コード', '姓', '名'], ['1', '山田', '太郎']])), dryRun: true });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'CSV_HEADER_INVALID' });
    expect((res.body as { errors: { message: string }[] }).errors.map((e) => e.message)).toEqual(['必須の列「本人・扶養の別」がありません']);
  });
});

describe('guarded like the export with numbers', () => {
  const oneLine = () => Buffer.from(csvText([['社員コード', '本人・扶養の別', '姓', '名', 'マイナンバー'], [`G${randomInt(1e6)}`, '本人', '保護', '太郎', validNumber()]]));

  it('a wrong password, a missing reason or a reason holding twelve digits: refused, nothing stored', async () => {
    const hr = await hrOf('保護株式会社');
    const file = oneLine();
    const wrong = await upload(hr.agent, { file, password: 'not-the-password', reason: '移行' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 'PASSWORD_INCORRECT' });
    const noReason = await upload(hr.agent, { file, password: hr.user.password });
    expect(noReason.status).toBe(400);
    expect(noReason.body).toMatchObject({ code: 'REASON_INVALID', errors: [{ path: '/body/reason', message: '取り込みの理由（例：前のサービスからの移行）を入力してください' }] });
    for (const written of ['1234 5678 9012', '1234.5678.9012', '1234_5678_9012', '１２３４−５６７８−９０１２']) {
      const digits = await upload(hr.agent, { file, password: hr.user.password, reason: `番号 ${written}` });
      expect(digits.body).toMatchObject({ code: 'REASON_INVALID', title: '理由に12桁の数字は書けません（マイナンバーを書かないでください）' });
    }
    const noPassword = await upload(hr.agent, { file, reason: '移行' });
    expect(noPassword.body).toMatchObject({ code: 'PASSWORD_REQUIRED' });
    const noFile = await hr.agent.post('/v1/registrants/import-with-numbers').field('dryRun', 'true');
    expect(noFile.status).toBe(400);
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId } })).toBe(0);
    expect(await events(hr.tenantId, 'numbers_imported')).toEqual([]);
  });

  it('viewers may not import; anonymous callers are nobody', async () => {
    const hr = await hrOf('閲覧株式会社');
    const viewer = await createLoginUser(harness.prisma, hr.tenantId, 'viewer');
    const asViewer = await upload(await harness.login(viewer), { file: oneLine(), password: viewer.password, reason: '移行' });
    expect(asViewer.status).toBe(403);
    const { default: request } = await import('supertest');
    const anonymous = await request(harness.app).post('/v1/registrants/import-with-numbers').attach('file', oneLine(), 'numbers.csv');
    expect(anonymous.status).toBe(401);
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId } })).toBe(0);
  });

  it('a form the parser cannot read (a malformed part header): 400 in Japanese, not a server error', async () => {
    const hr = await hrOf('不正フォーム株式会社');
    const body = Buffer.from('--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\u0080\u0000: x\r\n\r\nabc\r\n--XYZ--\r\n', 'latin1');
    for (const url of ['/v1/registrants/import-with-numbers', '/v1/import-jobs']) {
      const res = await hr.agent.post(url).set('Content-Type', 'multipart/form-data; boundary=XYZ').send(body);
      expect([url, res.status, res.body.code]).toEqual([url, 400, 'MULTIPART_INVALID']);
      expect(res.body.title).toBe('送られたフォームを読み取れません（multipart/form-data の形式が正しくありません）');
    }
  });

  it('a file over 5 MB: 413 in Japanese, nothing stored', async () => {
    const hr = await hrOf('大容量株式会社');
    const res = await upload(hr.agent, { file: Buffer.alloc(5 * 1024 * 1024 + 1, 0x41), dryRun: true });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'CSV_TOO_LARGE', title: 'CSVファイルは5MBまでです。ファイルを分けてアップロードしてください' });
    // Past what any upload may be: refused while it is read, before the file is kept whole.
    const huge = await upload(hr.agent, { file: Buffer.alloc(20 * 1024 * 1024 + 1, 0x41), dryRun: true });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ code: 'BODY_TOO_LARGE', title: 'ファイルが大きすぎます（CSVの取り込みは5MBまで、取り込みジョブは20MBまでです）' });
  });

  it('a retry with the same Idempotency-Key gets the first answer and stores nobody twice, also when both arrive at once', async () => {
    const hr = await hrOf('再送株式会社');
    const file = oneLine();
    const key = randomUUID();
    const [first, second] = await Promise.all([upload(hr.agent, { file, password: hr.user.password, reason: '移行', key }), upload(hr.agent, { file, password: hr.user.password, reason: '移行', key })]);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((second.body as NumbersImportReport).lines[0]!.registrantId).toBe((first.body as NumbersImportReport).lines[0]!.registrantId);
    expect([first.headers['idempotent-replayed'], second.headers['idempotent-replayed']].filter(Boolean)).toEqual(['true']);
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId } })).toBe(1);
    expect(await events(hr.tenantId, 'numbers_imported')).toHaveLength(1);
  });
});
