/**
 * 連携アプリ (README "Payroll integration"): the payroll packages that read registrants and pull
 * numbers through the API. Owners register one (name, scopes, the purposes it may pull numbers for,
 * an optional IP allowlist) and get its client id and secret — the secret shown this once only — and
 * can stop one at once. Owners and managers see the list and the webhooks the connectors subscribed
 * through the API, with their deliveries; owners may end a subscription. Viewers see none of it.
 */
import { api, type Schemas } from '../api';
import type { Ctx } from '../context';
import { dateTime, PURPOSE_LABELS, SCOPE_LABELS, WEBHOOK_EVENT_LABELS } from '../labels';
import { actionButton, field, form, h, input, messageLine, notice, row, say, showError, table, text, textarea, type View } from '../ui';
import { checkboxGroup, confirmDialog, copyButton } from './shared-admin';

type Connector = Schemas['Connector'];
type Webhook = Schemas['Webhook'];
type Delivery = Schemas['WebhookDelivery'];
type Scope = Schemas['ConnectorScope'];
type Purpose = Schemas['Purpose'];

const DELIVERY_LABELS: Record<Delivery['status'], string> = { pending: '配信待ち（再試行中）', delivered: '配信済み', failed: '失敗（再試行終了）', cancelled: '取消' };
const SCOPES = Object.keys(SCOPE_LABELS) as Scope[];

export async function connectorsScreen(ctx: Ctx): Promise<View> {
  if (!ctx.canEdit) {
    return {
      page: 'connectors',
      title: '連携アプリ',
      body: [notice('info', '連携アプリの設定は、最高権限または管理担当者のユーザが確認できます。閲覧のみの権限では表示できません。')],
    };
  }
  const [connectors, webhooks, tenant] = await Promise.all([api.connectors(), api.webhooks(), api.tenant()]);
  const message = messageLine('connectors-message');
  const listHolder = h('div', { id: 'connectors' });
  const hooksHolder = h('div', { id: 'webhooks' });
  const deliveriesHolder = h('div', { id: 'deliveries' });
  const created = h('div', { id: 'connector-created' });
  let known = connectors;

  const drawConnectors = (list: Connector[]) => {
    known = list;
    const rows = list.map((c) =>
      row(
        [
          c.name,
          h('code', {}, c.clientId),
          h('ul', { class: 'plain' }, ...c.scopes.map((s) => h('li', {}, SCOPE_LABELS[s]))),
          c.allowedPurposes.length ? h('ul', { class: 'plain' }, ...c.allowedPurposes.map((p) => h('li', {}, PURPOSE_LABELS[p]))) : '—',
          c.ipAllowlist.length ? h('ul', { class: 'plain' }, ...c.ipAllowlist.map((ip) => h('li', {}, ip))) : '制限なし',
          dateTime(c.lastUsedAt),
          c.revokedAt ? h('span', { class: 'badge revoked' }, `停止（${dateTime(c.revokedAt)}）`) : h('span', { class: 'badge active' }, '有効'),
          ...(ctx.isOwner ? [c.revokedAt ? null : h('button', { type: 'button', class: 'danger small', onclick: () => void revoke(c) }, '停止')] : []),
        ],
        { 'data-connector-id': c.id },
      ),
    );
    listHolder.replaceChildren(
      table('連携アプリ一覧', ['名前', 'クライアントID', '権限', '取得できる利用目的', '接続元IPアドレス', '最終利用', '状態', ...(ctx.isOwner ? ['操作'] : [])], rows, '連携アプリはまだ登録されていません'),
    );
  };

  const connectorName = (id: string) => known.find((c) => c.id === id)?.name ?? '（不明な連携アプリ）';
  const drawWebhooks = (list: Webhook[]) => {
    const rows = list.map((w) =>
      row(
        [
          h('code', {}, w.url),
          w.events.map((e) => WEBHOOK_EVENT_LABELS[e]).join('、'),
          connectorName(w.connectorId),
          dateTime(w.createdAt),
          h(
            'div',
            { class: 'buttons' },
            actionButton('配信履歴', () => showDeliveries(w), 'secondary small'),
            ctx.isOwner ? h('button', { type: 'button', class: 'danger small', onclick: () => void removeWebhook(w) }, '削除') : null,
          ),
        ],
        { 'data-webhook-id': w.id },
      ),
    );
    hooksHolder.replaceChildren(table('Webhook一覧', ['通知先URL', 'イベント', '連携アプリ', '登録日時', '操作'], rows, 'Webhookはまだ登録されていません'));
  };

  const showDeliveries = async (w: Webhook) => {
    try {
      const list = await api.webhookDeliveries(w.id);
      const rows = list.map((d: Delivery) =>
        row([
          dateTime(d.createdAt),
          WEBHOOK_EVENT_LABELS[d.event],
          h('span', { class: `badge delivery-${d.status}` }, DELIVERY_LABELS[d.status]),
          `${d.attempts}回`,
          dateTime(d.lastAttemptAt),
          d.lastStatusCode === null ? '—' : String(d.lastStatusCode),
          d.lastError,
        ]),
      );
      deliveriesHolder.replaceChildren(
        h('h3', { id: 'deliveries-title', tabindex: -1 }, `配信履歴：${w.url}`),
        h('p', { class: 'hint' }, '新しい順に最大100件。失敗した配信は間隔を空けて自動で再試行されます。'),
        table('配信履歴', ['発生日時', 'イベント', '状態', '試行回数', '最終試行', '最終応答コード', '最終エラー'], rows, 'まだ配信はありません'),
      );
      deliveriesHolder.querySelector('h3')?.focus();
    } catch (err) {
      showError(message, err);
    }
  };

  const revoke = async (c: Connector) => {
    const ok = await confirmDialog(
      '連携アプリの停止',
      [`「${c.name}」を停止しますか？`, '発行済みのトークンはすぐに使えなくなり、このクライアントIDとシークレットでは二度と接続できません。元に戻すことはできません（再開するには新しく登録してください）。'],
      '停止する',
    );
    if (!ok) return;
    try {
      await api.revokeConnector(c.id);
      drawConnectors(await api.connectors());
      say(message, `「${c.name}」を停止しました。`, 'ok');
    } catch (err) {
      showError(message, err);
    }
  };

  const removeWebhook = async (w: Webhook) => {
    const ok = await confirmDialog('Webhookの削除', [`通知先 ${w.url} への通知を終了しますか？`, '配信待ちの通知は取り消されます。連携アプリからもう一度登録されるまで通知されません。'], '削除する');
    if (!ok) return;
    try {
      await api.deleteWebhook(w.id);
      drawWebhooks(await api.webhooks());
      deliveriesHolder.replaceChildren();
      say(message, `Webhook（${w.url}）を削除しました。`, 'ok');
    } catch (err) {
      showError(message, err);
    }
  };

  const createForm = ctx.isOwner
    ? form(
        [
          field('名前', input('name', { maxlength: 100, autocomplete: 'off', placeholder: '給与計算ソフト' }), { required: true, hint: 'どのソフト・どの用途の連携かが分かる名前にします。' }),
          checkboxGroup('scopes', '権限', SCOPES.map((s) => [s, SCOPE_LABELS[s]]), ['registrants:read'], '必要な権限だけを選んでください。'),
          tenant.purposes.length
            ? checkboxGroup('allowedPurposes', '取得できる利用目的', tenant.purposes.map((p) => [p, PURPOSE_LABELS[p]]), [], '「マイナンバーの取得」を選んだ場合は1つ以上選びます（契約者情報の利用目的から選べます）。')
            : notice('warning', '契約者情報に利用目的が設定されていないため、マイナンバーの取得は許可できません。'),
          field('接続元IPアドレスの制限', textarea('ipAllowlist', { rows: 3, placeholder: '203.0.113.10\n198.51.100.0/24' }), {
            hint: '1行に1つ、IPアドレスまたはCIDR形式で入力します（50件まで）。空欄ならどこからでも接続できます。',
          }),
        ],
        '登録する',
        async (data, msg) => {
          const name = text(data, 'name');
          const scopes = data.getAll('scopes').map(String) as Scope[];
          const allowedPurposes = data.getAll('allowedPurposes').map(String) as Purpose[];
          const ipAllowlist = text(data, 'ipAllowlist')
            .split(/\r?\n/)
            .map((s) => s.trim())
            .filter(Boolean);
          if (!name) return say(msg, '名前を入力してください');
          if (!scopes.length) return say(msg, '権限を1つ以上選んでください');
          if (scopes.includes('numbers:pull') && !allowedPurposes.length) return say(msg, 'マイナンバーの取得を許可する場合は、取得できる利用目的を1つ以上選んでください');
          const c = await api.createConnector({ name, scopes, allowedPurposes, ipAllowlist });
          createForm!.reset();
          showSecret(c.name, c.clientId, c.clientSecret);
          drawConnectors(await api.connectors());
        },
        { id: 'connector-new' },
      )
    : null;

  /** The secret, this once: it is stored hashed and never shown again. */
  const showSecret = (name: string, clientId: string, secret: string) => {
    const copyMsg = messageLine('secret-copy-message');
    created.replaceChildren(
      h(
        'div',
        { class: 'box warning secret-box', role: 'alert' },
        h('p', {}, h('strong', {}, `「${name}」を登録しました。クライアントシークレットは今だけ表示されます。`)),
        h('p', {}, 'この画面を離れると二度と表示できません。今すぐコピーして、給与ソフトの設定など安全な場所に保管してください。分からなくなった場合は、この連携アプリを停止して新しく登録してください。'),
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'クライアントID'),
          h('dd', {}, h('code', { id: 'new-client-id', class: 'secret' }, clientId), ' ', copyButton(() => clientId, 'IDをコピー', copyMsg)),
          h('dt', {}, 'クライアントシークレット'),
          h('dd', {}, h('code', { id: 'new-client-secret', class: 'secret' }, secret), ' ', copyButton(() => secret, 'シークレットをコピー', copyMsg)),
        ),
        copyMsg,
        h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'secondary', onclick: () => created.replaceChildren() }, '保管したので閉じる')),
      ),
    );
    created.querySelector('code')?.scrollIntoView({ block: 'center' });
  };

  drawConnectors(connectors);
  drawWebhooks(webhooks);
  return {
    page: 'connectors',
    title: '連携アプリ',
    body: [
      h(
        'p',
        {},
        '給与計算ソフトなどが、APIで登録者を参照したり、源泉徴収票の作成時にマイナンバーを取得したりするための設定です。連携アプリごとにクライアントIDとシークレットを発行し、OAuth 2.0（client credentials）でトークンを取得して接続します。仕様は ',
        h('a', { href: '/docs/', target: '_blank', rel: 'noopener' }, 'APIドキュメント'),
        ' をご覧ください。',
      ),
      ctx.isOwner ? null : notice('info', '連携アプリの登録・停止とWebhookの削除は、最高権限のユーザだけができます。'),
      message,
      created,
      h('section', { 'aria-labelledby': 'connectors-title' }, h('h2', { id: 'connectors-title' }, '連携アプリ一覧'), listHolder),
      createForm ? h('section', { 'aria-labelledby': 'connector-new-title' }, h('h2', { id: 'connector-new-title' }, '連携アプリの登録'), createForm) : null,
      h(
        'section',
        { 'aria-labelledby': 'webhooks-title' },
        h('h2', { id: 'webhooks-title' }, 'Webhook（通知先）'),
        h('p', {}, 'Webhookは、連携アプリがAPI（POST /v1/webhooks）で登録します。この画面からは登録できません。承認・差戻し・削除のときに、登録されたURLへ通知されます（マイナンバーや氏名は通知されません）。'),
        hooksHolder,
        deliveriesHolder,
      ),
    ],
  };
}
