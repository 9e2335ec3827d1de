/**
 * 契約者情報 (seed 001 ch. 4): the company's name, customer number, corporate number, the company
 * passcode employees enter at their first login (set or changed here; owners see it again or issue a
 * new one behind their password), the purposes of
 * use the company collects numbers for, the reminder days of the collection mail, HR's digest of new
 * submissions and the employees' receipt and completion mails. Everyone sees them; owners and
 * managers change seed 001's 契約者情報 and the passcode, owners alone the data-protection settings
 * (purposes, reminders, notices, retention, deletion) — the API refuses anyone else. The retention
 * rules are listed.
 */
import { api, type Schemas } from '../api';
import type { Ctx } from '../context';
import { PURPOSE_LABELS } from '../labels';
import { actionButton, checkbox, facts, field, form, h, input, notice, say, select, text, type View } from '../ui';
import { showPasscodeDialog } from './passcode';
import { checkboxGroup, setFlash, takeFlash } from './shared-admin';

type Purpose = Schemas['Purpose'];
type Patch = Schemas['TenantSettingsPatch'];

const PURPOSES = Object.keys(PURPOSE_LABELS) as Purpose[];
const DIGEST_LABELS: Record<Schemas['SubmissionDigest'], string> = { daily: '毎朝9時にまとめて', hourly: '1時間ごとにまとめて', off: '送らない' };
const daysText = (days: number[]) => (days.length ? `招待から ${days.map((d) => `${d}日後`).join('、')}` : '再通知しない');

/** Owners and managers: the passcode shown again, or a new one issued (both behind their password). */
function passcodeButtons(ctx: Ctx, t: Schemas['TenantSettings']): HTMLElement[] {
  if (!ctx.canEdit) return [];
  const afterNew = (made: boolean | undefined) => {
    if (made) ctx.redraw();
  };
  return [
    h(
      'span',
      { class: 'buttons inline' },
      t.passcodeViewable ? actionButton('パスコードを表示', async () => void (await showPasscodeDialog('reveal')), 'secondary small') : null,
      actionButton(t.passcodeSet ? '新しいパスコードを発行' : 'パスコードを発行', async () => afterNew(await showPasscodeDialog('regenerate')), 'secondary small'),
    ),
  ];
}

const SCOPE_CHOICES: Record<Schemas['DeletionScope'], string> = {
  all_personal_data: '登録者のすべての情報（氏名なども削除）',
  numbers: 'マイナンバーと書類の画像のみ（登録者の情報は残り「未登録」に）',
};

type ContractDetails = NonNullable<Schemas['ContractDetails']>;
const BUSINESS_TYPES: Record<ContractDetails['businessType'], string> = { corporation: '法人', sole_proprietor: '個人事業主' };

/** 契約者情報's contact part, as seed 001 shows it. */
function contractRows(d: ContractDetails | null): [string, string | HTMLElement][] {
  if (!d) return [['契約者の連絡先', h('span', { id: 'contract-details' }, '未登録（編集から登録してください）')]];
  return [
    ['事業形態', BUSINESS_TYPES[d.businessType]],
    ['申請部署', d.department ?? '—'],
    ['申請者氏名', d.applicantName],
    ['連絡先メールアドレス', d.email],
    ['住所', h('span', { id: 'contract-address' }, `〒${d.postalCode.slice(0, 3)}-${d.postalCode.slice(3)} ${d.prefecture}${d.city}${d.building ? ` ${d.building}` : ''}`)],
    ['電話番号', d.phone],
    ['業種', d.industry],
    ['メールでのお知らせ', d.newsletter ? '希望する' : '希望しない'],
  ];
}

function contractFields(d: ContractDetails | null): HTMLElement {
  return h(
    'fieldset',
    { class: 'choices', id: 'contract-fields' },
    h('legend', {}, '契約者の連絡先'),
    field('事業形態', select('businessType', Object.entries(BUSINESS_TYPES) as [string, string][], d?.businessType ?? 'corporation')),
    field('申請部署', input('contractDepartment', { value: d?.department ?? '', maxlength: 100 })),
    field('申請者氏名', input('applicantName', { value: d?.applicantName ?? '', maxlength: 100, autocomplete: 'name' })),
    field('連絡先メールアドレス', input('contractEmail', { type: 'email', value: d?.email ?? '', autocomplete: 'email' })),
    h(
      'div',
      { class: 'filters' },
      field('郵便番号', input('postalCode', { value: d ? `${d.postalCode.slice(0, 3)}-${d.postalCode.slice(3)}` : '', inputmode: 'numeric', maxlength: 8, autocomplete: 'postal-code' }), { hint: '例：150-0036' }),
      field('都道府県', input('prefecture', { value: d?.prefecture ?? '', maxlength: 4, autocomplete: 'address-level1' })),
    ),
    field('市区町村・番地', input('city', { value: d?.city ?? '', maxlength: 200, autocomplete: 'address-line1' })),
    field('建物名など', input('building', { value: d?.building ?? '', maxlength: 200, autocomplete: 'address-line2' })),
    field('電話番号', input('phone', { value: d?.phone ?? '', inputmode: 'tel', maxlength: 20, autocomplete: 'tel' })),
    field('業種', input('industry', { value: d?.industry ?? '', maxlength: 100 })),
    field('メールでのお知らせ', select('newsletter', [['yes', '希望する'], ['no', '希望しない']], d && !d.newsletter ? 'no' : 'yes')),
  );
}

/** The contact part from the form, or undefined when it was left blank (nothing to store yet). */
function contractFrom(data: FormData): ContractDetails | undefined {
  const names = ['applicantName', 'contractEmail', 'postalCode', 'prefecture', 'city', 'phone', 'industry'];
  if (names.every((n) => !text(data, n))) return undefined;
  return {
    businessType: text(data, 'businessType') as ContractDetails['businessType'],
    department: text(data, 'contractDepartment') || null,
    applicantName: text(data, 'applicantName'),
    // As the server stores them, so an unchanged form is no change.
    email: text(data, 'contractEmail').normalize('NFKC').toLowerCase(),
    postalCode: text(data, 'postalCode').normalize('NFKC').replace(/-/g, ''),
    prefecture: text(data, 'prefecture'),
    city: text(data, 'city'),
    building: text(data, 'building') || null,
    phone: text(data, 'phone').normalize('NFKC').replace(/[-()\s]/g, ''),
    industry: text(data, 'industry'),
    newsletter: text(data, 'newsletter') === 'yes',
  };
}

const MODE_CHOICES: Record<Schemas['DeletionMode'], string> = {
  automatic: '削除予定日に自動で削除',
  confirmed: '担当者の確認後に削除（削除予定日に確認待ちへ）',
};

/** The owners' data-protection settings from the form into the patch (what changed); a problem as text. */
function policyInto(patch: Patch, data: FormData, t: Schemas['TenantSettings']): string | undefined {
  const purposes = data.getAll('purposes').map(String) as Purpose[];
  if (!purposes.length) return '利用目的を1つ以上選んでください';
  if ([...purposes].sort().join() !== [...t.purposes].sort().join()) patch.purposes = purposes;
  const daysRaw = text(data, 'reminderDays');
  const parts = daysRaw ? daysRaw.normalize('NFKC').split(/[,、\s]+/).filter(Boolean) : [];
  if (parts.some((p) => !/^\d+$/.test(p))) return '再通知の日数は数字をカンマ区切りで入力してください';
  const days = parts.map(Number);
  if (days.join() !== t.reminderDays.join()) patch.reminderDays = days;
  const digest = text(data, 'submissionDigest') as Schemas['SubmissionDigest'];
  if (digest !== t.submissionDigest) patch.submissionDigest = digest;
  const notices = data.get('employeeNotices') === 'true';
  if (notices !== t.employeeNotices) patch.employeeNotices = notices;
  const rule = text(data, 'retentionRule');
  if (rule !== t.retentionRule) patch.retentionRule = rule;
  const scope = text(data, 'deletionScope') as Schemas['DeletionScope'];
  if (scope !== t.deletionScope) patch.deletionScope = scope;
  const mode = text(data, 'deletionMode') as Schemas['DeletionMode'];
  if (mode !== t.deletionMode) patch.deletionMode = mode;
  return undefined;
}

export async function settingsScreen(ctx: Ctx): Promise<View> {
  const [t, retention] = await Promise.all([api.tenant(), api.retentionRules()]);

  const summary = facts([
    ['会社名/組織名', t.name],
    ['お客様番号', h('span', { id: 'customer-number' }, t.customerNumber)],
    ['法人番号', t.corporateNumber ?? '未設定'],
    ['パスコード', h('span', {}, h('span', { id: 'passcode-state' }, !t.passcodeSet ? '未設定' : t.passcodeViewable ? '設定済み' : '設定済み（以前に設定されたため表示できません。新しく発行できます）'), ...passcodeButtons(ctx, t))],
    ['利用目的', t.purposes.length ? h('ul', { id: 'purposes-in-use' }, ...PURPOSES.filter((p) => t.purposes.includes(p)).map((p) => h('li', {}, PURPOSE_LABELS[p]))) : '未設定'],
    ['収集メールの再通知', h('span', { id: 'reminder-days' }, daysText(t.reminderDays))],
    ['提出のお知らせ（担当者へ）', h('span', { id: 'submission-digest' }, DIGEST_LABELS[t.submissionDigest])],
    ['受付・完了のメール（従業員へ）', h('span', { id: 'employee-notices' }, t.employeeNotices ? '送る' : '送らない')],
    ...contractRows(t.contractDetails),
  ]);

  const owner = ctx.isOwner;
  const edit = ctx.canEdit
    ? form(
        [
          field('会社名/組織名', input('name', { value: t.name, maxlength: 100, autocomplete: 'organization' }), { required: true }),
          field('法人番号', input('corporateNumber', { value: t.corporateNumber ?? '', inputmode: 'numeric', maxlength: 20, autocomplete: 'off' }), {
            hint: '13桁（個人事業主など、ない場合は空欄）。',
          }),
          field('パスコード', input('passcode', { autocomplete: 'off', spellcheck: 'false', maxlength: 32 }), {
            hint: t.passcodeSet
              ? '変更する場合だけ入力します。空欄のままなら今のパスコードのままです。4〜32文字の半角英数字・記号。'
              : 'スマホでマイナンバーを収集する前に設定してください。4〜32文字の半角英数字・記号。',
          }),
          field('ご自身のパスワード（パスコードを変更する場合）', input('password', { type: 'password', autocomplete: 'current-password' }), {
            hint: 'パスコードを設定した人はパスコードを知ることになるため、表示と同じくパスワードの確認が必要です。',
          }),
          owner && checkboxGroup('purposes', '利用目的', PURPOSES.map((p) => [p, PURPOSE_LABELS[p]]), t.purposes, '従業員が最初のログインで同意する利用目的です。1つ以上選んでください。'),
          owner && field('収集メールの再通知（招待から何日後）', input('reminderDays', { value: t.reminderDays.join(', '), inputmode: 'numeric', autocomplete: 'off' }), {
            hint: '1〜89日を小さい順にカンマ区切りで入力します（例：7, 30, 80）。空欄なら再通知しません。送信済みの人にも1分ほどで反映されます（すでに過ぎた日の再通知は送らず、次の日から）。',
          }),
          owner && field('提出のお知らせ（担当者へ）', select('submissionDigest', Object.entries(DIGEST_LABELS) as [string, string][], t.submissionDigest), {
            hint: '新しい提出があったとき、最高権限・管理担当者のユーザにメールでまとめてお知らせします。',
          }),
          owner && checkbox('employeeNotices', '従業員に、提出の受付と登録完了をメールで知らせる', t.employeeNotices),
          owner && field('保存期間のルール（退職者）', select('retentionRule', retention.rules.map((r): [string, string] => [r.code, r.label]), t.retentionRule), {
            hint: 'これから設定する退職日の削除予定日に使われます。すでに決まっている削除予定日は変わりません（登録者ごとに変更できます）。',
          }),
          owner && field('削除予定日に削除するもの', select('deletionScope', Object.entries(SCOPE_CHOICES) as [string, string][], t.deletionScope), {
            hint: '削除予定日を迎えた人に適用されます。',
          }),
          contractFields(t.contractDetails),
          owner && field('削除予定日の削除', select('deletionMode', Object.entries(MODE_CHOICES) as [string, string][], t.deletionMode), {
            hint: '「担当者の確認後に削除」では、削除予定日を迎えた人は HOME の「削除の確認待ち」に並び、確認されるまで毎週メールでお知らせします。',
          }),
        ],
        '変更する',
        async (data, message) => {
          const patch: Patch = {};
          const name = text(data, 'name');
          if (!name) return say(message, '会社名/組織名を入力してください');
          if (name !== t.name) patch.name = name;
          const corporate = text(data, 'corporateNumber');
          if (corporate !== (t.corporateNumber ?? '')) patch.corporateNumber = corporate || null;
          const passcode = text(data, 'passcode');
          if (passcode) {
            patch.passcode = passcode;
            patch.password = String(data.get('password') ?? '');
          }
          if (owner) {
            const problem = policyInto(patch, data, t);
            if (problem) return say(message, problem);
          }
          const details = contractFrom(data);
          if (details && JSON.stringify(details) !== JSON.stringify(t.contractDetails)) patch.contractDetails = details;
          if (!Object.keys(patch).length) return say(message, '変更された項目はありません。', 'info');
          await api.updateTenant(patch);
          // The company's name is in the header too.
          if (patch.name) ctx.setMe(await api.me());
          const changed = [patch.name && '会社名', 'corporateNumber' in patch && '法人番号', patch.passcode && 'パスコード', patch.purposes && '利用目的', patch.reminderDays && '再通知の日数', patch.submissionDigest && '提出のお知らせ', 'employeeNotices' in patch && '受付・完了のメール', patch.retentionRule && '保存期間', patch.deletionScope && '削除するもの', patch.deletionMode && '削除の方法', patch.contractDetails && '契約者の連絡先'].filter(Boolean);
          setFlash(`契約者情報を変更しました（${changed.join('、')}）。`);
          ctx.redraw();
        },
        { id: 'tenant-settings' },
      )
    : null;

  const currentRule = retention.rules.find((r) => r.code === retention.current);
  return {
    page: 'settings',
    title: '契約者情報',
    body: [
      takeFlash(),
      t.passcodeSet
        ? null
        : notice('warning', 'パスコードが設定されていません。登録用リンクを開いた人は、パスコードなしで登録画面に入れます。セキュリティ向上のため、パスコードを設定（または発行）し、登録者へメールとは別の方法で事前に伝えてください。'),
      h('section', { 'aria-labelledby': 'settings-current' }, h('h2', { id: 'settings-current' }, '現在の契約者情報'), summary),
      edit
        ? h('section', { 'aria-labelledby': 'settings-edit' }, h('h2', { id: 'settings-edit' }, '契約者情報の編集'), edit)
        : notice('info', '契約者情報を変更できるのは最高権限・管理担当者のユーザだけです。'),
      ctx.canEdit && !owner ? notice('info', '利用目的・再通知・お知らせ・保存期間・削除の設定を変更できるのは最高権限のユーザだけです。') : null,
      h(
        'section',
        { 'aria-labelledby': 'settings-retention' },
        h('h2', { id: 'settings-retention' }, '退職者の情報の保存期間'),
        h('p', {}, '退職した登録者のマイナンバー情報は、次のルールで削除予定日が決まります。'),
        facts([
          ...(currentRule ? [['現在のルール', h('span', { id: 'retention-current' }, currentRule.label)] as [string, HTMLElement]] : []),
          ['削除予定日に削除するもの', h('span', { id: 'deletion-scope' }, SCOPE_CHOICES[t.deletionScope])],
          ['削除予定日の削除', h('span', { id: 'deletion-mode' }, MODE_CHOICES[t.deletionMode])],
        ]),
        h('ul', { id: 'retention-rules' }, ...retention.rules.map((r) => h('li', {}, r.label, r.code === retention.current ? '（現在のルール）' : ''))),
      ),
    ],
  };
}
