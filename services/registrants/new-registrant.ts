/**
 * 新規追加 with everything seed 001's 登録者追加 takes: an e-mail or none (mail is a choice), gender,
 * birth date, hire date, note, group, a number HR checked on paper (the person is then 完了, verified
 * by the employer) and dependents. Checked as a whole — every problem in Japanese at its field —
 * then stored in one transaction by the numbers import's store (numbers sealed, history, webhooks,
 * the workflow start queued on the row), the workflow started after the commit.
 *
 * A create with only a name, kana, e-mail, code and category (the common case, and the bench's)
 * stays on the grouped fast path in registrants.ts.
 */
import type { components } from '../../api/generated/openapi';
import type { InviteOptions, VerificationMethod } from '../../shared';
import { checkDependent, EMPLOYEE_CODE, fields, numberClashCheck, type FieldProblem } from './bulk-registration';
import { checkSubmissionDueDate } from './submission-due';
import type { NumbersPerson } from './numbers-import-file';

type RegistrantCreate = components['schemas']['RegistrantCreate'];

/** Whether the grouped fast path can store it (nothing beyond the first release's fields, mailed). */
export const isPlainCreate = (input: RegistrantCreate): boolean =>
  !!input.email && input.invite !== false && !input.myNumber && !input.myNumberConfirmation && !input.verificationMethod && !input.dependents?.length &&
  !input.gender && !input.birthDate && !input.hireDate && !input.note && !input.groupId;

export interface CheckedNewRegistrant {
  person: NumbersPerson;
  /** the invitation's options when it is to be mailed; null: nobody is mailed */
  invite: InviteOptions | null;
  groupId: string | null;
  verificationMethod: VerificationMethod | null;
  submissionDueDate: string | null;
}

/** Every problem at once; `checked` is complete only when `problems` is empty. */
export function checkNewRegistrant(input: RegistrantCreate, ctx: { today: string; copyTo: string; sandbox?: boolean }): { checked: CheckedNewRegistrant; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const f = fields('/body', problems, { sandbox: ctx.sandbox });
  const typedNumber = !!(input.myNumber?.trim() || input.myNumberConfirmation?.trim());
  // Mailed by default when there is an address and no number (a numbered person is 完了: nothing to collect).
  const invite = input.invite ?? (!!input.email?.trim() && !typedNumber);
  const email = f.email(input.email, false);
  if (invite && !email) f.fail('email', 'REQUIRED', '収集メールを送るにはメールアドレスを入力してください');
  if (invite && typedNumber) f.fail('invite', 'INVITE_WITH_NUMBER', 'マイナンバーを登録する人は「完了」として登録されるため、収集メールは送れません');
  const code = (input.employeeCode ?? '').normalize('NFKC').trim();
  if (code && !EMPLOYEE_CODE.test(code)) f.fail('employeeCode', 'EMPLOYEE_CODE_FORMAT', '社員コードは半角英数字・ハイフン・アンダースコアの20文字以内で入力してください');
  const birthDate = f.date('birthDate', input.birthDate, '生年月日');
  const hireDate = f.date('hireDate', input.hireDate, '入社日');
  if (birthDate && birthDate > ctx.today) f.fail('birthDate', 'DATE_IN_FUTURE', '生年月日に未来の日付は指定できません');
  if (birthDate && hireDate && hireDate < birthDate) f.fail('hireDate', 'DATE_ORDER', '入社日が生年月日より前です');
  const note = f.note(input.note);
  const myNumber = typedNumber ? f.number(input.myNumber, input.myNumberConfirmation) || null : null;
  if (typedNumber && !input.verificationMethod) f.fail('verificationMethod', 'REQUIRED', '本人確認の方法を選択してください');
  const category = input.category ?? 'employee';
  if (category === 'payee' && input.dependents?.length) f.fail('dependents', 'DEPENDENTS_NOT_ALLOWED', '報酬支払の登録者には扶養家族を登録できません');
  const clash = numberClashCheck();
  clash(myNumber, '本人', f);
  const dependents = (input.dependents ?? []).map((d, j) => {
    const base = `/body/dependents/${j}`;
    const checked = checkDependent(d, base, problems, ctx.today, false, ctx.sandbox);
    clash(checked.myNumber, `扶養家族${j + 1}人目`, fields(base, problems));
    return { ...checked, line: 0 };
  });
  const submissionDueDate = invite ? checkSubmissionDueDate('/body', problems, input.submissionDueDate) : null;
  const message = input.message?.trim();
  const options: InviteOptions = {
    ...(message ? { message } : {}),
    ...(input.replyTo ? { replyTo: input.replyTo.trim() } : {}),
    ...(input.copyToSelf ? { copyTo: ctx.copyTo } : {}),
  };
  return {
    problems,
    checked: {
      person: {
        row: {
          line: 0,
          employeeCode: code || null,
          familyName: f.name('familyName', input.familyName, '姓'),
          givenName: f.name('givenName', input.givenName, '名'),
          familyNameKana: f.kana('familyNameKana', input.familyNameKana, 'フリガナ（姓）'),
          givenNameKana: f.kana('givenNameKana', input.givenNameKana, 'フリガナ（名）'),
          email,
          category,
          birthDate,
          gender: input.gender ?? null,
          hireDate,
          retirementDate: null,
          group: null,
          note,
          invite,
        },
        myNumber,
        dependents,
      },
      invite: invite ? options : null,
      groupId: input.groupId ?? null,
      verificationMethod: myNumber ? (input.verificationMethod ?? null) : null,
      submissionDueDate,
    },
  };
}
