/**
 * The HR console (issue 6). One page; the fragment names the screen. The session is the API's
 * httpOnly cookie: GET /v1/auth/me says who is logged in (or 401: the login screen), and every
 * screen draws itself from the API. A 401 on any screen (session ended elsewhere, timed out) brings the
 * login back without losing the address, so the screen reopens after logging in.
 */
import { api, ApiError, type Me } from './api';
import type { Ctx, Screen } from './context';
import { ROLE_LABELS } from './labels';
import { loginScreen, passwordResetScreen, customerNumberScreen } from './pages/login';
import { homeScreen } from './pages/home';
import { registrantListScreen } from './pages/registrant-list';
import { registrantScreen } from './pages/registrant';
import { addScreen, bulkEntryScreen, quickAddScreen } from './pages/add';
import { csvDownloadScreen, csvUploadScreen } from './pages/csv';
import { groupsScreen } from './pages/groups';
import { loginUsersScreen } from './pages/login-users';
import { securityScreen } from './pages/security';
import { settingsScreen } from './pages/settings';
import { historyScreen } from './pages/history';
import { connectorsScreen } from './pages/connectors';
import { operationsScreen } from './pages/operations';
import { emailConfirmationScreen } from './pages/email-confirmation';
import { currentRoute, href } from './router';
import { h, notice, show, type View } from './ui';

const root = document.getElementById('app') as HTMLElement;
let me: Me | null = null;
/** Each draw gets a number: an answer arriving after a newer navigation is dropped. */
let draws = 0;

interface NavItem {
  screen: string;
  label: string;
  editorsOnly?: boolean;
  ownersOnly?: boolean;
}
const NAV: NavItem[] = [
  { screen: '', label: 'HOME' },
  { screen: 'registrants', label: 'マイナンバー管理' },
  { screen: 'add', label: '新規追加', editorsOnly: true },
  { screen: 'bulk', label: '複数一括登録', editorsOnly: true },
  { screen: 'quick-add', label: 'スマホで収集', editorsOnly: true },
  { screen: 'csv-upload', label: 'CSVアップロード', editorsOnly: true },
  { screen: 'csv-download', label: 'CSVダウンロード' },
  { screen: 'groups', label: 'グループ管理' },
  { screen: 'history', label: '操作履歴' },
  { screen: 'users', label: 'ログインユーザ' },
  { screen: 'settings', label: '契約者情報' },
  { screen: 'connectors', label: '連携アプリ' },
  { screen: 'operations', label: '運用', ownersOnly: true },
  { screen: 'security', label: 'セキュリティ' },
];

const SCREENS: Record<string, Screen> = {
  '': homeScreen,
  registrants: (ctx) => (ctx.params.length ? registrantScreen(ctx) : registrantListScreen(ctx)),
  add: addScreen,
  bulk: bulkEntryScreen,
  'quick-add': quickAddScreen,
  'csv-upload': csvUploadScreen,
  'csv-download': csvDownloadScreen,
  groups: groupsScreen,
  history: historyScreen,
  users: loginUsersScreen,
  settings: settingsScreen,
  connectors: connectorsScreen,
  operations: operationsScreen,
  security: securityScreen,
};

/** Screens for people who are not logged in. */
const PUBLIC: Record<string, () => View> = {
  'password-reset': passwordResetScreen,
  'customer-number': customerNumberScreen,
  'email-confirmation': emailConfirmationScreen,
};
/** Public screens that a logged-in person may open too (the link mailed to a new address). */
const ANYONE = new Set(['email-confirmation']);

let drawn = 0;

function layout(view: View, screen: string): void {
  root.dataset.page = view.page;
  // Counts finished draws: tests (and assistive tools) can tell a fresh screen from the last one.
  root.dataset.draw = String(++drawn);
  document.title = `${view.title}｜mynaflow マイナンバー管理`;
  const heading = h('h1', { tabindex: -1 }, view.title);
  if (!me) {
    show(root, h('div', { class: 'public' }, h('p', { class: 'brand' }, 'mynaflow マイナンバー管理'), heading, ...view.body));
  } else {
    const canEdit = me.user.role !== 'viewer';
    // On a tablet or phone the menu folds behind this button (CSS shows it there only).
    const menuList = h(
      'ul',
      { id: 'menu-list' },
      ...NAV.filter((n) => (canEdit || !n.editorsOnly) && (me!.user.role === 'owner' || !n.ownersOnly)).map((n) =>
        h('li', {}, h('a', { href: href(n.screen), 'aria-current': n.screen === screen ? 'page' : null }, n.label)),
      ),
    );
    const menu = h('nav', { class: 'menu', 'aria-label': 'メニュー' }, menuList);
    const toggle = h('button', { type: 'button', class: 'menu-toggle secondary small', 'aria-expanded': 'false', 'aria-controls': 'menu-list' }, 'メニュー');
    toggle.addEventListener('click', () => {
      const open = menu.classList.toggle('open');
      toggle.setAttribute('aria-expanded', String(open));
    });
    show(
      root,
      h('a', { href: '#main', class: 'skip' }, '本文へ移動'),
      h(
        'header',
        { class: 'top' },
        h('p', { class: 'brand' }, h('a', { href: '#/' }, 'mynaflow')),
        toggle,
        h('p', { class: 'tenant' }, me.tenant.name),
        h(
          'p',
          { class: 'user' },
          `${me.user.name}（${ROLE_LABELS[me.user.role]}）`,
          h('button', { type: 'button', class: 'link', id: 'logout', onclick: logOut }, 'ログアウト'),
        ),
      ),
      me.tenant.sandbox
        ? h('p', { class: 'sandbox-banner', role: 'note' }, 'サンドボックス（試験用の会社）です。マイナンバーは 9999 で始まる架空の番号だけを登録できます。本物の番号は入力しないでください')
        : null,
      menu,
      h('main', { id: 'main' }, heading, ...view.body),
    );
  }
  window.scrollTo(0, 0);
  heading.focus({ preventScroll: true });
}

async function logOut(): Promise<void> {
  try {
    await api.logout();
  } catch {
    // the session may already be gone; the login screen is right either way
  }
  me = null;
  location.hash = '#/';
  void draw();
}

function loggedOut(message?: string): void {
  const route = currentRoute();
  const publicScreen = PUBLIC[route.parts[0] ?? ''];
  if (publicScreen) return layout(publicScreen(), route.parts[0]!);
  layout(
    loginScreen({
      message,
      loggedIn: (who) => {
        me = who;
        void draw();
      },
    }),
    'login',
  );
}

async function draw(): Promise<void> {
  const n = ++draws;
  const route = currentRoute();
  if (!me) {
    try {
      me = await api.me();
    } catch (err) {
      if (n !== draws) return;
      if (err instanceof ApiError && err.status === 401) return loggedOut();
      return layout({ page: 'unavailable', title: 'ただいま表示できません', body: [notice('error', ...(err instanceof ApiError ? err.messages : ['表示できませんでした'])), h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, '再読み込み')] }, '');
    }
  }
  const [name = '', ...params] = route.parts;
  const screen = SCREENS[name];
  if (PUBLIC[name] && ANYONE.has(name)) return layout(PUBLIC[name](), name);
  if (PUBLIC[name]) {
    location.hash = '#/';
    return;
  }
  const ctx: Ctx = {
    me,
    canEdit: me.user.role !== 'viewer',
    isOwner: me.user.role === 'owner',
    params,
    query: route.query,
    redraw: () => void draw(),
    setMe: (m) => {
      me = m;
    },
  };
  let view: View;
  try {
    view = screen ? await screen(ctx) : { page: 'not-found', title: 'ページが見つかりません', body: [h('p', {}, 'アドレスをご確認ください。'), h('a', { href: '#/' }, 'HOMEへ')] };
  } catch (err) {
    if (n !== draws) return;
    if (err instanceof ApiError && err.status === 401) {
      me = null;
      return loggedOut('ログインの有効期限が切れました。もう一度ログインしてください。');
    }
    view = {
      page: err instanceof ApiError && err.status === 404 ? 'not-found' : 'error',
      title: err instanceof ApiError && err.status === 404 ? '見つかりません' : '表示できませんでした',
      body: [notice('error', ...(err instanceof ApiError ? err.messages : ['表示できませんでした。再読み込みしてください'])), h('a', { href: '#/' }, 'HOMEへ')],
    };
    if (!(err instanceof ApiError)) console.error(err);
  }
  if (n !== draws) return;
  layout(view, name);
}

window.addEventListener('hashchange', () => void draw());
void draw();
