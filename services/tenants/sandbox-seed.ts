/**
 * A new sandbox's demo people (`npm run ops -- create-tenant --sandbox`): employees and dependents
 * in the states a payroll connector meets — completed with numbers, retired, not yet registered, with
 * and without e-mail — every number an invented one (services/tenants/sandbox.ts). They go in as a
 * file of the "moving in with numbers" format would (the same checks, storage, history and workflow
 * starts: queued on the rows, started by the reconciler of the running stack; no mail is sent).
 */
import { randomUUID } from 'node:crypto';
import { Prisma } from '../../prisma/generated/client';
import type { Actor, History } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { NUMBERS_IMPORT_COLUMNS } from '../registrants/numbers-import-file';
import { checkNumbersUpload } from '../registrants/numbers-import';
import { retentionOf, storePeople } from '../registrants/numbers-import-store';
import { todayInJapan } from '../retention/rules';
import type { Vault } from '../vault/types';
import { sandboxNumber } from './sandbox';

type Row = Partial<Record<(typeof NUMBERS_IMPORT_COLUMNS)[number]['field'], string>>;

/** The demo people, by 社員コード; `n` picks each one's invented number. */
function demoRows(retiredOn: string): Row[] {
  let n = 0;
  const num = () => sandboxNumber(++n);
  const person = (r: Row): Row => ({ personType: '本人', ...r });
  const dependent = (code: string, r: Row): Row => ({ personType: '扶養家族', employeeCode: code, ...r });
  return [
    person({ employeeCode: 'D0001', familyName: '見本', givenName: '太郎', familyNameKana: 'ミホン', givenNameKana: 'タロウ', birthDate: '1980-04-01', gender: '男性', myNumber: num(), email: 'taro.mihon@example.com', hireDate: '2005-04-01', group: '営業部' }),
    dependent('D0001', { relationship: '配偶者', category: '第3号被保険者', familyName: '見本', givenName: '花子', familyNameKana: 'ミホン', givenNameKana: 'ハナコ', birthDate: '1982-06-15', gender: '女性', myNumber: num() }),
    dependent('D0001', { relationship: '子', category: '扶養親族', familyName: '見本', givenName: '一郎', familyNameKana: 'ミホン', givenNameKana: 'イチロウ', birthDate: '2012-09-01', gender: '男性', myNumber: num() }),
    person({ employeeCode: 'D0002', familyName: '試験', givenName: '美咲', familyNameKana: 'シケン', givenNameKana: 'ミサキ', birthDate: '1992-11-20', gender: '女性', myNumber: num(), email: 'misaki.shiken@example.com', hireDate: '2015-04-01', group: '総務部' }),
    person({ employeeCode: 'D0003', familyName: '例示', givenName: '健', familyNameKana: 'レイジ', givenNameKana: 'ケン', birthDate: '1975-01-31', gender: '男性', myNumber: num(), email: 'ken.reiji@example.com', hireDate: '2000-10-01', group: '営業部' }),
    dependent('D0003', { relationship: '子', category: '扶養親族', familyName: '例示', givenName: 'さくら', familyNameKana: 'レイジ', givenNameKana: 'サクラ', birthDate: '2010-03-03', gender: '女性', myNumber: num() }),
    person({ employeeCode: 'D0004', familyName: '架空', givenName: '直子', familyNameKana: 'カクウ', givenNameKana: 'ナオコ', birthDate: '1968-07-07', gender: '女性', myNumber: num(), email: 'naoko.kakuu@example.com', hireDate: '1990-04-01', retirementDate: retiredOn, group: '総務部', note: '退職者の見本' }),
    person({ employeeCode: 'D0005', familyName: '未登', givenName: '翔', familyNameKana: 'ミトウ', givenNameKana: 'ショウ', birthDate: '2001-05-05', gender: '男性', email: 'sho.mitou@example.com', hireDate: '2024-04-01', group: '開発部', note: 'マイナンバー未登録の見本' }),
    person({ employeeCode: 'D0006', familyName: '紙面', givenName: '由美', familyNameKana: 'シメン', givenNameKana: 'ユミ', birthDate: '1988-12-24', gender: '女性', hireDate: '2019-07-01', group: '開発部', note: 'メールアドレスのない見本（紙の登録依頼書で収集）' }),
  ];
}

/** The rows as a UTF-8 file of the import format, quoted as RFC 4180 has it. */
function asFile(rows: Row[]): Buffer {
  const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
  const lines = [NUMBERS_IMPORT_COLUMNS.map((c) => quote(c.ja)), ...rows.map((r) => NUMBERS_IMPORT_COLUMNS.map((c) => quote(r[c.field] ?? '')))];
  return Buffer.from(lines.map((l) => l.join(',')).join('\r\n') + '\r\n', 'utf8');
}

/** Stores the demo people in a new, empty sandbox; how many people, dependents and numbers. */
export async function seedSandbox(deps: { prisma: PrismaClient; vault: Vault; history: History }, tenantId: string, actor: Actor) {
  const { prisma, vault, history } = deps;
  const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { sandbox: true } });
  if (!tenant.sandbox) throw new Error('demo people go into sandboxes only');
  const today = todayInJapan();
  const lastMonth = new Date(Date.parse(`${today}T00:00:00Z`) - 30 * 86_400_000).toISOString().slice(0, 10);
  const { report, people, groupIds } = await checkNumbersUpload(prisma, tenantId, asFile(demoRows(lastMonth)), false);
  if (!report.ok) throw new Error(`the demo file did not pass its own checks: ${JSON.stringify(report.lines.filter((l) => !l.ok).map((l) => ({ line: l.line, errors: l.errors })))}`);
  const importId = randomUUID();
  const facts = { tenantId, actor, ip: null, userAgent: null };
  await prisma.$transaction(async (tx) => {
    await storePeople(tx, { vault, history }, { ...facts, importId, rule: await retentionOf(prisma, tenantId), today, groupIds }, people);
    await history.recordMany([{ ...facts, operation: 'numbers_imported', detail: { importId, reason: 'サンドボックスの見本データ', encoding: report.encoding, registrants: report.registrants, dependents: report.dependents, numbers: report.numbers, newGroups: report.newGroups.length } }], tx);
  }, { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted });
  return { registrants: report.registrants, dependents: report.dependents, numbers: report.numbers };
}
