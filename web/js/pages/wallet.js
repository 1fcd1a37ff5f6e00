// The wallet: balance, top-up form (also used at checkout), and the history of charges and payments.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';
import { money, timeEl } from '../format.js';
import { api, isTransient, uuid } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { requireUser } from '../router.js';

/** The largest single top-up: the server's default ENCORE_MAX_CHARGE. */
export const MAX_CHARGE = 10_000_000;

/** The largest top-up a 422 names ("… from 1 to N"), when the server is set to another than ours. */
function maxFromDetail(err) {
  const m = /from 1 to (\d+)/.exec(err.detail || '');
  return m ? Number(m[1]) : null;
}

/**
 * Amount input and "Top up" button. One Idempotency-Key per intent (same amount), kept on retries.
 * The form checks the amount itself (novalidate), so the fan reads our sentence, in their
 * language, under the field rather than the browser's bubble.
 */
export function chargeForm(ctx, { suggested = 50000, onCharged, quick = false }) {
  const id = `amount-${Math.random().toString(36).slice(2, 8)}`;
  const input = h('input', {
    id, name: 'amount', type: 'number', inputmode: 'numeric', min: '1', max: String(MAX_CHARGE), step: '1', required: true,
    value: String(Math.min(suggested, MAX_CHARGE)), 'aria-describedby': `${id}-hint`,
  });
  const limitText = t('wallet.limit', { max: money(MAX_CHARGE) });
  const hint = h('p', { class: 'field-hint', id: `${id}-hint` }, limitText);
  const btn = h('button', { type: 'submit', class: 'button primary' }, t('wallet.charge'));
  let key = uuid();
  let keyAmount = null;
  let busy = false;
  const form = h('form', { class: 'charge-form', novalidate: true },
    h('label', { for: id }, t('wallet.amount')),
    h('div', { class: 'row' }, input, btn),
    hint,
    quick ? h('div', { class: 'quick' }, [10000, 50000, 100000].map((n) => h('button', {
      type: 'button', class: 'button small',
      onclick: () => { input.value = String((parseInt(input.value, 10) || 0) + n); input.focus(); },
    }, t('wallet.quick', { amount: money(n) })))) : null);
  const invalid = (text) => {
    input.setAttribute('aria-invalid', 'true');
    hint.textContent = text;
    hint.classList.add('field-hint--error');
    notify(text, 'error');
    input.focus();
  };
  const valid = () => {
    input.removeAttribute('aria-invalid');
    hint.textContent = limitText;
    hint.classList.remove('field-hint--error');
  };
  input.addEventListener('input', valid);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const amount = Number(input.value);
    if (!input.value.trim() || !Number.isInteger(amount) || amount < 1) { invalid(t('wallet.invalidAmount')); return; }
    if (amount > MAX_CHARGE) { invalid(t('wallet.tooMuch', { max: money(MAX_CHARGE) })); return; }
    valid();
    if (keyAmount !== null && keyAmount !== amount) key = uuid(); // another amount is another intent
    keyAmount = amount;
    busy = true;
    btn.disabled = true;
    btn.textContent = t('wallet.charging');
    try {
      const res = await api('POST', '/wallet/charges', { body: { amount }, idem: key });
      key = uuid();
      keyAmount = null;
      if (!ctx.alive()) return;
      notify(t('wallet.charged', { amount: money(amount), balance: money(res.balance) }), 'success');
      if (onCharged) onCharged(res);
    } catch (e) {
      if (!isTransient(e)) { key = uuid(); keyAmount = null; }
      // The amount is all a fan types here, so a VALIDATION_FAILED is about its range.
      if (e.code === 'VALIDATION_FAILED' && ctx.alive()) invalid(t('wallet.tooMuch', { max: money(maxFromDetail(e) || MAX_CHARGE) }));
      else fail(ctx, e);
    } finally {
      busy = false;
      if (btn.isConnected) { btn.disabled = false; btn.textContent = t('wallet.charge'); }
    }
  });
  return form;
}

export async function pageWallet(ctx, main) {
  if (!requireUser()) return;
  main.append(heading(t('wallet.title')));
  const balanceEl = h('p', { class: 'balance', id: 'wallet-balance' }, '…');
  const rows = h('tbody');
  const table = h('table', { class: 'tx' },
    h('caption', { class: 'visually-hidden' }, t('wallet.history')),
    h('thead', null, h('tr', null, ['wallet.col.date', 'wallet.col.kind', 'wallet.col.amount', 'wallet.col.after'].map((k) => h('th', { scope: 'col' }, t(k))))),
    rows);
  const empty = h('p', { class: 'muted', hidden: true }, t('wallet.empty'));
  const more = h('button', { type: 'button', class: 'button', hidden: true }, t('wallet.more'));
  let cursor = null;

  const loadTx = async (reset) => {
    if (reset) { cursor = null; }
    more.disabled = true;
    try {
      const q = `/wallet/transactions?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await api('GET', q);
      if (!ctx.alive()) return;
      if (reset) rows.replaceChildren();
      for (const tx of page.items) {
        rows.append(h('tr', { 'data-kind': tx.kind },
          h('td', null, timeEl(tx.createdAt)),
          h('td', null, t(`wallet.kind.${tx.kind}`)),
          h('td', { class: tx.amount < 0 ? 'num negative' : 'num positive' }, `${tx.amount > 0 ? '+' : '−'}${money(Math.abs(tx.amount))}`),
          h('td', { class: 'num' }, money(tx.balanceAfter))));
      }
      cursor = page.nextCursor || null;
      more.hidden = !cursor;
      empty.hidden = rows.children.length > 0;
      table.hidden = rows.children.length === 0;
    } catch (e) { fail(ctx, e); } finally { more.disabled = false; }
  };
  more.addEventListener('click', () => loadTx(false));

  main.append(
    h('section', { class: 'panel' }, h('h2', null, t('wallet.balance')), balanceEl),
    h('section', { class: 'panel' }, h('h2', null, t('wallet.charge')),
      chargeForm(ctx, { suggested: 50000, quick: true, onCharged: (res) => { balanceEl.textContent = money(res.balance); loadTx(true); } })),
    h('section', { class: 'panel' }, h('h2', null, t('wallet.history')), h('div', { class: 'table-wrap' }, table), empty, more));
  try {
    const w = await api('GET', '/wallet');
    if (!ctx.alive()) return;
    balanceEl.textContent = money(w.balance);
  } catch (e) { fail(ctx, e); return; }
  loadTx(true);
}
