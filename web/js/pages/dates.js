// A concert's dates, each with its prices (per grade) and places left, or why it cannot be chosen
// yet; a sold-out date offers its waiting list.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';
import { money, when, timeEl } from '../format.js';
import { session } from '../session.js';
import { api, cache, getConcert } from '../api.js';
import { loadFailed } from '../errors.js';
import { gradeName } from '../seatnames.js';
import { go, requireUser } from '../router.js';
import { drawPanel } from '../queue/draw.js';
import { rememberDate } from '../waitlist/dates.js';
import { waitlistPanel } from '../waitlist/join.js';

/** Until when the fan may book, once admitted (shown on the dates and the seat map). */
export function activeNote(cid) {
  const ticket = session.ticket(cid);
  if (ticket && ticket.status === 'ACTIVE' && ticket.activeUntil) {
    return h('p', { class: 'muted small' }, t('queue.activeUntil', { time: when(ticket.activeUntil) }));
  }
  return null;
}

/** A date's prices: each grade's, from the dearest, or the one price. */
function prices(s) {
  const grades = Array.isArray(s.grades) ? [...s.grades].sort((a, b) => b.price - a.price) : [];
  if (grades.length < 2) return money(s.price);
  return grades.map((g) => `${gradeName(g.code, g.name)} ${money(g.price)}`).join(' · ');
}

export async function pageDates(ctx, main, [cid]) {
  if (!requireUser()) return;
  const token = session.queueToken(cid);
  if (!token) { go(`#/concerts/${cid}/queue`, { replace: true }); return; }
  const sub = h('p', { class: 'muted' }, cache.concerts.get(cid)?.title || '');
  main.append(heading(t('dates.title')), sub, activeNote(cid));
  getConcert(cid).then((c) => { if (ctx.alive()) sub.textContent = c.title; }).catch(() => {});
  const list = h('ul', { class: 'dates', 'aria-label': t('dates.list'), 'aria-busy': 'true' }, h('li', { class: 'muted' }, t('loading')));
  main.append(list);
  // Let in from the pre-queue: where the draw put the fan, and how to check it (under the dates,
  // so its late arrival moves nothing the fan may be about to press).
  const ticketId = session.ticket(cid)?.ticketId;
  if (ticketId && session.drawnTicket(cid) === ticketId) main.append(drawPanel(ctx, cid, ticketId));
  let items;
  try {
    ({ items } = await api('GET', `/concerts/${encodeURIComponent(cid)}/schedules`, { queue: token }));
  } catch (e) { loadFailed(ctx, list, e, { concertId: cid }); return; }
  if (!ctx.alive()) return;
  list.removeAttribute('aria-busy');
  list.replaceChildren();
  if (!items.length) list.append(h('li', { class: 'muted' }, t('dates.empty')));
  const now = Date.now();
  for (const s of items) {
    cache.schedules.set(s.id, s);
    let action;
    if (s.bookable) {
      action = h('a', {
        class: 'button primary', href: `#/concerts/${cid}/schedules/${s.id}`,
        'aria-label': `${t('dates.choose')}: ${when(s.startsAt)}`,
      }, t('dates.choose'));
    } else {
      let reason = t('dates.unavailable');
      if (s.availableSeats <= 0) reason = t('dates.soldOut');
      else if (now < Date.parse(s.bookingOpensAt)) reason = t('dates.notOpen', { time: when(s.bookingOpensAt) });
      else if (now >= Date.parse(s.bookingClosesAt)) reason = t('dates.closed');
      action = h('button', { type: 'button', class: 'button', disabled: true }, reason);
    }
    const card = h('li', { class: `date-card${s.bookable ? '' : ' date-card--off'}`, 'data-schedule': s.id },
      h('div', null,
        h('h2', null, timeEl(s.startsAt)),
        h('p', null, prices(s), ' · ', t('dates.seatsLeft', { n: s.availableSeats.toLocaleString(), total: s.seatCount.toLocaleString() }))),
      action);
    list.append(card);
    rememberDate(s);
    const open = now >= Date.parse(s.bookingOpensAt) && now < Date.parse(s.bookingClosesAt);
    if (s.availableSeats <= 0 && open) card.append(...waitlistToggle(ctx, cid, s));
  }
}

/** A sold-out date's "Join the waiting list": opens the date's join panel under it. */
function waitlistToggle(ctx, cid, s) {
  const id = `waitlist-${s.id}`;
  const slot = h('div', { class: 'date-waitlist', id, hidden: true });
  const btn = h('button', { type: 'button', class: 'button primary wl-open', 'aria-expanded': 'false', 'aria-controls': id,
    'aria-label': `${t('wl.join')}: ${when(s.startsAt)}`,
  }, t('wl.join'));
  btn.addEventListener('click', () => {
    const opening = slot.hidden;
    if (opening && !slot.firstChild) slot.append(waitlistPanel(ctx, { concertId: cid, dates: [{ ...s, concertId: cid }], level: 3 }));
    slot.hidden = !opening;
    btn.setAttribute('aria-expanded', String(opening));
  });
  return [btn, slot];
}
