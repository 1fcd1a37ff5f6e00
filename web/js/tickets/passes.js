// A paid reservation's tickets on the fan's phone: a QR code per place with its seat, and the
// refund, which shows the fee and what comes back before it is confirmed.
import { t, errorText } from '../i18n.js';
import { h, announce } from '../dom.js';
import { money } from '../format.js';
import { api, uuid } from '../api.js';
import { session } from '../session.js';

/** The QR codes of reservation `r`, one per place (the SVGs come with the fan's key). */
export function ticketCodes(r) {
  const box = h('div', { class: 'passes', 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('loading')));
  (async () => {
    try {
      const { items } = await api('GET', `/reservations/${r.id}/tickets`);
      const passes = await Promise.all(items.map(async (tk) => {
        const res = await fetch(`/api/v1/tickets/${encodeURIComponent(tk.ticketId)}/qr.svg`,
          { headers: { Authorization: `Bearer ${session.apiKey}` }, cache: 'no-store' });
        if (!res.ok) throw new Error(`qr ${res.status}`);
        const svg = await res.text();
        return h('figure', { class: 'pass', 'data-ticket': tk.ticketId },
          h('img', { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`, alt: t('tickets.qrAlt', { seat: tk.seat }), width: 180, height: 180 }),
          h('figcaption', null, tk.seat));
      }));
      box.removeAttribute('aria-busy');
      box.replaceChildren(...passes);
    } catch {
      box.removeAttribute('aria-busy');
      box.replaceChildren(h('p', { class: 'muted' }, t('tickets.qrFailed')));
    }
  })();
  return box;
}

/** The refund button of a paid reservation; `done(refunded, balance)` once it went through. */
export function refundControl(r, done) {
  const btn = h('button', { type: 'button', class: 'button small' }, t('tickets.refund'));
  const panel = h('div', { class: 'panel refund-confirm', hidden: true, role: 'group', 'aria-label': t('tickets.refund') });
  const note = h('p', { class: 'field-hint', role: 'status' });
  const key = uuid(); // one intent: a retry of this refund is the same refund
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    note.textContent = '';
    try {
      const q = await api('GET', `/reservations/${r.id}/refund`);
      const go = h('button', { type: 'button', class: 'button primary small' }, t('tickets.refundConfirm'));
      const keep = h('button', { type: 'button', class: 'button small', onclick: () => { panel.hidden = true; btn.disabled = false; btn.focus(); } }, t('tickets.refundKeep'));
      go.addEventListener('click', async () => {
        go.disabled = true;
        try {
          const refunded = await api('POST', `/reservations/${r.id}/refund`, { idem: key });
          const wallet = await api('GET', '/wallet').catch(() => null);
          announce(t('tickets.refunded', { amount: money(refunded.refund.amount) }));
          done(refunded, wallet ? wallet.balance : null);
        } catch (e) {
          go.disabled = false;
          note.textContent = errorText(e.code);
        }
      });
      panel.replaceChildren(
        h('p', null, t('tickets.refundQuote', { price: money(q.price), fee: money(q.fee), percent: q.feePercent })),
        h('p', { class: 'refund-amount' }, t('tickets.refundAmount', { amount: money(q.amount) })),
        h('div', { class: 'row' }, go, keep), note);
      panel.hidden = false;
      go.focus();
    } catch (e) {
      note.textContent = e.code === 'REFUND_CLOSED' ? t('tickets.refundClosed') : errorText(e.code);
      btn.disabled = e.code === 'REFUND_CLOSED';
    }
  });
  return h('div', { class: 'refund' }, btn, panel, note);
}
