// A live list of the fan's waiting-list entries: one card per entry, kept up to date by polling
// GET /waitlist while the page is shown, so an offer appears by itself.
import { errorText } from '../i18n.js';
import { h } from '../dom.js';
import { api } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { entryCard } from './entry.js';

export const POLL_MS = 2000;

/**
 * Cards for the entries `pick` keeps (all when absent), newest first as the API lists them.
 * Returns {el, set(items), add(entry), size()}.
 */
export function entryList(ctx, { pick = () => true, level = 'h2' } = {}) {
  const el = h('ul', { class: 'wl-list' });
  const cards = new Map();
  const place = (entry, atTop) => {
    let card = cards.get(entry.id);
    if (card) { card.update(entry); return; }
    card = entryCard(ctx, entry, { level });
    cards.set(entry.id, card);
    const li = h('li', null, card.el);
    if (atTop) el.prepend(li); else el.append(li);
  };
  return {
    el,
    // Entries come newest first: a list's first answer is drawn in order, later news goes on top.
    set(items) {
      const later = cards.size > 0;
      for (const e of (later ? [...items].reverse() : items)) if (cards.has(e.id) || pick(e)) place(e, later);
    },
    add(entry) { place(entry, true); },
    size: () => cards.size,
  };
}

// One poll per shown page, however many lists on it listen (the dates page may show several).
const pollers = new WeakMap();

/**
 * Give each answer of GET /waitlist, polled every POLL_MS until the page goes, to `onItems`.
 * A failed poll says why once and keeps trying; a lost sign-in goes to the account page.
 */
export function pollWaitlist(ctx, onItems) {
  const known = pollers.get(ctx);
  if (known) { known.push(onItems); return; }
  const listeners = [onItems];
  pollers.set(ctx, listeners);
  let timer = null;
  let told = false;
  const poll = async () => {
    timer = null;
    try {
      const { items } = await api('GET', '/waitlist');
      if (!ctx.alive()) return;
      told = false;
      for (const fn of listeners) fn(items);
    } catch (e) {
      if (!ctx.alive()) return;
      if (e.code === 'UNAUTHORIZED') { fail(ctx, e); return; }
      if (!told) { told = true; notify(errorText(e.code), 'error'); }
    }
    if (ctx.alive()) timer = setTimeout(poll, POLL_MS);
  };
  timer = setTimeout(poll, POLL_MS);
  ctx.onCleanup(() => { if (timer) clearTimeout(timer); });
}
