// An offer from the waiting list, inside its entry: the places held for the fan, a countdown to the
// end of the hold, the balance with an inline top-up (`cover.js`, as at checkout), and Pay (one key
// per intent).
import { t, errorText } from '../i18n.js';
import { h, announce } from '../dom.js';
import { money, clock } from '../format.js';
import { api } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { balanceCover, payIntent } from '../cover.js';
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
  const noteId = `wl-pay-note-${r.id}`;
  const payNote = h('p', { class: 'pay-note', id: noteId, hidden: true });
  const payBtn = h('button', { type: 'button', class: 'button primary big wl-pay', 'aria-describedby': noteId, disabled: true },
    t('checkout.pay', { price: money(r.price) }));
  let paying = false;
  let over = false;
  const cover = balanceCover(ctx, r.price, { payBtn, payNote, blocked: () => paying || over });
  const el = h('div', { class: 'wl-offer' },
    seatTable(r),
    countdown,
    cover.facts,
    cover.topup,
    h('div', { class: 'actions' }, payBtn),
    payNote);
  api('GET', '/wallet').then((w) => { if (ctx.alive() && !over) cover.set(w.balance); })
    .catch((e) => fail(ctx, e));

  const until = Date.parse(r.heldUntil);
  let warned = until - Date.now() <= 60000;
  let lapsedWhilePaying = false;
  const lapse = () => {
    over = true;
    clearInterval(iv);
    cover.sync();
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

  const pay = payIntent(r.id);
  payBtn.addEventListener('click', async () => {
    if (paying || over || payBtn.disabled) return;
    paying = true;
    cover.sync();
    payBtn.textContent = t('checkout.paying');
    try {
      const payment = await pay();
      if (!ctx.alive()) return;
      over = true;
      clearInterval(iv);
      onPaid(payment);
      return;
    } catch (e) {
      if (!ctx.alive()) return;
      if (e.code === 'ALREADY_PAID') { over = true; clearInterval(iv); onPaid(null); return; }
      if (['HOLD_EXPIRED', 'RESERVATION_NOT_HELD', 'RESERVATION_NOT_FOUND'].includes(e.code)) {
        paying = false;
        notify(errorText(e.code), 'error');
        lapse();
        return;
      }
      if (e.code === 'INSUFFICIENT_BALANCE') {
        await cover.shortfall(e.code);
        if (!ctx.alive()) return;
      } else {
        fail(ctx, e);
      }
    }
    paying = false;
    payBtn.textContent = t('checkout.pay', { price: money(r.price) });
    if (lapsedWhilePaying) { lapse(); return; }
    cover.sync();
  });

  return { el, stop: () => { over = true; clearInterval(iv); } };
}
