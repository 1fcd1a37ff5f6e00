// The notice area under the header: one sentence at a time (an error or news), optionally held
// back until the next page is shown.
import { t } from './i18n.js';
import { $, h } from './dom.js';

let pendingFlash = null;

/** Show a sentence in the notice area; with flash, show it after the next navigation instead. */
export function notify(text, kind = 'error', { flash = false } = {}) {
  if (flash) { pendingFlash = { text, kind }; return; }
  const box = $('#notice');
  box.replaceChildren(h('div', { class: `notice notice--${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('p', { class: 'notice-text' }, text),
    h('button', { type: 'button', class: 'notice-close', 'aria-label': t('dismiss'), onclick: clearNotice }, '×')));
}

export function clearNotice() { $('#notice').replaceChildren(); }

/** On a new page: drop the last page's notice and show the one held back for this page, if any. */
export function freshNotices() {
  clearNotice();
  if (pendingFlash) { notify(pendingFlash.text, pendingFlash.kind); pendingFlash = null; }
}
