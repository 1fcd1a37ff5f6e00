// My tickets: the fan's reservations, newest first, paged, each with its concert, date, venue,
// booking reference, seats, total and status; paid ones with a QR code per place and a refund.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';
import { money, when, timeEl } from '../format.js';
import { api, effectiveStatus } from '../api.js';
import { fail, loadFailed } from '../errors.js';
import { requireUser } from '../router.js';
import { reservationSeats, seatTable } from '../seatnames.js';
import { ticketCodes, refundControl } from '../tickets/passes.js';

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
  const marks = { HELD: '◔', CONFIRMED: '✓', CANCELLED: '–', EXPIRED: '⌛', REFUNDED: '↩' };
  let detail = t('tickets.createdAt', { time: when(r.createdAt) });
  if (st === 'CONFIRMED' && r.confirmedAt) detail = t('tickets.confirmedAt', { time: when(r.confirmedAt) });
  if (st === 'HELD') detail = t('tickets.heldUntil', { time: when(r.heldUntil) });
  if (st === 'REFUNDED' && r.refund) detail = t('tickets.refundedDetail', { amount: money(r.refund.amount), fee: money(r.refund.fee) });
  const card = h('li', { class: `card ticket-card ticket-card--${st.toLowerCase()}`, 'data-reservation': r.id, 'data-status': st },
    h('div', null,
      h('h2', null, r.title || t('tickets.unknownConcert')),
      h('p', null, r.startsAt ? [timeEl(r.startsAt)] : null, r.venue ? ` · ${r.venue}` : null),
      h('p', { class: 'booking-ref' }, t('tickets.bookingRef'), ' ', h('strong', null, r.bookingRef)),
      h('p', null, t('tickets.total', { total: money(r.price), n: reservationSeats(r).length })),
      seatTable(r),
      h('p', { class: 'muted small detail' }, detail),
      st === 'CONFIRMED' ? ticketCodes(r) : null),
    h('div', { class: 'ticket-side' },
      h('p', { class: `status status--${st.toLowerCase()}` }, h('span', { 'aria-hidden': 'true' }, `${marks[st] || ''} `), t(`tickets.status.${st}`)),
      st === 'HELD' ? h('a', { class: 'button primary small', href: `#/reservations/${r.id}` }, t('tickets.pay')) : null,
      st === 'CONFIRMED' ? refundControl(r, (refunded, balance) => {
        const next = ticketCard(refunded);
        if (balance !== null) next.querySelector('.detail').after(h('p', { class: 'new-balance', role: 'status' }, t('tickets.newBalance', { balance: money(balance) })));
        card.replaceWith(next);
      }) : null));
  return card;
}
