// One waiting-list entry as the fan sees it: the concert and date, how many places of which grade,
// where it stands (place in the list, an offer to pay, paid, ran out, left), and leaving the list.
import { t, errorText } from '../i18n.js';
import { h, announce } from '../dom.js';
import { when } from '../format.js';
import { session } from '../session.js';
import { api, cache, getConcert, effectiveStatus } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { gradeName, reservationSeats, shortNames } from '../seatnames.js';
import { knownDate } from './dates.js';
import { offerView } from './offer.js';

/** An entry's status as the fan sees it: an offer paid is FULFILLED, one past its time EXPIRED. */
export function entryStatus(e) {
  if (e.status === 'OFFERED' && e.offer) {
    const st = effectiveStatus(e.offer);
    if (st === 'CONFIRMED') return 'FULFILLED';
    if (st !== 'HELD') return 'EXPIRED';
  }
  return e.status;
}

/** Still waiting, or holding an offer to pay. */
export const isLive = (e) => ['WAITING', 'OFFERED'].includes(entryStatus(e));

const MARKS = { WAITING: '◔', OFFERED: '★', FULFILLED: '✓', EXPIRED: '⌛', CANCELLED: '–' };

/** "2 tickets · Any grade" of an entry. */
function wants(e, date) {
  const grades = new Map(((date && date.grades) || []).map((g) => [g.code, g.name]));
  const n = e.quantity === 1 ? t('wl.tickets1') : t('wl.tickets', { n: e.quantity });
  return `${n} · ${e.grade ? gradeName(e.grade, grades.get(e.grade)) : t('wl.anyGrade')}`;
}

/**
 * The card of entry `first`; `level` is its heading's. Returns {el, update(entry)}: an update with
 * the same status only moves the position, so a countdown or a payment under way is left alone.
 */
export function entryCard(ctx, first, { level = 'h2' } = {}) {
  let entry = first;
  let shown = null;
  let offer = null;
  const title = h(level, { class: 'wl-title' });
  const whenEl = h('p', { class: 'wl-when' });
  const statusEl = h('p', { class: 'status wl-status', tabindex: '-1' });
  const body = h('div', { class: 'wl-body' });
  const actions = h('div', { class: 'actions' });
  const el = h('article', { class: 'wl-entry', 'data-entry': first.id }, title, whenEl, statusEl, body, actions);

  const name = () => {
    const date = knownDate(entry.scheduleId);
    const cid = (date && date.concertId) || (entry.offer && entry.offer.concertId);
    const concert = cid && cache.concerts.get(cid);
    title.textContent = concert ? concert.title : t('tickets.unknownConcert');
    if (cid && !concert) getConcert(cid).then((c) => { if (ctx.alive()) title.textContent = c.title; }).catch(() => {});
    whenEl.textContent = date && date.startsAt ? `${when(date.startsAt)} · ${wants(entry, date)}` : wants(entry, date);
  };

  const leave = (label) => {
    const btn = h('button', { type: 'button', class: 'button wl-leave' }, label);
    btn.addEventListener('click', async () => {
      if (btn.disabled) return;
      btn.disabled = true;
      btn.textContent = t('wl.leaving');
      try {
        const left = await api('DELETE', `/waitlist/${encodeURIComponent(entry.id)}`);
        if (!ctx.alive()) return;
        notify(t('wl.left'), 'info');
        update(left);
      } catch (e) {
        if (!ctx.alive()) return;
        btn.disabled = false;
        btn.textContent = label;
        if (e.code === 'WAITLIST_ENTRY_NOT_FOUND') notify(errorText(e.code), 'error'); // ended meanwhile: the next poll shows how
        else fail(ctx, e);
      }
    });
    return btn;
  };

  const position = () => {
    const n = Number(entry.position) || 1;
    const p = h('span', { class: 'wl-position', 'data-position': String(n) }, t('wl.position', { n }));
    statusEl.replaceChildren(h('span', { 'aria-hidden': 'true' }, `${MARKS.WAITING} `), p);
  };

  const render = (st) => {
    if (offer) { offer.stop(); offer = null; }
    const hadFocus = el.contains(document.activeElement);
    el.dataset.status = st;
    el.className = `wl-entry wl-entry--${st.toLowerCase()}`;
    statusEl.className = `status wl-status status--${st.toLowerCase()}`;
    body.replaceChildren();
    actions.replaceChildren();
    if (st === 'WAITING') {
      position();
      body.append(h('p', { class: 'muted small' }, t('wl.waitingNote')));
      actions.append(leave(t('wl.leave')));
    } else {
      statusEl.replaceChildren(h('span', { 'aria-hidden': 'true' }, `${MARKS[st] || ''} `), t(`wl.${st.toLowerCase()}`));
    }
    if (st === 'OFFERED') {
      const r = entry.offer;
      offer = offerView(ctx, r, {
        onPaid: (payment) => {
          session.clearQueueToken(r.concertId); // paying expires the queue ticket, as at checkout
          const paid = { ...r, status: 'CONFIRMED', confirmedAt: payment ? payment.createdAt : r.confirmedAt };
          update({ ...entry, status: 'FULFILLED', offer: paid });
          announce(t(reservationSeats(r).length > 1 ? 'checkout.successN' : 'checkout.success1', { seats: shortNames(reservationSeats(r)) }));
        },
        onLapsed: () => update({ ...entry, status: 'EXPIRED' }),
      });
      body.append(offer.el);
      actions.append(leave(t('wl.leaveOffer')));
    } else if (st === 'FULFILLED') {
      actions.append(h('a', { class: 'button primary', href: '#/tickets' }, t('checkout.myTickets')));
    }
    if (hadFocus) statusEl.focus();
  };

  function update(next) {
    const before = shown;
    entry = next;
    const st = entryStatus(entry);
    name();
    if (st !== shown) {
      shown = st;
      render(st);
      if (before && st === 'EXPIRED') announce(t('wl.expired'));
    } else if (st === 'WAITING' && el.querySelector('.wl-position')?.dataset.position !== String(entry.position)) {
      position();
      announce(t('wl.position', { n: entry.position }));
    }
  }
  update(first);
  return { el, update };
}
