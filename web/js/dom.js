// Small DOM helpers shared by every page: element building, page headings, screen-reader news.

export const $ = (sel) => document.querySelector(sel);

/** An element with attributes (`class`, `on<event>` listeners, boolean and plain ones) and children. */
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

/** A page's h1; focusable so that navigation can move focus to it. */
export function heading(text) { return h('h1', { tabindex: '-1' }, text); }

/** Say something to screen-reader users without showing it. */
export function announce(text) {
  const live = $('#live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 50);
}
