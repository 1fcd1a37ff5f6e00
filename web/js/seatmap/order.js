// The order being put together on the seat map: how many tickets, "best available" per grade,
// standing places by count, and the bar with the chosen seats, the running total and Hold.
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { money } from '../format.js';
import { gradeName } from '../seatnames.js';

export const MAX_PER_ORDER = 4;

/** 1–4 tickets as a radio group (arrow keys move within it natively). */
export function quantityPicker(initial, onChange) {
  const name = `qty-${Math.random().toString(36).slice(2, 8)}`;
  const el = h('fieldset', { class: 'quantity' },
    h('legend', null, t('order.quantity')),
    h('div', { class: 'quantity-options' }, Array.from({ length: MAX_PER_ORDER }, (_, k) => {
      const n = k + 1;
      const id = `${name}-${n}`;
      return h('span', { class: 'quantity-option' },
        h('input', { type: 'radio', id, name, value: String(n), checked: n === initial }),
        h('label', { for: id }, String(n)));
    })));
  el.addEventListener('change', (ev) => { if (ev.target.name === name) onChange(Number(ev.target.value)); });
  return {
    el,
    set(n) { const r = el.querySelector(`input[value="${n}"]`); if (r) r.checked = true; },
  };
}

/** One "best available" button per grade that still has places; `onPick(gradeCode)`. */
export function bestAvailable(plan, { quantity, onPick }) {
  const list = h('div', { class: 'best-list' });
  const el = h('section', { class: 'best', 'aria-labelledby': 'best-title' },
    h('h2', { id: 'best-title' }, t('order.bestTitle')),
    h('p', { class: 'muted small' }, t('order.bestHint')),
    list);
  list.addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-grade]');
    if (btn && !btn.disabled) onPick(btn.dataset.grade);
  });
  const render = () => {
    const q = quantity();
    list.replaceChildren(...[...plan.grades.values()].map((g) => {
      const name = gradeName(g.code, g.name);
      const off = g.available < q;
      const btn = h('button', { type: 'button', class: 'button best-grade', 'data-grade': g.code, 'data-off': off ? '1' : null, disabled: off },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        t('order.best', { grade: name, n: q }), h('span', { class: 'muted small' }, ` · ${money(g.price * q)}`));
      btn.style.setProperty('--grade', g.colour);
      return btn;
    }));
  };
  render();
  return { el, render, setBusy(busy) { for (const b of list.querySelectorAll('button')) b.disabled = busy || b.dataset.off === '1'; } };
}

/** A standing section: places left and a button holding `quantity()` of them. */
export function standingPanel(section, grade, { quantity, onHold }) {
  const left = h('p', { class: 'standing-left' });
  const btn = h('button', { type: 'button', class: 'button primary', id: 'hold-standing' });
  btn.addEventListener('click', () => { if (!btn.disabled) onHold(section.code, quantity()); });
  const el = h('div', { class: 'panel standing' },
    h('p', null, t('order.standingHint')),
    left, btn);
  el.style.setProperty('--grade', grade ? grade.colour : 'var(--accent)');
  const render = () => {
    const q = quantity();
    left.textContent = t('order.standingLeft', { n: section.available.toLocaleString(), total: section.standing.toLocaleString() });
    btn.textContent = t('order.holdStanding', { n: q, total: money((grade ? grade.price : 0) * q) });
    btn.disabled = section.available < q;
  };
  render();
  return { el, render, setBusy(busy) { btn.disabled = busy || section.available < quantity(); } };
}

/**
 * The order bar, kept in view at the bottom of the screen: the chosen seats (each removable), the
 * running total and Hold. `onHold()`, `onRemove(number)`.
 */
export function orderBar({ onHold, onRemove }) {
  const list = h('ul', { class: 'chosen', 'aria-label': t('order.chosen') });
  const summary = h('p', { class: 'order-summary', id: 'order-summary' });
  const hold = h('button', { type: 'button', class: 'button primary big', id: 'hold', 'aria-describedby': 'order-summary' }, t('order.hold', { n: 0 }));
  const el = h('section', { class: 'order-bar', 'aria-label': t('order.title') },
    h('div', { class: 'order-lines' }, summary, list), hold);
  hold.addEventListener('click', () => { if (!hold.disabled) onHold(); });
  list.addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-seat]');
    if (btn) onRemove(Number(btn.dataset.seat));
  });
  let busy = false;
  let count = 0;
  return {
    el,
    /** Show `seats` (each {label, name, price, number}) out of `quantity`. */
    render(seats, quantity) {
      count = seats.length;
      const total = seats.reduce((sum, s) => sum + s.price, 0);
      list.replaceChildren(...seats.map((s) => h('li', { 'data-label': s.label },
        h('span', null, s.name, ' · ', money(s.price)),
        h('button', { type: 'button', class: 'chip-remove', 'data-seat': String(s.number), 'aria-label': t('order.remove', { seat: s.name }) }, '×'))));
      summary.textContent = count
        ? t('order.summary', { n: count, q: quantity, total: money(total) })
        : t('order.empty', { q: quantity });
      hold.textContent = count ? t('order.holdTotal', { n: count, total: money(total) }) : t('order.hold', { n: 0 });
      hold.disabled = busy || count === 0;
      el.classList.toggle('order-bar--empty', count === 0);
    },
    setBusy(b) { busy = b; hold.disabled = b || count === 0; hold.setAttribute('aria-busy', b ? 'true' : 'false'); },
  };
}
