/**
 * A few lines of DOM building instead of a framework. Text always goes in as text nodes (names and
 * HR's remand reason come from people), never as HTML.
 */
type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | number | null | undefined | ((ev: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replaces what an element shows. */
export function show(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A message line under a field or a button: role=alert for errors, role=status otherwise. */
export function messageLine(id: string): HTMLParagraphElement {
  return h('p', { id, class: 'message', 'aria-live': 'polite' });
}

export function say(el: HTMLElement, text: string | string[], kind: 'error' | 'ok' | 'info' = 'error'): void {
  const lines = Array.isArray(text) ? text : [text];
  el.className = `message ${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  show(el, ...lines.flatMap((l, i) => (i ? [h('br'), l] : [l])));
}

export function unsay(el: HTMLElement): void {
  el.className = 'message';
  el.removeAttribute('role');
  el.replaceChildren();
}

/** A button that shows it is busy while its action runs, so a double tap does not act twice. */
export function actionButton(label: string, action: () => Promise<void>, cls = 'primary'): HTMLButtonElement {
  const button = h('button', { type: 'button', class: cls }, label);
  button.addEventListener('click', async () => {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await action();
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
  return button;
}

/**
 * What makes a My Number input on the phone pages and in the console alike: the numeric keyboard,
 * no autocomplete, autocorrect, capitals or spell check, 20 characters at most.
 */
export const NUMBER_INPUT_ATTRS = { inputmode: 'numeric', autocomplete: 'off', autocorrect: 'off', autocapitalize: 'off', spellcheck: 'false', maxlength: 20 } as const;
