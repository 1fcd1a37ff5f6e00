// The concert list and one concert's page, where a signed-in fan joins the line.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';
import { session } from '../session.js';
import { api, cache, getConcert, notFound } from '../api.js';
import { loadFailed } from '../errors.js';
import { joinQueue } from './queue.js';

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
      h('p', { class: 'muted' }, c.venue || t('concert.venueTbd')))));
  }
}

export async function pageConcert(ctx, main, [cid]) {
  const h1 = heading(cache.concerts.get(cid)?.title || t('loading'));
  main.append(h1);
  let c;
  try { c = await getConcert(cid); } catch (e) {
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
  if (!session.apiKey) {
    box.append(h('p', null, t('concert.signinFirst')),
      h('a', { class: 'button primary', href: `#/account?next=${encodeURIComponent(`#/concerts/${cid}`)}` }, t('concert.signinButton')));
    return;
  }
  const btn = h('button', { type: 'button', class: 'button primary', id: 'get-tickets' },
    session.queueToken(cid) ? t('concert.continueQueue') : t('concert.getTickets'));
  btn.addEventListener('click', () => joinQueue(ctx, cid, btn));
  box.append(h('p', null, t('concert.how')), btn);
}
