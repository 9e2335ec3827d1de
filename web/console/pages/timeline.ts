/**
 * 経過 on a registrant's page: what comes next (the workflow's timers, a failing step marked as
 * retrying) and what happened (the lifecycle's history, each mail asked for and whether the mail
 * server took it, the employee's unsaved answers) — from GET /v1/registrants/{id}/timeline.
 */
import { api, type Schemas } from '../api';
import type { Ctx } from '../context';
import { dateTime } from '../labels';
import { h, messageLine, notice, redrawingButton, row, table } from '../ui';

type Timeline = Schemas['Timeline'];

const MAIL_LABELS: Record<Timeline['mails'][number]['kind'], string> = { invitation: '登録依頼メール', reminder: 'リマインダー', remand: '差戻しメール', receipt: '提出の受付メール', approval: '登録完了のメール' };
const ACTOR_LABELS: Record<Timeline['past'][number]['actor']['type'], string> = { login_user: '', registrant: '本人', api_client: '連携アプリ', system: 'システム' };

function mailLine(m: Timeline['mails'][number]): [string, string, string] {
  const what = `${MAIL_LABELS[m.kind]}${m.kind === 'reminder' ? ` ${m.reminder ?? ''} 回目` : ''}${m.round ? `（${m.round}回目の依頼）` : ''}`;
  if (m.status === 'sent') return [m.sentAt ?? m.askedAt, `${what}をメールサーバーが受け付けました`, 'システム'];
  if (m.status === 'rejected') return [m.askedAt, `${what}はメールサーバーに拒否されました（宛先を確認してください）`, 'システム'];
  return [m.askedAt, `${what}を送信中（メールサーバーが受け付けていません）`, 'システム'];
}

/** Extension offered from the timeline: a month more (at most a new link's 90 days from now). */
const EXTEND_DAYS = 30;
const MAX_LINK_DAYS = 90;
const DAY_MS = 86_400_000;

/** What HR (and owners, for a retrying step) can do about an upcoming step, from its row. */
function actionsFor(u: NonNullable<Timeline['upcoming']>[number], registrantId: string, ctx: Ctx, message: HTMLElement, reload: () => Promise<void>): HTMLElement | string {
  const act = (label: string, run: () => Promise<string>) => redrawingButton(label, run, { message, redraw: reload });
  if (u.attention && ctx.isOwner) return act('今すぐ再試行', async () => (await api.retryNow(registrantId), '今すぐ再試行しています。'));
  if (!ctx.canEdit || u.attention) return '';
  if (u.kind === 'reminder') return act('今すぐ送信', async () => (await api.remindNow(registrantId), 'リマインダーを送信しました。'));
  // Offered when it gains a day at least (a link is valid at most 90 days from now).
  if (u.kind === 'link-expiry' && Date.parse(u.at) < Date.now() + (MAX_LINK_DAYS - 1) * DAY_MS) return act(`${EXTEND_DAYS}日延長`, async () => (await api.extendLink(registrantId, EXTEND_DAYS), '登録用リンクの期限を延長しました。'));
  if (u.kind === 'retirement' || u.kind === 'deletion' || u.kind === 'deletion-notice') return h('button', { type: 'button', class: 'link small', onclick: () => document.getElementById('retention')?.scrollIntoView() }, '日付を変更');
  return '';
}

function upcomingTable(t: Timeline, registrantId: string, ctx: Ctx, message: HTMLElement, reload: () => Promise<void>): HTMLElement {
  if (t.workflow === 'unavailable') return notice('warning', 'ワークフローに問い合わせできないため、今後の予定を表示できません。しばらくしてから再度表示してください。');
  if (t.workflow === 'starting') return notice('info', 'ワークフローを開始しています。まもなく今後の予定が表示されます。');
  if (t.workflow === 'ended') return h('p', {}, '今後の予定はありません（ワークフローは終了しています）。');
  const rows = (t.upcoming ?? []).map((u) =>
    row([
      dateTime(u.attention?.retryAt ?? u.at),
      u.label,
      u.attention ? h('span', { class: 'badge warning' }, `再試行中（${u.attention.rounds}回失敗・${u.attention.errorType}、${dateTime(u.attention.since)}から）`) : '予定',
      actionsFor(u, registrantId, ctx, message, reload),
    ]),
  );
  return table('今後の予定', ['日時', '内容', '状態', '操作'], rows, '今後の予定はありません');
}

function pastTable(t: Timeline): HTMLElement {
  const lines: [string, string, string][] = [
    ...t.past.map((e): [string, string, string] => [e.at, e.reason ? `${e.label}（理由：${e.reason}）` : e.label, e.actor.type === 'login_user' ? e.actor.label : ACTOR_LABELS[e.actor.type]]),
    ...t.mails.map(mailLine),
    ...(t.draftSavedAt ? [[t.draftSavedAt, '本人が入力途中の内容を保存（未提出）', '本人'] as [string, string, string]] : []),
  ].sort((a, b) => Date.parse(b[0]) - Date.parse(a[0]));
  return table('これまでの経過', ['日時', '内容', '実施者'], lines.map(([at, what, who]) => row([dateTime(at), what, who])), 'まだ経過はありません');
}

/** The section, filled in once the timeline has loaded. */
export function timelineSection(registrantId: string, ctx: Ctx): HTMLElement {
  const body = h('div', { id: 'timeline' }, h('p', {}, '読み込んでいます…'));
  const message = messageLine('timeline-message');
  const draw = (t: Timeline) => body.replaceChildren(h('h3', {}, '今後の予定'), message, upcomingTable(t, registrantId, ctx, message, reload), h('h3', {}, 'これまでの経過（新しい順）'), pastTable(t));
  const reload = async () => draw(await api.timeline(registrantId));
  reload().catch(() => body.replaceChildren(notice('warning', '経過を表示できませんでした。')));
  return h('section', { 'aria-labelledby': 'timeline-heading' }, h('h2', { id: 'timeline-heading' }, '経過'), body);
}
