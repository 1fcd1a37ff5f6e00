// The balance beside a Pay button (checkout, a waiting-list offer): what is left after paying, or
// the shortfall, and an inline top-up while the balance does not cover the price. Pay opens only
// once it does; a shortfall is said beside Pay (its note), never shown as a negative balance.
// And the payment itself: one Idempotency-Key per intent.
import { t, errorText } from './i18n.js';
import { h } from './dom.js';
import { money } from './format.js';
import { api, isTransient, uuid } from './api.js';
import { notify } from './notice.js';
import { chargeForm } from './pages/wallet.js';

/**
 * The cover of `price`. `payBtn` and `payNote` (the note Pay names in aria-describedby) are the
 * caller's; `blocked()` says whether the caller keeps Pay shut for its own reasons (a payment in
 * flight, the hold is over). `ids` names the balance and after cells on a page with one cover;
 * `titled` gives the top-up panel a heading (a page) rather than a label (a card among others).
 * Returns {facts, topup, sync, set(balance), shortfall(code)}: the two to place, Pay's state
 * again, a balance read, and the answer to INSUFFICIENT_BALANCE (the balance read again and the
 * top-up opened at its amount).
 */
export function balanceCover(ctx, price, { payBtn, payNote, blocked, ids = {}, titled = false }) {
  let balance = null;
  const balanceEl = h('dd', { id: ids.balance }, '…');
  const afterLabel = h('dt', null, t('checkout.after'));
  const afterEl = h('dd', { id: ids.after });
  const facts = h('dl', { class: 'facts' },
    h('div', null, h('dt', null, t('checkout.balance')), balanceEl),
    h('div', null, afterLabel, afterEl));
  const topup = h('div', { class: 'topup-slot' });

  const sync = () => { payBtn.disabled = blocked() || balance === null || balance < price; };
  const render = (force = false) => {
    if (balance === null) return;
    const short = price - balance;
    balanceEl.textContent = money(balance);
    afterLabel.textContent = short > 0 ? t('checkout.short') : t('checkout.after');
    afterEl.textContent = money(Math.abs(short));
    afterEl.classList.toggle('short', short > 0);
    payNote.hidden = short <= 0;
    payNote.textContent = short > 0 ? t('checkout.payBlocked', { amount: money(short) }) : '';
    sync();
    topup.replaceChildren();
    if (short > 0 || force) {
      const panel = titled
        ? h('section', { class: 'panel panel--warn', 'aria-labelledby': 'topup-title' },
          h('h2', { id: 'topup-title' }, t('wallet.charge')))
        : h('section', { class: 'panel panel--warn', 'aria-label': t('wallet.charge') });
      panel.append(
        h('p', null, t('checkout.notEnough', { amount: money(short) })),
        chargeForm(ctx, {
          suggested: Math.ceil(Math.max(1, short) / 10000) * 10000,
          onCharged: (res) => { balance = res.balance; render(); if (!payBtn.disabled) payBtn.focus(); },
        }));
      topup.append(panel);
    }
  };

  return {
    facts,
    topup,
    sync,
    set(b) { balance = b; render(); },
    async shortfall(code) {
      notify(errorText(code), 'error');
      try { balance = (await api('GET', '/wallet')).balance; } catch { /* keep what we know */ }
      if (!ctx.alive()) return;
      render(true);
      const amount = topup.querySelector('input');
      if (amount) amount.focus();
    },
  };
}

/**
 * Pays reservation `id`: the same Idempotency-Key on every call (a retry after a lost answer, a
 * double click) until an answer is definite, so an intent charges once; the next call after a
 * definite refusal is a new intent. Resolves to the Payment, or throws the API's error.
 */
export function payIntent(id) {
  let key = uuid();
  return async () => {
    try {
      return await api('POST', '/payments', { body: { reservationId: id }, idem: key });
    } catch (e) {
      if (!isTransient(e)) key = uuid();
      throw e;
    }
  };
}
