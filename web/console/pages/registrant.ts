/**
 * One registrant (seed 001 ch. 9–12): #/registrants/{id} the detail with dependents, documents and
 * every action HR has; /approval the documents beside the entered data with approve / remand /
 * refuse (per dependent too); /edit the registrant's own data; /qr the printable QR code.
 * Viewers get the same screens without any control that changes something.
 */
import { mayChangeRegistration } from '../../../shared/registration-rules';
import { api, StepPending, type Dependent, type Group, type HrDocument, type RegistrantItem } from '../api';
import type { Ctx } from '../context';
import { CATEGORY_LABELS, dateTime, day, fullName, INVITATION_LABELS, STATUS_LABELS } from '../labels';
import { go, href } from '../router';
import { actionButton, facts, h, link, messageLine, notice, row, say, showError, statusBadge, table, type View } from '../ui';
import { genderLabel } from '../../shared/labels';
import { documentViewer } from './document-viewer';
import { uploadDocument } from './document-upload';
import { askInviteOptions } from './invite-dialog';
import { addDependentDialog, confirmScheduledDeletion, askDeletionDate, askImmediateDeletion, askReason, askRetirement, askStatusChange, deleteDependentNumber, editDependent, editNumber, revealNumber } from './registrant-dialogs';
import { manualMovesFrom } from '../../../shared/status-moves';
import { confirmDialog, setFlash, takeFlash } from './shared-admin';
import { registrantEditScreen } from './registrant-edit';
import { qrScreen } from './qr-print';
import { timelineSection } from './timeline';
import { dayWithWeekday } from '../../../services/dates/day-text';
import { todayInJapan } from '../../../services/retention/rules';
import { numberCheckPanel } from './number-check';

export async function registrantScreen(ctx: Ctx): Promise<View> {
  const [id = '', sub] = ctx.params;
  if (sub === 'edit') return registrantEditScreen(ctx, id);
  if (sub === 'qr') return qrScreen(ctx, id);
  const [r, docs, groups] = await Promise.all([api.get(id), api.documents(id).catch((): HrDocument[] => []), api.groups().catch((): Group[] => [])]);
  return sub === 'approval' ? approvalView(ctx, r, docs) : detailView(ctx, r, docs, groups);
}

/** The deadline passed with nothing sent (as HOME's list counts it). */
const pastDue = (r: RegistrantItem) => !!r.submissionDueDate && (r.status === 'unregistered' || r.status === 'remanded') && !r.retired && r.submissionDueDate < todayInJapan();
const activeDependents = (r: RegistrantItem) => r.dependents.filter((d) => !d.noLongerDependent);
const dependentName = (d: Dependent) => `${d.familyName} ${d.givenName}`;

/** Runs a lifecycle action and draws the screen again, or says why it could not. */
/** `done`: what the next drawing says happened (every decision says so). */
function act(ctx: Ctx, message: HTMLElement, run: () => Promise<unknown>, after?: () => void, done?: string): () => Promise<void> {
  return async () => {
    try {
      await run();
      if (done) setFlash(done);
      if (after) after();
      else ctx.redraw();
    } catch (err) {
      // Taken on, waiting for the mail server or the database: not an error, and nothing to redraw yet.
      if (err instanceof StepPending) say(message, err.messages, 'info');
      else showError(message, err);
    }
  };
}

/** After the deletion dialog: draw again (or go on), say it is under way, or nothing when cancelled. */
function afterDeletion(ctx: Ctx, message: HTMLElement, outcome: 'deleted' | StepPending | undefined, after?: () => void): void {
  if (outcome instanceof StepPending) say(message, outcome.messages, 'info');
  else if (outcome === 'deleted') (after ?? (() => ctx.redraw()))();
}

function personFacts(r: RegistrantItem, groups: Group[]): HTMLElement {
  return facts([
    ['氏名', fullName(r)],
    ['フリガナ', [r.familyNameKana, r.givenNameKana].filter(Boolean).join(' ') || '—'],
    ['社員コード', r.employeeCode ?? '—'],
    ['生年月日', r.birthDate ? day(r.birthDate) : '—'],
    ['性別', genderLabel(r.gender)],
    ['区分', CATEGORY_LABELS[r.category]],
    ['メールアドレス', r.email ?? '—'],
    ['グループ', groups.find((g) => g.id === r.groupId)?.name ?? '—'],
    ['ステータス', h('span', {}, statusBadge(r.status), r.statusReason ? ` 理由：${r.statusReason}` : '')],
    ['扶養家族のステータス', statusBadge(r.dependentsStatus)],
    ['マイナンバー', r.myNumber.registered ? (r.myNumber.masked ?? '登録済み') : '未登録'],
    ['提出期限', r.submissionDueDate ? h('span', { id: 'submission-due' }, dayWithWeekday(r.submissionDueDate), pastDue(r) ? h('span', { class: 'badge status-unregistered' }, '期限切れ') : '') : '—'],
    ['収集メール', r.invitation ? `${INVITATION_LABELS[r.invitation.state] ?? r.invitation.state}${r.invitation.expiresAt && r.invitation.state === 'open' ? `（リンクの有効期限 ${dateTime(r.invitation.expiresAt)}）` : ''}` : '未送信'],
    ['提出日時', dateTime(r.submittedAt)],
    ['ログインロック', r.loginLocked ? 'ロック中（承認済み）' : 'なし'],
    ['退職日', r.retirementDate ? `${day(r.retirementDate)}${r.retired ? '（退職済み）' : '（退職予定）'}` : '—'],
    ['削除予定日', r.deletion ? `${day(r.deletion.dueDate)}（${r.deletion.ruleLabel}）` : '—'],
    ['入社日', r.hireDate ? day(r.hireDate) : '—'],
    ['備考', r.note ?? '—'],
    ['登録日時', dateTime(r.createdAt)],
  ]);
}

function dependentsTable(ctx: Ctx, r: RegistrantItem, message: HTMLElement, withApproval: boolean): HTMLElement {
  const rows = r.dependents.map((d) => {
    const buttons: (Node | null)[] = [];
    if (ctx.canEdit && withApproval && d.status === 'pending' && (d.removalRequested || !d.noLongerDependent)) {
      buttons.push(
        // Taken off by the employee in the change: approving deletes them; sending back puts them on the employee's list again.
        d.removalRequested
          ? actionButton('削除を承認', act(ctx, message, () => api.approve(r.id, d.id), undefined, `扶養家族 ${dependentName(d)} さんの削除を承認しました。`), 'small primary')
          : actionButton('承認', act(ctx, message, () => api.approve(r.id, d.id), undefined, `扶養家族 ${dependentName(d)} さんを承認しました。`), 'small primary'),
        actionButton('差戻し', async () => {
          const reason = await askReason('扶養家族の差戻し', `${dependentName(d)} さんの登録を差し戻します。本人に理由を添えたメールが届き、登録し直してもらえます。`, '差し戻す');
          if (reason) await act(ctx, message, () => api.remand(r.id, { reason, dependentId: d.id }), undefined, r.email ? `扶養家族 ${dependentName(d)} さんを差し戻しました。本人に理由を添えたメールを送ります。` : `扶養家族 ${dependentName(d)} さんを差し戻しました。メールアドレスがないため連絡は届きません。登録依頼書（紙）を印刷して、理由とあわせてお渡しください。`)();
        }, 'small secondary'),
      );
    }
    if (d.myNumber.registered && !d.noLongerDependent) buttons.push(actionButton('番号を表示', () => revealNumber(r, d, { approver: ctx.canEdit }), 'small secondary'));
    if (ctx.canEdit && !withApproval) {
      buttons.push(
        actionButton('編集', async () => {
          if (await editDependent(r, d)) ctx.redraw();
        }, 'small secondary'),
        actionButton(d.myNumber.registered ? '番号を編集' : '番号を登録', async () => {
          if (await editNumber(r, d)) ctx.redraw();
        }, 'small secondary'),
        d.myNumber.registered
          ? actionButton('番号だけ削除', async () => {
              if (await deleteDependentNumber(r, d)) ctx.redraw();
            }, 'small danger')
          : null,
        actionButton('削除', async () => {
          afterDeletion(ctx, message, await askImmediateDeletion(r, { scope: 'dependent', dependentId: d.id }, dependentName(d)));
        }, 'small danger'),
      );
    }
    // Every row has the same button names: each button is described by its row's person.
    for (const b of buttons) (b as HTMLElement | null)?.setAttribute('aria-describedby', `dependent-${d.id}`);
    return row(
      [d.relationship, h('span', { id: `dependent-${d.id}` }, dependentName(d)), d.birthDate ? day(d.birthDate) : '—', genderLabel(d.gender), d.kind === 'category3' ? '第3号被保険者' : '扶養親族', h('span', {}, statusBadge(d.status), d.noLongerDependent ? ' 扶養から外れました' : '', d.removalRequested ? ' 本人が削除を申請' : ''), d.myNumber.registered ? '登録済み' : '未登録', buttons.length ? h('div', { class: 'buttons' }, ...buttons) : '—'],
      { class: d.noLongerDependent ? 'row-retired' : `row-${d.status}`, 'data-dependent-id': d.id },
    );
  });
  const wrap = table('扶養家族', ['続柄', '氏名', '生年月日', '性別', '区分', 'ステータス', 'マイナンバー', '操作'], rows, '扶養家族はいません');
  wrap.querySelector('table')?.classList.add('dependents');
  return wrap;
}

function detailView(ctx: Ctx, r: RegistrantItem, docs: HrDocument[], groups: Group[]): View {
  const message = messageLine('registrant-message');
  const waiting = r.status === 'pending' || activeDependents(r).some((d) => d.status === 'pending');
  const open = r.invitation?.state === 'open';
  // Whoever may change their registration (an approved person only after HR unlocked them) can get a new link.
  const invitable = !r.retired && !!r.email && mayChangeRegistration(r);
  const actions: (Node | null)[] = ctx.canEdit
    ? [
        waiting ? link(href(`registrants/${r.id}/approval`), '承認画面へ', 'button primary') : null,
        link(href(`registrants/${r.id}/edit`), '編集', 'button secondary'),
        invitable
          ? actionButton(open ? '収集メールを再送' : '収集メールを送信', async () => {
              const options = await askInviteOptions(ctx, '収集メールの送信', `${fullName(r)} さん（${r.email}）に登録用のリンクを送ります。${open ? '前に送ったリンクは使えなくなります。' : ''}リンクの有効期限は90日です。`);
              if (options) await act(ctx, message, () => api.invite(r.id, options), undefined, `${fullName(r)} さんに収集メールを送信しました（メールサーバーが受け付けました）。`)();
            }, 'secondary')
          : null,
        // A paper sheet for anyone who may still register, with or without an address (it opens the collection if need be).
        open || (!r.retired && mayChangeRegistration(r)) ? link(href(`registrants/${r.id}/qr`), open ? 'QRコードを印刷' : '登録依頼書（紙）を印刷', 'button secondary') : null,
        open
          ? actionButton('収集を取り下げ', async () => {
              if (await confirmDialog('収集の取り下げ', ['登録用のリンクを使えなくします。あとで収集メールを送り直せます。'], '取り下げる', false)) await act(ctx, message, () => api.withdraw(r.id))();
            }, 'secondary')
          : null,
        !r.loginLocked && r.invitation
          ? actionButton('登録画面のパスワードを初期化', async () => {
              const ok = await confirmDialog(
                'パスワードの初期化',
                ['本人が登録画面のパスワードを忘れたときに使います。次に登録用リンクを開くと、パスワードを設定し直す画面になります（入力済みの内容は残ります）。', r.invitation?.state === 'open' ? '' : '登録用リンクが有効でないため、あわせて収集メールを送信してください。'].filter(Boolean),
                '初期化する',
                false,
              );
              if (ok) await act(ctx, message, () => api.resetRegistrantPassword(r.id), () => say(message, 'パスワードを初期化しました。本人に登録用リンクを開き直してもらってください。', 'ok'))();
            }, 'secondary')
          : null,
        r.loginLocked
          ? actionButton('ログインロックを解除', async () => {
              if (await confirmDialog('ログインロックの解除', ['本人が登録内容を変更できるようにします（扶養家族の追加など）。解除したあと「収集メールを送信」で新しい登録用リンクを送ってください。変更が提出されると承認待ちになり、承認すると再びロックされます。'], '解除する', false)) await act(ctx, message, () => api.unlock(r.id))();
            }, 'secondary')
          : null,
      ]
    : [];
  const numberButtons: (Node | null)[] = [
    r.myNumber.registered ? actionButton('マイナンバーを表示', () => revealNumber(r, undefined, { approver: ctx.canEdit }), 'secondary') : null,
    ctx.canEdit
      ? actionButton(r.myNumber.registered ? 'マイナンバーを編集' : 'マイナンバーを登録', async () => {
          if (await editNumber(r)) ctx.redraw();
        }, 'secondary')
      : null,
    ctx.canEdit && manualMovesFrom(r.status).length > 0
      ? actionButton('ステータスを変更', async () => {
          const outcome = await askStatusChange(r);
          if (outcome instanceof StepPending) say(message, outcome.messages, 'info');
          else if (outcome) {
            setFlash(`${fullName(r)} さんのステータスを「${STATUS_LABELS[outcome.status]}」にしました。`);
            ctx.redraw();
          }
        }, 'secondary')
      : null,
  ];
  const awaiting = r.deletion?.awaitingConfirmationSince;
  const retention: (Node | null)[] = ctx.canEdit
    ? [
        awaiting
          ? actionButton('削除を実行する', async () => {
              const scope = (await api.tenant()).deletionScope;
              afterDeletion(ctx, message, await confirmScheduledDeletion(r, scope), scope === 'numbers' ? undefined : () => go('registrants'));
            }, 'danger')
          : null,
        actionButton('退職日を設定', async () => {
          const choice = await askRetirement(r);
          if (choice) await act(ctx, message, () => api.setRetirement(r.id, choice))();
        }, 'secondary'),
        actionButton('削除予定日を設定', async () => {
          const due = await askDeletionDate(r);
          if (due) await act(ctx, message, () => api.scheduleDeletion(r.id, { dueDate: due }))();
        }, 'secondary'),
        r.deletion
          ? actionButton('削除予定を取り消す', async () => {
              if (await confirmDialog('削除予定の取消', ['削除予定日を取り消します。'], '取り消す', false)) await act(ctx, message, () => api.cancelDeletion(r.id))();
            }, 'secondary')
          : null,
      ]
    : [];
  const deletions: (Node | null)[] = ctx.canEdit
    ? [
        actionButton('マイナンバーと画像を削除', async () => {
          afterDeletion(ctx, message, await askImmediateDeletion(r, { scope: 'numbers' }));
        }, 'danger'),
        actionButton('登録者を削除', async () => {
          afterDeletion(ctx, message, await askImmediateDeletion(r, { scope: 'registrant' }), () => go('registrants'));
        }, 'danger'),
      ]
    : [];
  return {
    page: 'registrant',
    title: `${fullName(r)} さん`,
    body: [
      h('p', {}, link(href('registrants'), '一覧に戻る')),
      takeFlash(),
      waiting && ctx.canEdit ? notice('warning', '承認待ちの登録があります。', link(href(`registrants/${r.id}/approval`), '承認画面で確認する')) : null,
      awaiting ? notice('warning', `削除予定日（${day(r.deletion!.dueDate)}）を過ぎ、削除の確認を待っています。内容を確認し、「退職・削除予定」の「削除を実行する」で削除してください（削除予定日を変更することもできます）。`) : null,
      message,
      actions.some(Boolean) ? h('div', { class: 'buttons', id: 'registrant-actions' }, ...actions) : null,
      h('section', { 'aria-labelledby': 'person' }, h('h2', { id: 'person' }, '登録者情報'), personFacts(r, groups), h('div', { class: 'buttons' }, ...numberButtons)),
      timelineSection(r.id, ctx),
      h(
        'section',
        { 'aria-labelledby': 'dependents' },
        h('h2', { id: 'dependents' }, '扶養家族'),
        dependentsTable(ctx, r, message, false),
        ctx.canEdit && r.category !== 'payee'
          ? h(
              'div',
              { class: 'buttons' },
              actionButton('扶養家族を追加', async () => {
                if (await addDependentDialog(r)) ctx.redraw();
              }, 'secondary'),
            )
          : null,
      ),
      h(
        'section',
        { 'aria-labelledby': 'documents' },
        h('h2', { id: 'documents' }, '番号確認・本人確認書類'),
        ...(docs.length ? documentViewers(ctx, r, docs) : [h('p', {}, '提出された画像はありません。')]),
        ctx.canEdit
          ? h(
              'div',
              { class: 'buttons' },
              actionButton('書類の画像を登録・差し替え', async () => {
                const done = await uploadDocument(r);
                if (done) {
                  setFlash(done);
                  ctx.redraw();
                }
              }, 'secondary'),
            )
          : null,
      ),
      ctx.canEdit ? h('section', { 'aria-labelledby': 'retention' }, h('h2', { id: 'retention' }, '退職・削除予定'), h('div', { class: 'buttons' }, ...retention)) : null,
      ctx.canEdit ? h('section', { 'aria-labelledby': 'delete' }, h('h2', { id: 'delete' }, '削除'), h('p', {}, '削除すると元に戻せません。'), h('div', { class: 'buttons' }, ...deletions)) : null,
      h('section', { 'aria-labelledby': 'consents' }, h('h2', { id: 'consents' }, '利用目的への同意'), consentList(r.id)),
    ],
  };
}

function consentList(registrantId: string): HTMLElement {
  const list = h('ul', { class: 'consents' }, h('li', {}, '読み込んでいます…'));
  api.consents(registrantId).then(
    (cs) => list.replaceChildren(...(cs.length ? cs.map((c) => h('li', {}, `${c.label}（${dateTime(c.consentedAt)}）`)) : [h('li', {}, 'まだ同意していません')])),
    () => list.replaceChildren(h('li', {}, '表示できませんでした')),
  );
  return list;
}

/** One viewer for the person's own documents, one for each dependent who sent theirs (editors only: viewers see no images). */
function documentViewers(ctx: Ctx, r: RegistrantItem, docs: HrDocument[]): HTMLElement[] {
  if (!ctx.canEdit) return [h('p', {}, `提出された画像が${docs.length}件あります。画像は閲覧権限では表示できません。`)];
  // Before approval the collection check itself is the reason to look at the number; afterwards a purpose.
  const forDependents = r.dependents
    .map((d) => ({ d, docs: docs.filter((x) => x.dependentId === d.id) }))
    .filter((x) => x.docs.length)
    .map((x) => documentViewer({ registrantId: r.id, collecting: x.d.status === 'pending' }, x.docs, `扶養家族 ${dependentName(x.d)} さんの書類`));
  return [documentViewer({ registrantId: r.id, collecting: r.status === 'pending' }, docs.filter((d) => !d.dependentId), '本人の書類'), ...forDependents];
}

/** A check panel for the person and each dependent awaiting approval. */
function checkPanels(r: RegistrantItem): HTMLElement[] {
  return [...(r.status === 'pending' ? [numberCheckPanel(r)] : []), ...activeDependents(r).filter((d) => d.status === 'pending').map((d) => numberCheckPanel(r, d))];
}

function approvalView(ctx: Ctx, r: RegistrantItem, docs: HrDocument[]): View {
  const message = messageLine('approval-message');
  const pendingSelf = r.status === 'pending';
  const decisions = ctx.canEdit && pendingSelf
    ? h(
        'div',
        { class: 'buttons', id: 'decision' },
        actionButton('承認する', async () => {
          // Approving the person approves their dependents still waiting too (the server does): say so first.
          const alsoDependents = activeDependents(r).filter((d) => d.status === 'pending' && !d.removalRequested);
          const removed = r.dependents.filter((d) => d.removalRequested);
          const names = (ds: Dependent[]) => ds.map((d) => `${dependentName(d)} さん`).join('、');
          const lines = [
            `${fullName(r)} さんの登録を承認します。`,
            ...(alsoDependents.length ? [`承認待ちの扶養家族 ${alsoDependents.length}人（${names(alsoDependents)}）も一緒に承認されます。差し戻す扶養家族がいる場合は、先に下の表で差し戻してください。`] : []),
            // The change deletes them: said before, as a deletion cannot be taken back.
            ...(removed.length ? [`本人が削除を申請した扶養家族 ${removed.length}人（${names(removed)}）は、マイナンバーとあわせて削除されます。残す場合は、先に下の表でその扶養家族を差し戻してください。`] : []),
            '承認すると本人は登録画面にログインできなくなります（変更が必要なときはロックを解除します）。',
          ];
          const done = `${fullName(r)} さんの登録を承認しました。${alsoDependents.length ? `扶養家族 ${alsoDependents.length}人も承認しました。` : ''}${removed.length ? `扶養家族 ${removed.length}人を削除しました。` : ''}`;
          if (await confirmDialog('承認', lines, '承認する', false)) await act(ctx, message, () => api.approve(r.id), () => go(`registrants/${r.id}`), done)();
        }),
        actionButton('差戻し', async () => {
          const reason = await askReason('差戻し', `${fullName(r)} さんの登録を差し戻します。本人に理由を添えたメールと新しい登録用リンクが届きます。`, '差し戻す');
          if (reason) await act(ctx, message, () => api.remand(r.id, { reason }), () => go(`registrants/${r.id}`), r.email ? `${fullName(r)} さんの登録を差し戻しました。本人に理由を添えたメールと新しい登録用リンクを送ります。` : `${fullName(r)} さんの登録を差し戻しました。メールアドレスがないため連絡は届きません。登録依頼書（紙）を印刷して、理由とあわせてお渡しください。`)();
        }, 'secondary'),
        actionButton('拒否', async () => {
          const reason = await askReason('マイナンバー提供の拒否', `${fullName(r)} さんがマイナンバーの提供を拒否したものとして記録します。登録用リンクは使えなくなります。`, '拒否として記録する');
          if (reason) await act(ctx, message, () => api.refuse(r.id, { reason }), () => go(`registrants/${r.id}`), `${fullName(r)} さんのマイナンバー提供の拒否を記録しました。`)();
        }, 'danger'),
      )
    : null;
  return {
    page: 'approval',
    title: `承認：${fullName(r)} さん`,
    body: [
      h('p', {}, link(href(`registrants/${r.id}`), '詳細に戻る')),
      takeFlash(),
      !pendingSelf && !activeDependents(r).some((d) => d.status === 'pending') ? notice('info', '承認待ちの登録はありません。') : null,
      message,
      h(
        'div',
        { class: 'approval' },
        h('section', { 'aria-labelledby': 'submitted-documents', class: 'documents-column' }, h('h2', { id: 'submitted-documents' }, '提出された書類'), ...(docs.length ? documentViewers(ctx, r, docs) : [h('p', {}, '提出された画像はありません。')])),
        h(
          'div',
          { class: 'approval-side' },
          h(
            'section',
            { 'aria-labelledby': 'entered' },
            h('h2', { id: 'entered' }, '入力された内容'),
            // What the documents must match, and how the submission stands — nothing else.
            facts([
              ['氏名', fullName(r)],
              ['フリガナ', [r.familyNameKana, r.givenNameKana].filter(Boolean).join(' ') || '—'],
              ['生年月日', r.birthDate ? day(r.birthDate) : '—'],
              ['性別', genderLabel(r.gender)],
              ['社員コード', r.employeeCode ?? '—'],
              ['ステータス', h('span', {}, statusBadge(r.status), r.statusReason ? ` 理由：${r.statusReason}` : '')],
              ['提出日時', dateTime(r.submittedAt)],
            ]),
            h('p', { class: 'hint' }, '書類の画像と入力された内容（氏名・生年月日・マイナンバー）が一致しているか確認してください。'),
            // The number shown here, beside the image (no dialog over it), as the collection check.
            ...(ctx.canEdit ? checkPanels(r) : []),
            !pendingSelf && r.myNumber.registered ? h('div', { class: 'buttons' }, actionButton('マイナンバーを表示', () => revealNumber(r), 'secondary')) : null,
            decisions,
          ),
        ),
      ),
      // Full width under the two columns: in the right one its eight columns (and each row's
      // 承認 / 差戻し / 番号を表示) sat behind a sideways scroll at 1366 px.
      h('section', { 'aria-labelledby': 'approval-dependents' }, h('h2', { id: 'approval-dependents' }, '扶養家族'), dependentsTable(ctx, r, message, true)),
    ],
  };
}
