// My waiting list: the fan's entries, newest first, each with its place in the list or the offer to
// pay (countdown, top-up, Pay), polled while the page is open so an offer appears by itself.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';
import { api } from '../api.js';
import { loadFailed } from '../errors.js';
import { requireUser } from '../router.js';
import { findDates } from '../waitlist/dates.js';
import { entryList, pollWaitlist } from '../waitlist/list.js';

export async function pageWaitlist(ctx, main) {
  if (!requireUser()) return;
  main.append(heading(t('wl.title')), h('p', { class: 'muted' }, t('wl.intro')));
  const box = h('div', { id: 'waitlist', 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('loading')));
  main.append(box);
  let items;
  try {
    ({ items } = await api('GET', '/waitlist'));
    // Entries joined in another browser: find their dates before drawing the cards.
    await findDates(items.map((e) => e.scheduleId)).catch(() => {});
  } catch (e) { loadFailed(ctx, box, e); return; }
  if (!ctx.alive()) return;
  box.removeAttribute('aria-busy');
  const list = entryList(ctx);
  const empty = h('p', { class: 'muted wl-empty' }, t('wl.empty'));
  const show = (all) => {
    list.set(all);
    empty.hidden = list.size() > 0;
  };
  box.replaceChildren(list.el, empty);
  show(items);
  pollWaitlist(ctx, show);
}
