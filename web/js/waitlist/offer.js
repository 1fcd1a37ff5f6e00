// An offer from the waiting list, inside its entry: the places held for the fan, a countdown to the
// end of the hold, the balance with an inline top-up, and Pay (as at checkout: one key per intent).
import { t, errorText } from '../i18n.js';
import { h, announce } from '../dom.js';
import { money, clock } from '../format.js';
import { api, isTransient, uuid } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { chargeForm } from '../pages/wallet.js';
import { reservationSeats, shortNames, seatTable } from '../seatnames.js';

/**
 * The offer `r` (a HELD Reservation). `onPaid(payment)` once paid, `onLapsed()` when the hold ran
 * out or was taken back. Returns {el, stop}; stop() ends the countdown (the card is rebuilt).
 */
export function offerView(ctx, r, { onPaid, onLapsed }) {
  const seats = shortNames(reservationSeats(r));
  const cdValue = h('span', { class: 'countdown-value wl-countdown' });
  const countdown = h('div', { class: 'countdown', role: 'timer', 'aria-label': t('wl.heldFor') },
    h('span', { class: 'label' }, t('wl.heldFor')), cdValue);
  const balanceEl = h('dd', { class: 'wl-balance' }, '…');
  const afterLabel = h('dt', null, t('checkout.after'));
  const afterEl = h('dd');
  const noteId = `wl-pay-note-${r.id}`;
  const payNote = h('p', { class: 'pay-note', id: noteId, hidden: true });
  const payBtn = h('button', { type: 'button', class: 'button primary big wl-pay', 'aria-describedby': noteId, disabled: true },
    t('checkout.pay', { price: money(r.price) }));
  const topup = h('div', { class: 'topup-slot' });
  const el = h('div', { class: 'wl-offer' },
    seatTable(r),
    countdown,
    h('dl', { class: 'facts' },
      h('div', null, h('dt', null, t('checkout.balance')), balanceEl),
      h('div', null, afterLabel, afterEl)),
    topup,
    h('div', { class: 'actions' }, payBtn),
    payNote);

  let balance = null;
  let paying = false;
  let over = false;
  const syncPay = () => { payBtn.disabled = paying || over || balance === null || balance < r.price; };
  // As at checkout: Pay opens once the balance covers the total; the shortfall is said beside it.
  const renderBalance = (force = false) => {
    if (balance === null) return;
    const short = r.price - balance;
    balanceEl.textContent = money(balance);
    afterLabel.textContent = short > 0 ? t('checkout.short') : t('checkout.after');
    afterEl.textContent = money(Math.abs(short));
    afterEl.classList.toggle('short', short > 0);
    payNote.hidden = short <= 0;
    payNote.textContent = short > 0 ? t('checkout.payBlocked', { amount: money(short) }) : '';
    syncPay();
    topup.replaceChildren();
    if (short > 0 || force) {
      topup.append(h('section', { class: 'panel panel--warn', 'aria-label': t('wallet.charge') },
        h('p', null, t('checkout.notEnough', { amount: money(short) })),
        chargeForm(ctx, {
          suggested: Math.ceil(Math.max(1, short) / 10000) * 10000,
          onCharged: (res) => { balance = res.balance; renderBalance(); if (!payBtn.disabled) payBtn.focus(); },
        })));
    }
  };
  api('GET', '/wallet').then((w) => { if (ctx.alive() && !over) { balance = w.balance; renderBalance(); } })
    .catch((e) => fail(ctx, e));

  const until = Date.parse(r.heldUntil);
  let warned = until - Date.now() <= 60000;
  let lapsedWhilePaying = false;
  const lapse = () => {
    over = true;
    clearInterval(iv);
    syncPay();
    onLapsed();
  };
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    cdValue.textContent = clock(left);
    cdValue.dataset.seconds = String(left);
    countdown.classList.toggle('countdown--low', left <= 60);
    if (!warned && left <= 60) { warned = true; announce(t('wl.warn1m')); }
    if (left === 0 && !over) {
      if (paying) { lapsedWhilePaying = true; return; } // the payment's answer decides
      lapse();
    }
  };
  const iv = setInterval(tick, 250);
  ctx.onCleanup(() => clearInterval(iv));
  tick();
  announce(t('wl.offerSay', { seats, time: clock(Math.max(0, Math.ceil((until - Date.now()) / 1000))) }));

  let payKey = uuid();
  payBtn.addEventListener('click', async () => {
    if (paying || over || payBtn.disabled) return;
    paying = true;
    syncPay();
    payBtn.textContent = t('checkout.paying');
    try {
      const payment = await api('POST', '/payments', { body: { reservationId: r.id }, idem: payKey });
      if (!ctx.alive()) return;
      over = true;
      clearInterval(iv);
      onPaid(payment);
      return;
    } catch (e) {
      if (!ctx.alive()) return;
      if (!isTransient(e)) payKey = uuid(); // a definite answer ends this intent
      if (e.code === 'ALREADY_PAID') { over = true; clearInterval(iv); onPaid(null); return; }
      if (['HOLD_EXPIRED', 'RESERVATION_NOT_HELD', 'RESERVATION_NOT_FOUND'].includes(e.code)) {
        paying = false;
        notify(errorText(e.code), 'error');
        lapse();
        return;
      }
      if (e.code === 'INSUFFICIENT_BALANCE') {
        notify(errorText(e.code), 'error');
        try { balance = (await api('GET', '/wallet')).balance; } catch { /* keep what we know */ }
        if (!ctx.alive()) return;
        renderBalance(true);
        const amount = topup.querySelector('input');
        if (amount) amount.focus();
      } else {
        fail(ctx, e);
      }
    }
    paying = false;
    payBtn.textContent = t('checkout.pay', { price: money(r.price) });
    if (lapsedWhilePaying) { lapse(); return; }
    syncPay();
  });

  return { el, stop: () => { over = true; clearInterval(iv); } };
}
