/**
 * The employee's registration pages, opened from the invitation link /i/#k={token} (issue 6). The
 * token is read from this page's own address (its fragment, which no server sees; the older
 * /i/{token} too) and posted to the API; it goes into no other URL.
 * Steps live in the address's fragment (#profile, #number-doc, …) through history.pushState, so the
 * phone's back button moves between steps; each step is drawn from a fresh GET /v1/registration.
 */
import { api, ApiError, setCsrf, type LinkInfo, type Registration } from './api';
import { dayWithWeekday } from '../../services/dates/day-text';
import { actionButton, h, messageLine, say, show, unsay } from '../shared/dom';
import { releasePreviews } from './fields';
import { INVITATION_PAGE, invitationUrl, tokenInAddress } from '../../shared/invitation-link';
import QRCode from 'qrcode';
import { PAPER_CODE_LENGTH, typedPaperCode } from '../../shared/paper-code';
import {
  dependentDeleteStep,
  dependentFormStep,
  dependentsStep,
  firstOpenStep,
  identityDocumentStep,
  numberDocumentStep,
  profileStep,
  reviewStep,
  statusPage,
  type Ctx,
  type StepKey,
  type View,
} from './steps';

const root = document.getElementById('app') as HTMLElement;
const LINK_KEY = 'mynaflow.registration.link';
/**
 * The link's token: from the opened address (then kept in this tab's session storage and taken out
 * of the address bar and the history entry), or, after a reload, from the session storage.
 */
let token = (() => {
  const opened = tokenInAddress(location);
  if (opened === undefined) return sessionStorage.getItem(LINK_KEY) ?? '';
  sessionStorage.setItem(LINK_KEY, opened);
  history.replaceState(null, '', INVITATION_PAGE);
  return opened;
})();

/**
 * A link opened in this tab while the page is open changes only the fragment (no new page load):
 * the new token is kept and the page starts again with it. True when that happens.
 */
function newLinkOpened(): boolean {
  if (!location.hash.startsWith('#k=')) return false;
  sessionStorage.setItem(LINK_KEY, tokenInAddress(location) ?? '');
  history.replaceState(null, '', INVITATION_PAGE);
  location.reload();
  return true;
}

let link: LinkInfo | null = null;
let loggedIn = false;
/** Each draw gets a number: an answer arriving after a newer navigation is dropped. */
let draws = 0;

const route = () => decodeURIComponent(location.hash.replace(/^#/, ''));
/** Each history entry of this page carries its position, so a cancelled back (or forward) can be undone exactly. */
let position = 0;
const setRoute = (r: string, replace: boolean) => {
  if (!replace) position += 1;
  history[replace ? 'replaceState' : 'pushState']({ position }, '', `${location.pathname}${location.search}${r ? `#${r}` : ''}`);
};

/**
 * Typed but not saved yet on the step shown: leaving by the back button asks first, and a reload or
 * closing the tab gets the browser's own warning. Nothing typed is kept in the browser itself.
 */
let unsaved = false;
const TYPED = 'input[type=text], input[type=password], input[type=date], input[type=tel], input[type=email], input:not([type]), textarea';
const LEAVE_TEXT = '入力した内容はまだ保存されていません。このページを離れると失われます。移動しますか？';

/** The journey's steps, each with a short name (a payee has no dependents). */
const STEPS: [StepKey, string][] = [
  ['profile', 'マイナンバー'],
  ['number-doc', '番号確認書類'],
  ['identity-doc', '本人確認書類'],
  ['dependents', '扶養家族'],
  ['review', '確認・送信'],
];

/** 「ステップ 2 / 5」 and the steps named, the current one marked for screen readers too. */
function progress(step: StepKey, dependentsAllowed: boolean): HTMLElement {
  const steps = STEPS.filter(([k]) => dependentsAllowed || k !== 'dependents');
  const at = steps.findIndex(([k]) => k === step);
  return h(
    'nav',
    { class: 'progress', 'aria-label': '登録の進み具合' },
    h('p', { class: 'progress-count' }, `ステップ ${at + 1} / ${steps.length}`),
    h('ol', {}, ...steps.map(([, label], i) => h('li', { class: i < at ? 'done' : i === at ? 'current' : '', ...(i === at ? { 'aria-current': 'step' } : {}) }, label))),
  );
}

function draw(view: View, person: { familyName: string; givenName: string; email: string | null; companyName: string; submissionDueDate?: string | null; dependentsAllowed?: boolean; sandbox?: boolean } | null): void {
  unsaved = false;
  root.dataset.page = view.page;
  const count = view.step ? `（ステップ ${STEPS.filter(([k]) => person?.dependentsAllowed !== false || k !== 'dependents').findIndex(([k]) => k === view.step) + 1}）` : '';
  document.title = `${view.title}${count}｜マイナンバー登録`;
  const heading = h('h1', { tabindex: -1 }, view.title);
  show(
    root,
    h(
      'header',
      { class: 'top' },
      person?.sandbox ? h('p', { class: 'sandbox', role: 'note' }, '試験用の会社（サンドボックス）です。マイナンバーは 9999 で始まる架空の番号だけを入力できます。本物の番号は入力しないでください') : null,
      person ? h('p', { class: 'company' }, person.companyName) : null,
      person ? h('p', { class: 'person' }, `${person.familyName} ${person.givenName} 様`, person.email ? h('span', { class: 'email' }, person.email) : null) : null,
      person?.submissionDueDate ? h('p', { class: 'due', id: 'submission-due' }, `提出期限：${dayWithWeekday(person.submissionDueDate)}まで`) : null,
      loggedIn ? actionButton('ログアウト', logOut, 'link logout') : null,
    ),
    view.step ? progress(view.step, person?.dependentsAllowed !== false) : null,
    heading,
    ...view.body,
    loggedIn && person ? consentsFooter() : null,
  );
  window.scrollTo(0, 0);
  heading.focus({ preventScroll: true });
}

/** 同意した利用目的: what the person agreed to and when, read when they open it. */
function consentsFooter(): HTMLElement {
  const list = h('ul', { id: 'my-consents' });
  const box = h('details', { class: 'consents' }, h('summary', {}, '同意した利用目的を見る'), list);
  box.addEventListener('toggle', () => {
    if (!(box as HTMLDetailsElement).open || list.childElementCount) return;
    list.append(h('li', {}, '読み込んでいます…'));
    const when = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'long', timeStyle: 'short' });
    api.consents().then(
      (cs) => list.replaceChildren(...(cs.length ? cs.map((c) => h('li', {}, `${c.label}（${when.format(new Date(c.consentedAt))} に同意）`)) : [h('li', {}, 'まだ同意していません')])),
      () => list.replaceChildren(h('li', {}, '表示できませんでした。しばらくしてからもう一度開いてください')),
    );
  });
  return h('footer', { class: 'consents-footer' }, box);
}

// ----------------------------------------------------------------- pages without a session

/** The link's own answer decides: expired, replaced, unknown, locked after approval. */
function linkProblemPage(err: unknown): void {
  const code = err instanceof ApiError ? err.code : undefined;
  const apiSays = err instanceof ApiError ? err.messages : [];
  const pages: Record<string, View> = {
    LINK_EXPIRED: { page: 'link-expired', title: 'リンクの有効期限が切れています', body: [h('p', { class: 'box warning' }, ...apiSays), h('p', {}, '登録用のリンクは、メールが送られてから90日間有効です。会社のマイナンバー担当者に、登録依頼メールの再送を依頼してください。')] },
    LINK_REVOKED: { page: 'link-revoked', title: 'このリンクは使えなくなりました', body: [h('p', { class: 'box warning' }, ...apiSays), h('p', {}, '登録依頼メールが再送されると、それより前のリンクは使えなくなります。いちばん新しいメールのリンクを開いてください。')] },
    // After approval: what the employee needs to hear is that they are done, not a warning.
    LOGIN_LOCKED: { page: 'locked', title: '登録は完了しています', body: [h('p', { class: 'box ok' }, '担当者による確認（承認）が終わり、マイナンバーの登録は完了しています。'), h('p', {}, '登録内容を変更する場合は、会社のマイナンバー担当者にロックの解除を依頼してください（情報の改ざんを防ぐため、承認後はこのリンクからログインできません）。')] },
    LOGIN_BLOCKED: { page: 'blocked', title: 'しばらくログインできません', body: [h('p', { class: 'box warning' }, ...apiSays)] },
  };
  // A link that no longer works may be an older one this tab kept: a 登録依頼書's code can be typed instead.
  const typeCode = h('p', {}, h('button', { type: 'button', class: 'link', id: 'type-code-instead', onclick: enterCodeInstead }, '登録依頼書の登録コードを入力する'));
  for (const k of ['LINK_EXPIRED', 'LINK_REVOKED'] as const) pages[k]!.body.push(typeCode);
  if (code && pages[code]) return draw(pages[code], null);
  if (err instanceof ApiError && (err.status === 0 || err.status === 429 || err.status >= 500)) {
    return draw({ page: 'unavailable', title: 'ただいま表示できません', body: [h('p', { class: 'box warning' }, ...apiSays), h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, '再読み込み')] }, null);
  }
  draw({ page: 'link-invalid', title: 'このリンクは無効です', body: [h('p', { class: 'box warning' }, 'このリンクは無効です。届いたメールのリンクを、もう一度開いてください。'), h('p', {}, 'リンクが途中で切れていないかご確認ください。解決しない場合は、会社のマイナンバー担当者にお問い合わせください。'), typeCode] }, null);
}

/** The link this tab kept is forgotten and the code is asked for. */
function enterCodeInstead(): void {
  sessionStorage.removeItem(LINK_KEY);
  token = '';
  link = null;
  codeEntryPage();
}

/** After a successful setup or login: the step to resume at. */
async function enter(csrf: string): Promise<void> {
  setCsrf(csrf);
  loggedIn = true;
  if (link) link.firstVisit = false;
  const reg = await api.get();
  const here = route();
  const target = reg.status === 'remanded' || !isStep(here) ? firstOpenStep(reg) : here;
  setRoute(reg.editable ? target : 'done', true);
  await render();
}

function loginProblem(err: unknown, msg: HTMLElement, fields: { password?: HTMLElement; passcode?: HTMLElement }): void {
  if (!(err instanceof ApiError)) return say(msg, 'ログインできませんでした');
  switch (err.code) {
    case 'LINK_EXPIRED':
    case 'LINK_REVOKED':
    case 'LINK_INVALID':
    case 'LOGIN_LOCKED':
    case 'LOGIN_BLOCKED':
      return linkProblemPage(err);
    // Said once: under its field when there is one (the form's own line otherwise).
    case 'PASSCODE_INCORRECT':
      return say(fields.passcode ?? msg, err.messages);
    case 'PASSWORD_INCORRECT':
    case 'WEAK_PASSWORD':
      return say(fields.password ?? msg, err.messages);
    case 'ALREADY_SET_UP':
    case 'SETUP_REQUIRED':
      if (link) link.firstVisit = err.code === 'SETUP_REQUIRED';
      accessPage(err.messages.join(''));
      return;
    default:
      say(msg, err.messages);
  }
}

/** A password (or passcode) field with a show/hide switch; its error goes as soon as it is typed in again. */
function passwordInput(id: string, label: string, autocomplete: string) {
  const input = h('input', { type: 'password', id, name: id, autocomplete, maxlength: 128, 'aria-describedby': `${id}-message` });
  const message = messageLine(`${id}-message`);
  input.addEventListener('input', () => unsay(message));
  const toggle = h('button', { type: 'button', class: 'link reveal', id: `${id}-reveal`, 'aria-controls': id, 'aria-pressed': 'false' }, '表示する');
  toggle.addEventListener('click', () => {
    const shown = input.type === 'password';
    input.type = shown ? 'text' : 'password';
    toggle.setAttribute('aria-pressed', String(shown));
    toggle.textContent = shown ? '隠す' : '表示する';
  });
  return { input, message, el: h('div', { class: 'field' }, h('label', { for: id }, label), h('div', { class: 'with-reveal' }, input, toggle), message) };
}

/** First visit (own password, company passcode, consent) or a later one (password). */
/**
 * Opened on a computer: the same link as a QR code, to go on with the phone's camera (the documents
 * are photographed there). It is the person's own link, so it is said not to show it around.
 */
function phoneHandOff(): HTMLElement | null {
  if (!token || !window.matchMedia('(hover: hover) and (pointer: fine)').matches) return null;
  const holder = h('div', { class: 'qr', id: 'phone-qr', role: 'img', 'aria-label': 'この登録用リンクのQRコード' });
  QRCode.toString(invitationUrl(location.origin, token), { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }).then(
    (svg) => {
      const el = new DOMParser().parseFromString(svg, 'image/svg+xml').documentElement;
      el.setAttribute('aria-hidden', 'true');
      holder.replaceChildren(document.importNode(el, true));
    },
    () => holder.replaceChildren(h('p', {}, 'QRコードを表示できませんでした。メールのリンクをスマートフォンで開いてください。')),
  );
  return h(
    'section',
    { class: 'box info hand-off', id: 'phone-hand-off', 'aria-labelledby': 'phone-hand-off-title' },
    h('h2', { id: 'phone-hand-off-title' }, 'スマートフォンで続ける'),
    h('p', {}, '書類はスマートフォンのカメラで撮影すると簡単です。スマートフォンのカメラでこのQRコードを読み取ると、この画面の続きをスマートフォンで開けます。このままパソコンで登録することもできます。'),
    holder,
    h('p', { class: 'note' }, 'このQRコードには、あなた専用の登録用リンクが入っています。ほかの人に見せたり、撮影させたりしないでください。'),
  );
}

function accessPage(notice?: string): void {
  if (!link) return;
  const info = link;
  const msg = messageLine('access-message');
  if (notice) say(msg, notice, 'info');
  if (!info.firstVisit) {
    const pw = passwordInput('password', 'パスワード', 'current-password');
    const logIn = async () => {
      unsay(pw.message);
      if (!pw.input.value) return say(pw.message, 'パスワードを入力してください');
      try {
        const started = await api.logIn({ token, password: pw.input.value });
        pw.input.value = '';
        await enter(started.csrfToken);
      } catch (err) {
        loginProblem(err, msg, { password: pw.message });
      }
    };
    return draw(
      {
        page: 'login',
        title: 'ログイン',
        body: [
          h('p', {}, 'はじめてのログインで設定したパスワードを入力してください。'),
          h('form', { novalidate: true, onsubmit: (e) => (e.preventDefault(), void logIn()) }, pw.el, msg, h('div', { class: 'nav' }, actionButton('ログイン', logIn))),
          h('p', { class: 'note' }, 'パスワードを忘れた場合は、会社のマイナンバー担当者にパスワードの初期化を依頼してください。初期化のあとにこのリンクを開き直すと、パスワードを設定し直せます（入力済みの内容は残ります）。'),
          phoneHandOff(),
        ],
      },
      info,
    );
  }

  const pw = passwordInput('password', 'パスワード', 'new-password');
  const pw2 = passwordInput('password-confirmation', 'パスワード確認', 'new-password');
  const passcode = info.passcodeRequired ? passwordInput('passcode', '企業パスコード', 'off') : null;
  const setUp = async () => {
    for (const m of [pw.message, pw2.message, passcode?.message, msg]) if (m) unsay(m);
    const problems: [HTMLElement, string][] = [];
    if ([...pw.input.value].length < 8) problems.push([pw.message, 'パスワードは8文字以上で入力してください']);
    else if (pw.input.value !== pw2.input.value) problems.push([pw2.message, '確認用のパスワードが一致しません']);
    if (passcode && !passcode.input.value) problems.push([passcode.message, '企業パスコードを入力してください']);
    for (const [where, text] of problems) say(where, text);
    if (problems.length) return;
    try {
      const started = await api.setUp({ token, password: pw.input.value, passcode: passcode?.input.value, consentedPurposes: info.purposes.map((p) => p.code) });
      pw.input.value = pw2.input.value = '';
      if (passcode) passcode.input.value = '';
      await enter(started.csrfToken);
    } catch (err) {
      loginProblem(err, msg, { password: pw.message, passcode: passcode?.message });
    }
  };
  draw(
    {
      page: 'setup',
      title: 'はじめてのログイン',
      body: [
        // What is coming first: the steps and what to have at hand, before anything is asked.
        h(
          'section',
          { class: 'box info', id: 'what-is-coming', 'aria-labelledby': 'what-is-coming-title' },
          h('h2', { id: 'what-is-coming-title' }, 'これからの流れ（スマートフォンで5分ほど）'),
          h('ol', {}, h('li', {}, 'パスワードの設定と、利用目的への同意'), h('li', {}, 'マイナンバーの入力'), h('li', {}, '書類の撮影（マイナンバーカード、またはマイナンバーの分かる書類と本人確認書類）'), h('li', {}, '扶養家族がいる場合は、その方のマイナンバーの入力'), h('li', {}, '内容を確認して、会社に提出')),
          h('p', {}, 'ご用意いただくもの：マイナンバーカード（ない場合は、マイナンバーの記載された住民票の写し、または記載事項が住民票と同じ通知カードと、運転免許証などの本人確認書類）。扶養家族のマイナンバー。'),
        ),
        phoneHandOff(),
        h('p', {}, 'ご自身のログインパスワードを設定してください（8文字以上）。次回からは、このパスワードでログインします。'),
        h(
          'form',
          { novalidate: true, onsubmit: (e) => (e.preventDefault(), void setUp()) },
          pw.el,
          pw2.el,
          passcode
            ? h(
                'div',
                {},
                h('p', {}, '企業パスコードを入力してください。ご不明な場合は、所属会社のマイナンバー担当者にお問い合わせください。'),
                passcode.el,
                h('details', { class: 'help' }, h('summary', {}, 'パスコードとは？'), h('p', {}, 'パスコードは会社を識別するための独自のコードです。メールの誤送信などの際に、不正なログインを防ぎます。')),
              )
            : null,
          // The purposes before the button that accepts them.
          h(
            'section',
            { class: 'purposes', id: 'purposes' },
            h('p', {}, '貴殿および貴殿の配偶者と扶養親族等の個人番号を以下の目的で利用いたします'),
            h('ol', {}, info.purposes.map((p) => h('li', { 'data-purpose': p.code }, p.label))),
          ),
          msg,
          h('div', { class: 'nav' }, actionButton('上記の利用目的に同意してログイン', setUp)),
        ),
      ],
    },
    info,
  );
}

/**
 * The page opened without a link (/i/ typed from a 登録依頼書): its 登録コード is the link's token.
 * A code that is not one is said at the field and tried nowhere; a wrong one too (the check is the
 * link's own, rate-limited like every link).
 */
function codeEntryPage(): void {
  const input = h('input', { type: 'text', id: 'registration-code', name: 'registration-code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', inputmode: 'text', maxlength: 40, placeholder: '例：7KQ3-M9XD-4TPA-2HWN', 'aria-describedby': 'registration-code-message' });
  const message = messageLine('registration-code-message');
  input.addEventListener('input', () => unsay(message));
  const open = async () => {
    unsay(message);
    const code = typedPaperCode(input.value);
    if (!code) return say(message, `登録コードは、登録依頼書に印刷された英数字${PAPER_CODE_LENGTH}文字です（ハイフンは入力しなくてもかまいません）`);
    try {
      link = await api.link(code);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'LINK_INVALID') return say(message, '登録コードが違います。登録依頼書の登録コードをもう一度ご確認ください');
      return linkProblemPage(err);
    }
    token = code;
    sessionStorage.setItem(LINK_KEY, code);
    await carryOn();
  };
  draw(
    {
      page: 'code-entry',
      title: '登録コードの入力',
      body: [
        h('p', {}, '会社から受け取った「マイナンバー登録のお願い」（登録依頼書）に印刷されている登録コードを入力してください。QRコードを読み取れる場合は、QRコードから開くこともできます。'),
        h(
          'form',
          { novalidate: true, onsubmit: (e) => (e.preventDefault(), void open()) },
          h('div', { class: 'field' }, h('label', { for: 'registration-code' }, '登録コード'), input, message),
          h('div', { class: 'nav' }, actionButton('次へ', open)),
        ),
        h('p', { class: 'note' }, 'メールで届いた登録用リンクは、メールのリンクをそのまま開いてください。登録依頼書がない場合は、会社のマイナンバー担当者にお問い合わせください。'),
      ],
    },
    null,
  );
}

// ------------------------------------------------------------------------- the steps, routed

const STEP = /^(profile|number-doc|identity-doc|dependents|review|done|dependent\/new|dependent\/[0-9a-f-]{36}(\/(number-doc|identity-doc|delete))?)$/;
const isStep = (r: string) => STEP.test(r);

function viewFor(r: string, ctx: Ctx): View | null {
  const dep = /^dependent\/([0-9a-f-]{36})(?:\/(.+))?$/.exec(r);
  if (dep) {
    const [, id, sub] = dep as unknown as [string, string, string | undefined];
    if (sub === 'number-doc') return numberDocumentStep(ctx, id);
    if (sub === 'identity-doc') return identityDocumentStep(ctx, id);
    if (sub === 'delete') return dependentDeleteStep(ctx, id);
    return dependentFormStep(ctx, id);
  }
  switch (r) {
    case 'profile':
      return profileStep(ctx);
    case 'number-doc':
      return numberDocumentStep(ctx, null);
    case 'identity-doc':
      return identityDocumentStep(ctx, null);
    case 'dependents':
      return ctx.reg.dependentsAllowed ? dependentsStep(ctx) : null;
    case 'dependent/new':
      return ctx.reg.dependentsAllowed ? dependentFormStep(ctx, null) : null;
    case 'review':
      return reviewStep(ctx);
    default:
      return null;
  }
}

function context(reg: Registration): Ctx {
  return {
    reg,
    go(r, opts = {}) {
      setRoute(r, opts.replace ?? false);
      void render();
    },
    redraw(fresh) {
      drawStep(fresh);
    },
    fail(err, where) {
      if (err instanceof ApiError && err.status === 401) {
        loggedIn = false;
        return accessPage('ログインの有効期限が切れました。もう一度ログインしてください。入力済みの内容は保存されています。');
      }
      if (err instanceof ApiError && (err.status === 409 || err.status === 403)) {
        // HR acted meanwhile, the link died, or the page's token is stale: draw what is true now.
        say(where, err.messages);
        setTimeout(() => void render(), 1500);
        return;
      }
      say(where, err instanceof ApiError ? err.messages : '処理できませんでした。もう一度お試しください');
    },
  };
}

/** A purpose the company added after the first visit: asked before anything else, like the first ones. */
function consentPage(reg: Registration): View {
  const msg = messageLine('consent-message');
  const agree = async () => {
    try {
      const next = await api.consent(reg.consentsMissing.map((p) => p.code));
      drawStep(next);
    } catch (err) {
      context(reg).fail(err, msg);
    }
  };
  return {
    page: 'consent',
    title: '利用目的への同意',
    body: [
      h('p', {}, `${reg.companyName}は、マイナンバーを利用する目的に次の事務を追加しました。内容をご確認のうえ、同意してください。`),
      h('ul', { class: 'purposes' }, ...reg.consentsMissing.map((p) => h('li', {}, p.label))),
      msg,
      h('div', { class: 'nav' }, actionButton('上記の利用目的に同意して続ける', agree)),
      h('p', { class: 'note' }, '同意しない場合は、会社のマイナンバー担当者にご相談ください。'),
    ],
  };
}

function drawStep(reg: Registration): void {
  releasePreviews();
  if (reg.consentsMissing.length) return draw(consentPage(reg), reg);
  if (!reg.editable) {
    if (route() !== 'done') setRoute('done', true);
    return draw(statusPage(reg), reg);
  }
  const ctx = context(reg);
  let view = viewFor(route(), ctx);
  if (!view) {
    // Nothing to show there (a dependent deleted meanwhile, an unknown step): the nearest step that is.
    for (const target of [route().startsWith('dependent/') ? 'dependents' : firstOpenStep(reg), 'review']) {
      view = viewFor(target, ctx);
      if (!view) continue;
      setRoute(target, true);
      break;
    }
    view ??= reviewStep(ctx);
  }
  draw(view, reg);
}

async function render(): Promise<void> {
  const n = ++draws;
  if (!loggedIn) return accessPage();
  let reg: Registration;
  try {
    reg = await api.get();
  } catch (err) {
    if (n !== draws) return;
    if (err instanceof ApiError && err.status === 401) {
      loggedIn = false;
      return accessPage('ログインの有効期限が切れました。もう一度ログインしてください。入力済みの内容は保存されています。');
    }
    return linkProblemPage(err);
  }
  if (n !== draws) return;
  drawStep(reg);
}

async function logOut(): Promise<void> {
  await api.logOut().catch(() => undefined);
  loggedIn = false;
  setRoute('', true);
  accessPage('ログアウトしました。');
}

async function boot(): Promise<void> {
  position = (history.state as { position?: number } | null)?.position ?? 0; // a reload keeps its place in the history
  root.addEventListener('input', (ev) => {
    if (loggedIn && ev.target instanceof Element && ev.target.matches(TYPED)) unsaved = true;
  });
  let undoing = false;
  window.addEventListener('hashchange', () => void newLinkOpened());
  window.addEventListener('popstate', (ev) => {
    if (newLinkOpened()) return;
    const to = (ev.state as { position?: number } | null)?.position ?? 0;
    if (undoing) {
      undoing = false; // the browser is back where the person chose to stay
      return;
    }
    if (unsaved && !window.confirm(LEAVE_TEXT)) {
      // Stay: move the history back by as many entries as the browser moved, keeping back and forward intact.
      undoing = true;
      history.go(position - to);
      return;
    }
    position = to;
    void render();
  });
  window.addEventListener('beforeunload', (ev) => {
    if (unsaved) ev.preventDefault();
  });
  if (!token) return codeEntryPage();
  try {
    link = await api.link(token);
  } catch (err) {
    return linkProblemPage(err);
  }
  await carryOn();
}

/** With the link's answer: a live session of the same person goes on, anyone else logs in. */
async function carryOn(): Promise<void> {
  if (!link) return;
  // Back on this page with a live session of the same person (reload, back button): carry on.
  try {
    const reg = await api.get();
    loggedIn = reg.email === link.email && reg.familyName === link.familyName && reg.givenName === link.givenName;
  } catch {
    loggedIn = false;
  }
  await render();
}

void boot();
