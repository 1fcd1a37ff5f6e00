// The concert list and one concert's page, where a signed-in fan joins the line (or the
// pre-queue before the on-sale time), or learns it is sold out and may join a date's waiting list.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';
import { when, timeEl } from '../format.js';
import { session } from '../session.js';
import { api, cache, getConcert, notFound } from '../api.js';
import { loadFailed } from '../errors.js';
import { joinQueue } from './queue.js';
import { waitlistPanel } from '../waitlist/join.js';

export async function pageConcerts(ctx, main) {
  main.append(heading(t('concerts.title')));
  const list = h('ul', { class: 'cards', 'aria-busy': 'true' }, h('li', { class: 'muted' }, t('loading')));
  main.append(list);
  let items;
  try { ({ items } = await api('GET', '/concerts', { auth: false })); } catch (e) { loadFailed(ctx, list, e); return; }
  if (!ctx.alive()) return;
  list.removeAttribute('aria-busy');
  list.replaceChildren();
  if (!items.length) list.append(h('li', { class: 'muted' }, t('concerts.empty')));
  for (const c of items) {
    cache.concerts.set(c.id, c);
    list.append(h('li', { class: 'card' }, h('a', { class: 'card-link', href: `#/concerts/${c.id}` },
      h('h2', null, c.title),
      h('p', { class: 'performer' }, c.performer),
      h('p', { class: 'muted' }, c.venue || t('concert.venueTbd')),
      saleTag(c))));
  }
}

const upcoming = (c) => !!c.onSaleAt && Date.parse(c.onSaleAt) > Date.now();

/** "Sold out", or "On sale <time>" before the on-sale time; null otherwise. */
function saleTag(c) {
  if (c.soldOut) return h('p', { class: 'tag tag--sold-out' }, t('concert.soldOut'));
  if (upcoming(c)) return h('p', { class: 'tag' }, t('concert.onSale', { time: when(c.onSaleAt) }));
  return null;
}

export async function pageConcert(ctx, main, [cid]) {
  const h1 = heading(cache.concerts.get(cid)?.title || t('loading'));
  main.append(h1);
  let c;
  try { c = await getConcert(cid, { fresh: true }); } catch (e) {
    const box = h('div');
    main.append(box);
    if (notFound(e, 'CONCERT_NOT_FOUND')) h1.textContent = t('notfound.title');
    loadFailed(ctx, box, e);
    return;
  }
  if (!ctx.alive()) return;
  h1.textContent = c.title;
  main.append(h('p', { class: 'performer' }, c.performer), h('p', { class: 'muted' }, c.venue || t('concert.venueTbd')));
  const box = h('section', { class: 'panel' });
  main.append(box);
  if (c.soldOut) {
    // Nothing left to sell: no line to join, but a waiting list for a place that comes back.
    box.classList.add('panel--sold-out');
    box.append(h('p', { class: 'tag tag--sold-out', id: 'sold-out-badge' }, t('concert.soldOut')), h('p', null, t('concert.soldOutBody')));
    main.append(waitlistPanel(ctx, { concertId: cid }));
    return;
  }
  if (upcoming(c)) box.append(h('p', { class: 'onsale-at', id: 'concert-onsale' }, t('concert.onSaleLead'), ' ', timeEl(c.onSaleAt)));
  if (!session.apiKey) {
    box.append(h('p', null, t('concert.signinFirst')),
      h('a', { class: 'button primary', href: `#/account?next=${encodeURIComponent(`#/concerts/${cid}`)}` }, t('concert.signinButton')));
    return;
  }
  const btn = h('button', { type: 'button', class: 'button primary', id: 'get-tickets' },
    session.queueToken(cid) ? t('concert.continueQueue') : t('concert.getTickets'));
  btn.addEventListener('click', () => joinQueue(ctx, cid, btn));
  box.append(h('p', null, upcoming(c) ? t('concert.howPre') : t('concert.how')), btn);
}
