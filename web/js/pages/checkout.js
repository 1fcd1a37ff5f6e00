// Checkout of one held order (1–4 places): its seats and total, countdown to the end of the hold, balance with an inline top-up,
// pay (one Idempotency-Key per intent) or cancel; then the paid ticket.
import { t, errorText } from '../i18n.js';
import { h, heading, announce } from '../dom.js';
import { money, timeEl, clock } from '../format.js';
import { session } from '../session.js';
import { api, cache, getConcert, notFound, effectiveStatus } from '../api.js';
import { notify, clearNotice } from '../notice.js';
import { fail, loadFailed } from '../errors.js';
import { go, requireUser } from '../router.js';
import { joinQueue } from './queue.js';
import { balanceCover, payIntent } from '../cover.js';
import { reservationSeats, shortNames, seatTable } from '../seatnames.js';

const EXPIRED_NAV_DELAY_MS = 1500;

const seatsHash = (r) => `#/concerts/${r.concertId}/schedules/${r.scheduleId}`;
const names = (r) => shortNames(reservationSeats(r));

export async function pageCheckout(ctx, main, [rid]) {
  if (!requireUser()) return;
  const h1 = heading(t('checkout.title'));
  main.append(h1);
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('loading')));
  main.append(body);
  let r;
  let wallet;
  try {
    [r, wallet] = await Promise.all([api('GET', `/reservations/${encodeURIComponent(rid)}`), api('GET', '/wallet')]);
  } catch (e) {
    if (notFound(e, 'RESERVATION_NOT_FOUND')) h1.textContent = t('notfound.title');
    loadFailed(ctx, body, e);
    return;
  }
  const concert = await getConcert(r.concertId).catch(() => null);
  if (!ctx.alive()) return;
  body.removeAttribute('aria-busy');
  const status = effectiveStatus(r);
  if (status === 'CONFIRMED') { showPaid(ctx, main, r, concert, null); return; }
  if (status !== 'HELD') {
    body.replaceChildren(h('div', { class: 'panel panel--error' },
      h('p', null, status === 'EXPIRED' ? t('checkout.expired', { seats: names(r) }) : t('checkout.notHeld')),
      h('a', { class: 'button primary', href: seatsHash(r) }, t('checkout.backToSeats'))));
    return;
  }

  const schedule = cache.schedules.get(r.scheduleId);
  // Why Pay is disabled, beside it (and named by it for screen readers).
  const payNote = h('p', { class: 'pay-note', id: 'pay-note', hidden: true });
  const cdValue = h('span', { class: 'countdown-value', id: 'countdown' });
  const countdown = h('div', { class: 'countdown', role: 'timer', 'aria-label': t('checkout.countdown') },
    h('span', { class: 'label' }, t('checkout.countdown')), cdValue);
  const payBtn = h('button', {
    type: 'button', class: 'button primary big', id: 'pay', 'aria-describedby': 'pay-note',
  }, t('checkout.pay', { price: money(r.price) }));
  const cancelBtn = h('button', { type: 'button', class: 'button', id: 'cancel-hold' }, t('checkout.cancel'));

  let paying = false;
  let over = false;
  const cover = balanceCover(ctx, r.price, {
    payBtn, payNote, blocked: () => paying || over, ids: { balance: 'checkout-balance', after: 'checkout-after' }, titled: true,
  });

  body.replaceChildren(
    h('section', { class: 'panel ticket-summary' },
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, t('checkout.concert')), h('dd', null, concert ? concert.title : '')),
        schedule ? h('div', null, h('dt', null, t('checkout.date')), h('dd', null, timeEl(schedule.startsAt))) : null,
        h('div', null, h('dt', null, t('checkout.price')), h('dd', { id: 'checkout-total' }, money(r.price)))),
      seatTable(r, { id: 'checkout-seats' })),
    countdown,
    h('section', { class: 'panel' }, cover.facts),
    cover.topup,
    h('div', { class: 'actions' }, payBtn, cancelBtn),
    payNote);
  cover.set(wallet.balance);

  // ---- countdown to heldUntil
  const until = Date.parse(r.heldUntil);
  const firstLeft = Math.ceil((until - Date.now()) / 1000);
  let warned = firstLeft <= 60;
  let expiredWhilePaying = false;
  const backToSeats = (text) => {
    over = true;
    clearInterval(iv);
    payBtn.disabled = true;
    cancelBtn.disabled = true;
    notify(text, 'error');
    const later = setTimeout(() => { notify(text, 'error', { flash: true }); go(seatsHash(r), { replace: true }); }, EXPIRED_NAV_DELAY_MS);
    ctx.onCleanup(() => clearTimeout(later));
  };
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    cdValue.textContent = clock(left);
    countdown.classList.toggle('countdown--low', left <= 60);
    if (!warned && left <= 60) { warned = true; announce(t('checkout.warn1m')); }
    if (left === 0 && !over) {
      if (paying) { expiredWhilePaying = true; return; } // the payment's answer decides
      backToSeats(t('checkout.expired', { seats: names(r) }));
    }
  };
  const iv = setInterval(tick, 250);
  ctx.onCleanup(() => clearInterval(iv));
  tick();

  // ---- pay: one Idempotency-Key per intent, kept across retries and double clicks
  const pay = payIntent(r.id);
  payBtn.addEventListener('click', async () => {
    if (paying || over || payBtn.disabled) return;
    paying = true;
    payBtn.disabled = true;
    cancelBtn.disabled = true;
    payBtn.textContent = t('checkout.paying');
    try {
      const payment = await pay();
      if (!ctx.alive()) return;
      over = true;
      clearInterval(iv);
      session.clearQueueToken(r.concertId); // paying expires the queue ticket
      showPaid(ctx, main, { ...r, status: 'CONFIRMED', confirmedAt: payment.createdAt }, concert, payment);
      return;
    } catch (e) {
      if (!ctx.alive()) return;
      if (e.code === 'INSUFFICIENT_BALANCE') {
        await cover.shortfall(e.code);
        if (!ctx.alive()) return;
      } else if (e.code === 'HOLD_EXPIRED' || e.code === 'SEAT_UNAVAILABLE' || e.code === 'RESERVATION_NOT_HELD') {
        paying = false;
        backToSeats(errorText(e.code));
        return;
      } else if (e.code === 'ALREADY_PAID') {
        over = true;
        clearInterval(iv);
        session.clearQueueToken(r.concertId);
        showPaid(ctx, main, { ...r, status: 'CONFIRMED' }, concert, null);
        return;
      } else {
        fail(ctx, e);
      }
    }
    paying = false;
    if (expiredWhilePaying) { backToSeats(t('checkout.expired', { seats: names(r) })); return; }
    cover.sync();
    cancelBtn.disabled = false;
    payBtn.textContent = t('checkout.pay', { price: money(r.price) });
  });

  cancelBtn.addEventListener('click', async () => {
    if (paying || over || cancelBtn.disabled) return;
    cancelBtn.disabled = true;
    payBtn.disabled = true;
    cancelBtn.textContent = t('checkout.cancelling');
    try {
      await api('DELETE', `/reservations/${encodeURIComponent(r.id)}`);
      if (!ctx.alive()) return;
      over = true;
      notify(t('checkout.cancelled', { seats: names(r) }), 'info', { flash: true });
      go(seatsHash(r), { replace: true });
      return;
    } catch (e) {
      if (!ctx.alive()) return;
      if (e.code === 'RESERVATION_NOT_HELD') { backToSeats(errorText(e.code)); return; }
      fail(ctx, e);
    }
    cancelBtn.disabled = false;
    cover.sync();
    cancelBtn.textContent = t('checkout.cancel');
  });
}

function showPaid(ctx, main, r, concert, payment) {
  const schedule = cache.schedules.get(r.scheduleId);
  const again = h('button', { type: 'button', class: 'button', id: 'buy-another' }, t('checkout.another'));
  again.addEventListener('click', () => { session.clearQueueToken(r.concertId); joinQueue(ctx, r.concertId, again); });
  const paid = t(reservationSeats(r).length > 1 ? 'checkout.successN' : 'checkout.success1', { seats: names(r) });
  const h1 = heading(paid);
  main.replaceChildren(h1,
    h('article', { class: 'ticket', 'aria-label': t('checkout.ticket') },
      h('p', { class: 'ticket-kicker' }, t('checkout.ticket')),
      h('h2', null, concert ? concert.title : t('tickets.unknownConcert')),
      concert ? h('p', { class: 'performer' }, concert.performer) : null,
      h('dl', { class: 'facts' },
        schedule ? h('div', null, h('dt', null, t('checkout.date')), h('dd', null, timeEl(schedule.startsAt))) : null,
        h('div', null, h('dt', null, t('checkout.price')), h('dd', null, money(r.price))),
        payment ? h('div', null, h('dt', null, t('checkout.balance')), h('dd', null, money(payment.balanceAfter))) : null),
      seatTable(r),
      h('p', { class: 'status status--confirmed' }, '✓ ', t('tickets.status.CONFIRMED'))),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/tickets' }, t('checkout.myTickets')), again));
  clearNotice();
  h1.focus();
  announce(paid);
}
