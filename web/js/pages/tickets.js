// My tickets: the fan's reservations, newest first, paged, each with its seats, total and status.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';
import { money, when, timeEl } from '../format.js';
import { api, cache, getConcert, effectiveStatus } from '../api.js';
import { fail, loadFailed } from '../errors.js';
import { requireUser } from '../router.js';
import { reservationSeats, seatTable } from '../seatnames.js';

export async function pageTickets(ctx, main) {
  if (!requireUser()) return;
  main.append(heading(t('tickets.title')));
  const list = h('ul', { class: 'cards tickets', 'aria-busy': 'true' }, h('li', { class: 'muted' }, t('loading')));
  const more = h('button', { type: 'button', class: 'button', hidden: true }, t('tickets.more'));
  main.append(list, more);
  let cursor = null;
  let first = true;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api('GET', `/reservations?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      await Promise.all([...new Set(page.items.map((r) => r.concertId))].map((id) => getConcert(id).catch(() => null)));
      if (!ctx.alive()) return;
      if (first) { list.replaceChildren(); list.removeAttribute('aria-busy'); first = false; }
      for (const r of page.items) list.append(ticketCard(r));
      if (!list.children.length) list.append(h('li', { class: 'muted' }, t('tickets.empty')));
      cursor = page.nextCursor || null;
      more.hidden = !cursor;
    } catch (e) {
      if (first) loadFailed(ctx, list, e); else fail(ctx, e);
    } finally { more.disabled = false; }
  };
  more.addEventListener('click', load);
  await load();
}

function ticketCard(r) {
  const st = effectiveStatus(r);
  const concert = cache.concerts.get(r.concertId);
  const schedule = cache.schedules.get(r.scheduleId);
  const marks = { HELD: '◔', CONFIRMED: '✓', CANCELLED: '–', EXPIRED: '⌛' };
  let detail = t('tickets.createdAt', { time: when(r.createdAt) });
  if (st === 'CONFIRMED' && r.confirmedAt) detail = t('tickets.confirmedAt', { time: when(r.confirmedAt) });
  if (st === 'HELD') detail = t('tickets.heldUntil', { time: when(r.heldUntil) });
  return h('li', { class: `card ticket-card ticket-card--${st.toLowerCase()}`, 'data-reservation': r.id, 'data-status': st },
    h('div', null,
      h('h2', null, concert ? concert.title : t('tickets.unknownConcert')),
      h('p', null, schedule ? [timeEl(schedule.startsAt), ' · '] : null, t('tickets.total', { total: money(r.price), n: reservationSeats(r).length })),
      seatTable(r),
      h('p', { class: 'muted small' }, detail)),
    h('div', { class: 'ticket-side' },
      h('p', { class: `status status--${st.toLowerCase()}` }, h('span', { 'aria-hidden': 'true' }, `${marks[st] || ''} `), t(`tickets.status.${st}`)),
      st === 'HELD' ? h('a', { class: 'button primary small', href: `#/reservations/${r.id}` }, t('tickets.pay')) : null));
}
