/**
 * The dialogs of a registrant's actions: a reason (remand, refuse), the number shown once behind the
 * password and a purpose, retirement and deletion dates, and the three deletions — each says plainly
 * what will happen before it happens.
 */
import { api, StepPending, type Dependent, type Registrant, type Schemas } from '../api';

type Purpose = Schemas['Purpose'];
import { normalizeDigits, validateIndividualNumber } from '../../../services/mynumber/validate';
import { GENDERS, RELATIONSHIPS } from '../../shared/labels';
import { DEFAULT_RETENTION_RULE, deletionDueBy, retentionRule, todayInJapan } from '../../../services/retention/rules';
import { formDialog, numberInput } from './shared-admin';
import { shownNumber } from './number-check';
import { fullName, revealReasons, STATUS_LABELS } from '../labels';
import { manualMovesFrom, VERIFICATION_METHODS, type ManualStatus } from '../../../shared/status-moves';
import { cancelButton, checkbox, dialog, facts, field, form, h, input, notice, say, select, text, textarea } from '../ui';

export function askReason(title: string, intro: string, submitLabel: string): Promise<string | undefined> {
  return formDialog<string>(
    title,
    [h('p', {}, intro), field('理由', textarea('reason', { maxlength: 1000 }), { required: true, hint: '本人へのメールと登録画面に表示されます（1,000文字まで）。' })],
    submitLabel,
    async (data, message) => text(data, 'reason') || void say(message, '理由を入力してください'),
    'reason-form',
  );
}


/** What each move by hand means, said before it is made. */
const STATUS_MOVE_HINTS: Record<ManualStatus, string> = {
  completed: '人事が番号確認と身元確認を済ませたものとして「完了」にします。登録用リンクは使えなくなり、リマインダーも止まります。給与システムに番号が提供されます。',
  refused: 'マイナンバーの提供を拒否されたものとして記録します（提出前でも記録できます）。登録用リンクは使えなくなり、リマインダーも止まります。',
  unregistered: '拒否を取り消して「未登録」に戻します。あらためて収集メールを送れます。',
};

/**
 * HR's status by hand (seed 001's 登録者編集): only the moves the rules allow from the person's
 * status are offered; a completion asks how the identity was checked, the others a reason. Runs the
 * change itself, so a refusal (no number yet…) is said in the dialog.
 */
export function askStatusChange(r: Registrant & { dependents?: Dependent[] }): Promise<Registrant | StepPending | undefined> {
  const moves = manualMovesFrom(r.status);
  if (!moves.length) return Promise.resolve(undefined);
  const choice = select('status', moves.map((m) => [m, STATUS_LABELS[m]]));
  const hint = h('p', { class: 'hint', id: 'status-move-hint', 'aria-live': 'polite' });
  const method = field('本人確認の方法', select('verificationMethod', [['', '選択してください'], ...Object.entries(VERIFICATION_METHODS)]), { hint: '番号確認（個人番号カード・通知カード・番号付き住民票）と身元確認を、どの書類で行ったか。' });
  const reason = field('理由', textarea('reason', { maxlength: 1000 }), { hint: '登録者情報に表示されます（操作履歴には残りません）。1,000文字まで。' });
  // 完了 approves the change: dependents the employee deleted in it go with their numbers.
  const removed = (r.dependents ?? []).filter((d) => d.removalRequested);
  const deletes = removed.length ? notice('warning', `本人が削除を申請した扶養家族 ${removed.length}人（${removed.map((d) => `${d.familyName} ${d.givenName} さん`).join('、')}）は、「完了」にするとマイナンバーとあわせて削除されます。`) : null;
  const show = () => {
    const to = choice.value as ManualStatus;
    hint.textContent = STATUS_MOVE_HINTS[to];
    if (deletes) deletes.hidden = to !== 'completed';
    method.hidden = to !== 'completed';
    reason.hidden = to === 'completed';
  };
  choice.addEventListener('change', show);
  show();
  return formDialog<Registrant | StepPending>(
    'ステータスの変更',
    [
      facts([['対象者', fullName(r)], ['現在のステータス', STATUS_LABELS[r.status]]]),
      field('変更後のステータス', choice, { required: true }),
      hint,
      deletes,
      r.myNumber.registered ? null : notice('info', 'マイナンバーが未登録です。「完了」にするには、先に「マイナンバーを登録」で番号を入力してください。'),
      method,
      reason,
    ],
    '変更する',
    async (data, message) => {
      const to = text(data, 'status') as ManualStatus;
      const why = text(data, 'reason');
      const how = text(data, 'verificationMethod');
      if (to === 'completed' && !how) return void say(message, '本人確認の方法を選択してください');
      if (to !== 'completed' && !why) return void say(message, '理由を入力してください');
      try {
        return await api.changeStatus(r.id, to === 'completed' ? { status: to, verificationMethod: how as keyof typeof VERIFICATION_METHODS } : { status: to, reason: why });
      } catch (err) {
        // Taken on, not finished yet: the dialog closes and the screen says so.
        if (err instanceof StepPending) return err;
        throw err;
      }
    },
    'status-form',
  );
}

/**
 * Shows the number in the dialog only, for the reason given, after the password; it is gone when the
 * dialog closes (or after 60 seconds). While the person (or dependent) awaits approval, an approver
 * may give the collection check instead of a purpose of use.
 */
export async function revealNumber(r: Registrant, dependent?: Dependent, opts: { approver?: boolean } = {}): Promise<void> {
  const whose = dependent ? `${dependent.familyName} ${dependent.givenName}（${fullName(r)} さんの扶養家族）` : fullName(r);
  const tenant = await api.tenant();
  const collecting = !!opts.approver && (dependent ?? r).status === 'pending';
  const reasons = revealReasons(tenant.purposes, collecting);
  let stop = () => {};
  await dialog<void>('マイナンバーの表示', (close) => {
    const holder = h('div');
    holder.append(
      notice('info', 'マイナンバーの表示は操作履歴に記録されます。利用目的を選び、ご自身のパスワードを入力してください。'),
      form(
        [
          facts([['対象者', whose]]),
          field('利用目的', select('purpose', reasons), { required: true }),
          field('パスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true }),
        ],
        '表示する',
        async (data, message) => {
          const why = text(data, 'purpose');
          const password = String(data.get('password') ?? '');
          if (!why || !password) return say(message, '利用目的とパスワードを入力してください');
          const body = why === 'collection_check' ? { reason: 'collection_check' as const } : { purpose: why as Purpose };
          const { myNumber } = await api.reveal(r.id, { password, ...body, ...(dependent ? { dependentId: dependent.id } : {}) });
          const shown = shownNumber(myNumber, 'revealed-number', () => close(undefined));
          stop = shown.stop;
          holder.replaceChildren(
            h('p', {}, `${whose} さんのマイナンバー`),
            shown.el,
            h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'primary', onclick: () => close(undefined) }, '閉じる')),
          );
        },
        { id: 'reveal-form', extraButtons: [cancelButton(close)] },
      ),
    );
    return [holder];
  });
  stop();
}

/** 2034-01-11 → 2034年1月11日 */
const longDay = (d: string) => `${Number(d.slice(0, 4))}年${Number(d.slice(5, 7))}月${Number(d.slice(8, 10))}日`;

export async function askRetirement(r: Registrant): Promise<{ retirementDate: string | null; deletionDueDate?: string } | undefined> {
  const retirement = input('retirementDate', { type: 'date', value: r.retirementDate ?? '' });
  const ownDate = input('deletionDueDate', { type: 'date' });
  // The deletion due date the server will set, shown as HR types (the tenant's rule, at least 30 days ahead).
  const preview = h('p', { id: 'retirement-preview', class: 'hint', 'aria-live': 'polite' });
  const rules = await api.retentionRules().catch(() => null);
  const rule = retentionRule(rules?.current ?? DEFAULT_RETENTION_RULE) ?? retentionRule(DEFAULT_RETENTION_RULE)!;
  const show = () => {
    const date = retirement.value;
    if (ownDate.value) preview.textContent = `削除予定日：${longDay(ownDate.value)}（指定した日）`;
    else if (/^\d{4}-\d{2}-\d{2}$/.test(date)) preview.textContent = `削除予定日：${longDay(deletionDueBy(rule, date, todayInJapan()))}（${rule.label}）`;
    else preview.textContent = '退職日を入れると、削除予定日がここに表示されます。';
  };
  for (const i of [retirement, ownDate]) i.addEventListener('input', show);
  show();
  return formDialog(
    '退職日の設定',
    [
      h('p', {}, '退職日を過ぎると退職者になり、保存期間のルールで削除予定日が決まります。削除予定日を指定することもできます。'),
      field('退職日', retirement, { hint: r.retired ? '退職済みのため取り消せません。' : '空欄にすると退職日を取り消します。' }),
      preview,
      field('削除予定日（任意）', ownDate, { hint: '空欄なら保存期間のルールで決まります（30日より先の日付になります）。' }),
    ],
    '設定する',
    async (data) => ({ retirementDate: text(data, 'retirementDate') || null, deletionDueDate: text(data, 'deletionDueDate') || undefined }),
    'retirement-form',
  );
}

export function askDeletionDate(r: Registrant): Promise<string | undefined> {
  return formDialog<string>(
    '削除予定日の設定',
    [
      h('p', {}, '削除予定日になると、マイナンバーと本人確認書類の画像、登録者の情報が削除されます（元に戻せません）。削除の前にお知らせのメールが届きます。'),
      field('削除予定日', input('dueDate', { type: 'date', value: r.deletion?.dueDate ?? '' }), { required: true }),
    ],
    '設定する',
    async (data, message) => text(data, 'dueDate') || void say(message, '削除予定日を入力してください'),
    'deletion-date-form',
  );
}

export type DeletionScope = { scope: 'numbers' } | { scope: 'registrant' } | { scope: 'dependent'; dependentId: string };

/** Deleting now cannot be undone: the person's name must be typed to confirm. */
/**
 * Asks before deleting for good, with the HR user's password again, and deletes from the dialog: a
 * wrong password is said there. Resolves with the outcome (a StepPending when the workflow has taken
 * it on but not finished yet), or undefined when cancelled.
 */
export function askImmediateDeletion(r: Registrant, scope: DeletionScope, dependentName?: string): Promise<'deleted' | StepPending | undefined> {
  const what =
    scope.scope === 'numbers'
      ? `${fullName(r)} さんと扶養家族のマイナンバーと本人確認書類の画像を削除します。登録者の情報は残ります。`
      : scope.scope === 'registrant'
        ? `${fullName(r)} さんの登録者情報を、扶養家族とマイナンバー・画像を含めてすべて削除します。一覧からも消えます。`
        : `扶養家族 ${dependentName ?? ''} さんの情報とマイナンバー・画像を削除します。`;
  return formDialog<'deleted' | StepPending>(
    '削除の確認',
    [
      notice('warning', what, h('br'), '削除すると元に戻せません。削除の記録（誰がいつ何を削除したか）は残ります。'),
      field('確認のため、登録者の姓を入力してください', input('confirmName', { autocomplete: 'off' }), { required: true }),
      checkbox('understood', '元に戻せないことを理解しました'),
      field('ご自身のパスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true, hint: '元に戻せない操作のため、パスワードを再度入力してください。' }),
    ],
    '削除する',
    async (data, message) => {
      if (text(data, 'confirmName') !== r.familyName) return void say(message, '姓が一致しません');
      if (!data.get('understood')) return void say(message, '確認のチェックを入れてください');
      const password = String(data.get('password') ?? '');
      if (!password) return void say(message, 'パスワードを入力してください');
      try {
        await api.deleteNow(r.id, { ...scope, password });
        return 'deleted';
      } catch (err) {
        // Taken on by the workflow, not finished yet: the dialog's work is done.
        if (err instanceof StepPending) return err;
        throw err; // said in the dialog (a wrong password, a lock)
      }
    },
    'delete-form',
  );
}

/** 扶養家族編集 (seed 001 ch. 11): HR corrects a submitted dependent's data; resolves true once saved. */
export function editDependent(r: Registrant, d: Dependent): Promise<boolean> {
  const relationships = RELATIONSHIPS.includes(d.relationship) ? RELATIONSHIPS : [d.relationship, ...RELATIONSHIPS];
  return formDialog<boolean>(
    `扶養家族の編集：${d.familyName} ${d.givenName} さん`,
    [
      field('続柄', select('relationship', relationships.map((x): [string, string] => [x, x]), d.relationship)),
      field('姓', input('familyName', { value: d.familyName, maxlength: 50 }), { required: true }),
      field('名', input('givenName', { value: d.givenName, maxlength: 50 }), { required: true }),
      field('フリガナ（姓）', input('familyNameKana', { value: d.familyNameKana ?? '', maxlength: 50 })),
      field('フリガナ（名）', input('givenNameKana', { value: d.givenNameKana ?? '', maxlength: 50 })),
      field('区分', select('kind', DEPENDENT_KINDS, d.kind)),
      field('生年月日', input('birthDate', { type: 'date', value: d.birthDate ?? '' })),
      field('性別', select('gender', [['', '未入力'], ...GENDERS.map(([v, l]): [string, string] => [v, l])], d.gender ?? '')),
    ],
    '保存する',
    async (data) => {
      await api.updateDependent(r.id, d.id, {
        relationship: text(data, 'relationship'),
        kind: text(data, 'kind'),
        familyName: text(data, 'familyName'),
        givenName: text(data, 'givenName'),
        familyNameKana: text(data, 'familyNameKana') || null,
        givenNameKana: text(data, 'givenNameKana') || null,
        birthDate: text(data, 'birthDate') || null,
        gender: text(data, 'gender') || null,
      });
      return true;
    },
    'dependent-edit',
  ).then((v) => v === true);
}

const DEPENDENT_KINDS: [string, string][] = [
  ['dependent', '扶養親族'],
  ['category3', '国民年金の第3号被保険者'],
];

/**
 * 扶養家族の追加 by HR: the person's data, and a number HR checked on paper if they have it (the
 * dependent is then 完了; without one 未登録). Resolves true once added.
 */
export function addDependentDialog(r: Registrant): Promise<boolean> {
  const first = numberInput('myNumber');
  const second = numberInput('myNumberConfirmation');
  return formDialog<boolean>(
    `扶養家族の追加：${fullName(r)} さん`,
    [
      field('続柄', select('relationship', [['', '選択してください'], ...RELATIONSHIPS.map((x): [string, string] => [x, x])]), { required: true }),
      field('区分', select('kind', DEPENDENT_KINDS, 'dependent')),
      field('姓', input('familyName', { value: r.familyName, maxlength: 50 }), { required: true }),
      field('名', input('givenName', { maxlength: 50 }), { required: true }),
      field('フリガナ（姓）', input('familyNameKana', { value: r.familyNameKana ?? '', maxlength: 50 })),
      field('フリガナ（名）', input('givenNameKana', { maxlength: 50 })),
      field('生年月日', input('birthDate', { type: 'date' })),
      field('性別', select('gender', [['', '未入力'], ...GENDERS.map(([v, l]): [string, string] => [v, l])])),
      h('p', { class: 'hint' }, '書類で確認済みのマイナンバーを入力すると「完了」として登録されます。空欄なら「未登録」です。'),
      field('マイナンバー（任意・12桁）', first),
      field('マイナンバー（確認のためもう一度）', second),
    ],
    '追加する',
    async (data, message) => {
      const myNumber = String(data.get('myNumber') ?? '');
      const myNumberConfirmation = String(data.get('myNumberConfirmation') ?? '');
      if (myNumber || myNumberConfirmation) {
        const v = validateIndividualNumber(myNumber, myNumberConfirmation);
        if (!v.ok) return void say(message, v.message);
      }
      await api.addDependent(r.id, {
        relationship: text(data, 'relationship'),
        kind: text(data, 'kind') as 'dependent' | 'category3',
        familyName: text(data, 'familyName'),
        givenName: text(data, 'givenName'),
        familyNameKana: text(data, 'familyNameKana') || null,
        givenNameKana: text(data, 'givenNameKana') || null,
        birthDate: text(data, 'birthDate') || null,
        gender: (text(data, 'gender') || null) as Schemas['Gender'] | null,
        ...(myNumber ? { myNumber, myNumberConfirmation } : {}),
      });
      first.value = '';
      second.value = '';
      return true;
    },
    'dependent-add',
  ).then((v) => v === true);
}

/** Only a dependent's number, behind the caller's password; the dependent stays, 未登録. */
export function deleteDependentNumber(r: Registrant, d: Dependent): Promise<boolean> {
  return formDialog<boolean>(
    '扶養家族のマイナンバーの削除',
    [
      notice('warning', `${d.familyName} ${d.givenName} さん（${fullName(r)} さんの扶養家族）のマイナンバーだけを削除します。扶養家族の情報は残り、ステータスは「未登録」になります。元に戻せません。`),
      field('ご自身のパスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true }),
    ],
    '削除する',
    async (data, message) => {
      const password = String(data.get('password') ?? '');
      if (!password) return void say(message, 'パスワードを入力してください');
      await api.deleteDependentNumber(r.id, d.id, { password });
      return true;
    },
    'dependent-number-delete',
  ).then((v) => v === true);
}

/**
 * マイナンバーの編集 (seed 001 ch. 10): HR registers or corrects the registrant's or a dependent's
 * number from a document, typed twice and checked as typed; resolves true once stored.
 */
export function editNumber(r: Registrant, dependent?: { id: string; familyName: string; givenName: string }): Promise<boolean> {
  const whose = dependent ? `${dependent.familyName} ${dependent.givenName}（扶養家族）` : fullName(r);
  const first = numberInput('myNumber');
  const second = numberInput('myNumberConfirmation');
  const check = h('p', { class: 'message', id: 'number-check', 'aria-live': 'polite' });
  first.addEventListener('input', () => {
    const digits = normalizeDigits(first.value);
    if (digits.length < 12) return say(check, `${digits.length}桁入力済み（12桁）`, 'info');
    const v = validateIndividualNumber(digits);
    say(check, v.ok ? '正しい番号の形式です' : v.message, v.ok ? 'ok' : 'error');
  });
  return formDialog<boolean>(
    'マイナンバーの編集',
    [
      notice('info', `${whose} さんのマイナンバーを登録します。前の番号があれば置き換え、元に戻せません。操作は履歴に記録されます。`),
      field('マイナンバー（12桁）', first, { required: true }),
      check,
      field('マイナンバー（確認のためもう一度）', second, { required: true }),
    ],
    '登録する',
    async (data, message) => {
      const myNumber = String(data.get('myNumber') ?? '');
      const myNumberConfirmation = String(data.get('myNumberConfirmation') ?? '');
      const v = validateIndividualNumber(myNumber, myNumberConfirmation);
      if (!v.ok) return void say(message, v.message);
      if (dependent) await api.setDependentNumber(r.id, dependent.id, { myNumber, myNumberConfirmation });
      else await api.setNumber(r.id, { myNumber, myNumberConfirmation });
      first.value = '';
      second.value = '';
      return true;
    },
    'number-form',
  ).then((v) => v === true);
}

/**
 * A deletion that fell due and waits for HR (the tenant's confirmed mode): carried out behind the
 * password; resolves 'deleted', a StepPending when it is under way, or undefined when cancelled.
 */
export function confirmScheduledDeletion(r: Registrant, scope: Schemas['DeletionScope']): Promise<'deleted' | StepPending | undefined> {
  return formDialog<'deleted' | StepPending>(
    '削除の実行',
    [
      notice('warning', `${fullName(r)} さんの削除予定日（${r.deletion?.dueDate ?? ''}）を過ぎています。${scope === 'numbers' ? 'マイナンバーと書類の画像を削除します（登録者の情報は残ります）。' : '登録者のすべての情報を削除します。'}元に戻せません。`),
      field('ご自身のパスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true }),
    ],
    '削除を実行する',
    async (data, message) => {
      const password = String(data.get('password') ?? '');
      if (!password) return void say(message, 'パスワードを入力してください');
      try {
        await api.confirmDeletion(r.id, { password });
        return 'deleted';
      } catch (err) {
        if (err instanceof StepPending) return err;
        throw err;
      }
    },
    'deletion-confirm-form',
  );
}
