/**
 * 運用 (owners): what needs an operator and the actions that fix it — from GET /v1/operator/attention.
 * Workflows with a step retrying after a failed dependency (which step, the error's class, how many
 * rounds, the next try) or that ended without finishing; starts still queued; failing webhook
 * deliveries; the mail to employees paused or not. Every action is recorded in the history.
 */
import { api, type Schemas } from '../api';
import type { Ctx } from '../context';
import { dateTime } from '../labels';
import { h, link, messageLine, notice, redrawingButton, row, table, type View } from '../ui';

type Attention = Schemas['OperatorAttention'];
/** Error classes operators meet most, in words (others are shown as they are). */
const ERROR_LABELS: Record<string, string> = {
  MailPaused: 'メール送信の一時停止中',
  TimeoutFailure: '時間切れ（応答なし）',
  PrismaClientKnownRequestError: 'データベースのエラー',
  PrismaClientInitializationError: 'データベースに接続できない',
  DriverAdapterError: 'データベースに接続できない',
};
const errorLabel = (type: string) => (ERROR_LABELS[type] ? `${ERROR_LABELS[type]}（${type}）` : type);
const section = (id: string, title: string, body: HTMLElement) => h('section', { 'aria-labelledby': id }, h('h2', { id }, title), body);

const STATE_LABELS: Record<Attention['workflows'][number]['state'], string> = { retrying: '再試行中', failed: '失敗で終了', terminated: '強制終了', timed_out: 'タイムアウト' };

export async function operationsScreen(ctx: Ctx): Promise<View> {
  if (!ctx.isOwner) {
    return { page: 'operations', title: '運用', body: [notice('info', '運用の画面は、最高権限のユーザが使えます。')] };
  }
  const message = messageLine('operations-message');
  const content = h('div', { id: 'operations' });
  const act = (label: string, run: () => Promise<string>, cls = 'small') => redrawingButton(label, run, { message, redraw: async () => draw(await api.operatorAttention()), cls });

  const draw = (a: Attention) => content.replaceChildren(...sections(a));
  const sections = (a: Attention): HTMLElement[] => {

  const pause = a.mailPause
    ? notice('warning', `従業員へのメール送信を一時停止しています（${dateTime(a.mailPause.since)}、${a.mailPause.by ?? '不明'}）。登録依頼・リマインダー・差戻しのメールは再開まで送られません。`, ' ', act('送信を再開', async () => `送信を再開しました。待っていた ${(await api.setMailPause(false)).retried} 件を今すぐ再試行しています。`, 'primary'))
    : h('p', {}, '従業員へのメール送信は動いています。 ', act('送信を一時停止', async () => (await api.setMailPause(true), 'メール送信を一時停止しました。'), 'danger small'));

  const workflows = a.workflows.map((w) =>
    row(
      [
        w.name ? link(`#/registrants/${w.registrantId}`, w.name) : '（削除済み）',
        h('span', { class: `badge ${w.state === 'retrying' ? 'warning' : 'error'}` }, STATE_LABELS[w.state]),
        dateTime(w.since),
        w.steps === null
          ? 'ワークフローが応答しません（ワーカーの停止など）'
          : h('ul', { class: 'plain' }, ...w.steps.map((s) => h('li', {}, `${s.label}：${errorLabel(s.attention!.errorType)}、${s.attention!.rounds}回失敗、次は ${dateTime(s.attention!.retryAt ?? null)}`))),
        w.activities.length ? h('ul', { class: 'plain' }, ...w.activities.map((x) => h('li', {}, `${x.type} ${x.attempt}回目${x.lastFailure ? `・${x.lastFailure}` : ''}`))) : '—',
        w.state === 'retrying'
          ? act('今すぐ再試行', async () => (await api.retryNow(w.registrantId), `${w.name ?? ''} の処理を今すぐ再試行しています。`))
          : w.name
            ? act('復旧', async () => (await api.revive(w.registrantId), `${w.name} のワークフローをデータベースの状態から再開しました。`))
            : null,
      ],
      { 'data-registrant-id': w.registrantId },
    ),
  );
  const queued = a.startsQueued.map((q) => row([link(`#/registrants/${q.id}`, q.name), dateTime(q.since)]));
  const deliveries = a.webhookDeliveries.map((d) =>
    row(
      [d.event, h('code', {}, d.url), d.status === 'failed' ? '失敗（再試行終了）' : '再試行中', String(d.attempts), d.lastError ?? '—', dateTime(d.lastAttemptAt), act('再送', async () => ((await api.redeliver(d.id)).status === 'started' ? '再送を始めました。' : 'ワークフローサーバーが応答しないため、再送を予約しました。'))],
      { 'data-delivery-id': d.id },
    ),
  );
    return [
      h('section', { 'aria-labelledby': 'mail-heading' }, h('h2', { id: 'mail-heading' }, 'メール送信'), pause),
      section(
        'stuck-heading',
        '対応が必要なワークフロー',
        a.temporalUnavailable ? notice('warning', 'ワークフローサーバーに問い合わせできないため、ワークフローの一覧は表示できません。') : table('対応が必要なワークフロー', ['登録者', '状態', 'いつから', '失敗している処理', 'Temporal の再試行', '操作'], workflows, '対応が必要なワークフローはありません'),
      ),
      section('queued-heading', '開始待ちのワークフロー（自動で開始されます）', table('開始待ちのワークフロー', ['登録者', '登録日時'], queued, '開始待ちはありません')),
      section('deliveries-heading', '失敗している Webhook 配信', table('失敗している Webhook 配信', ['イベント', '送信先', '状態', '試行回数', '最後のエラー', '最後の試行', '操作'], deliveries, '失敗している配信はありません')),
    ];
  };
  draw(await api.operatorAttention());
  return { page: 'operations', title: '運用', body: [message, content] };
}
