// One section's seats as an ARIA grid: a labelled row per plan row, one cell per seat. The grid has
// one click and one key listener (delegation, not one per seat) and one tab stop (a roving
// tabindex moved by the arrow keys). A big section shows its first screenful at once and draws the
// other rows right after, a slice at a time, so 20,000 seats are usable within a frame or two.
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { money } from '../format.js';
import { gradeName, seatName } from '../seatnames.js';
import { FREE, HELD, seatAt, rowIndexAt, indexOf } from './plan.js';

const MARK = { H: '◔', S: '✕' };
const PAGE_ROWS = 5;
const FIRST_CELLS = 2500; // drawn before the first paint: more than a screenful
const SLICE_CELLS = 400; // then rows are added this many seats at a time, when the page is idle

/**
 * The grid of a seated `section`. `isChosen(number)` says whether a seat is in the order;
 * `onToggle(seat)` runs when the fan chooses or drops a free seat (click, Enter or Space).
 * Returns { el, paint(i), repaint(before), reveal(scrollTop, height), focusSeat(number), focus() }.
 */
export function seatGrid(section, { grade, simple, isChosen, onToggle }) {
  const rows = section.rows;
  const gradeText = grade ? `, ${gradeName(grade.code, grade.name)} ${money(grade.price)}` : '';
  const statusText = { H: `, ${t('seats.held')}`, S: `, ${t('seats.sold')}` };
  const el = h('div', {
    class: 'seat-grid', role: 'grid', 'aria-multiselectable': 'true',
    'aria-label': t('seats.gridOf', { section: section.name }), 'aria-rowcount': String(rows.length),
  });
  // One row (a part-1 date: up to 2,000 seats) wraps onto lines instead of scrolling sideways.
  const wrap = rows.length === 1;
  if (wrap) el.classList.add('seat-grid--wrap');
  el.style.setProperty('--grade', grade ? grade.colour : 'var(--accent)');
  el.style.setProperty('--cols', String(rows.reduce((m, r) => Math.max(m, r.seats), 1)));
  const cells = new Array(section.size);
  // Each row's accessible names are one template split around the seat number, so 20,000 names
  // cost 20,000 string joins rather than 20,000 lookups.
  const names = rows.map((r) => {
    const [pre, post] = seatName({ section: section.code, row: r.row, n: '\u0000' }, simple).split('\u0000');
    return { pre, post: post + gradeText };
  });

  // `fresh`: a cell just made, with no state attributes to take off.
  const paintCell = (c, i, ri, fresh = false) => {
    const st = section.status[i] || 'S';
    const n = i - rows[ri].offset + 1;
    const chosen = st === FREE && isChosen(rows[ri].first + n - 1);
    c.className = st === FREE ? (chosen ? 'seat s-a s-c' : 'seat s-a') : (st === HELD ? 'seat s-h' : 'seat s-s');
    c.textContent = chosen ? '✓' : (st === FREE ? String(n) : (MARK[st] || '✕'));
    c.setAttribute('aria-label', names[ri].pre + n + names[ri].post + (st === FREE ? '' : (statusText[st] || statusText.S)));
    if (st !== FREE) c.setAttribute('aria-disabled', 'true'); else if (!fresh) c.removeAttribute('aria-disabled');
    if (chosen) c.setAttribute('aria-selected', 'true'); else if (!fresh) c.removeAttribute('aria-selected');
  };

  // Every row is there from the start (with its header, at its full height); its seats come when
  // the row is built.
  const rowTpl = h('div', { class: 'seat-row', role: 'row' });
  const headTpl = h('span', { class: 'row-head', role: 'rowheader' });
  const cellTpl = h('span', { class: 'seat', role: 'gridcell' });
  const rowEls = new Array(rows.length);
  const built = new Uint8Array(rows.length);
  const shells = document.createDocumentFragment();
  rows.forEach((r, ri) => {
    const rowEl = rowTpl.cloneNode(false);
    const head = headTpl.cloneNode(false);
    head.textContent = r.row;
    head.setAttribute('aria-label', t('seat.row', { row: r.row }));
    rowEl.appendChild(head);
    rowEls[ri] = rowEl;
    shells.appendChild(rowEl);
  });
  const buildRow = (ri) => {
    if (built[ri]) return;
    built[ri] = 1;
    const r = rows[ri];
    const frag = document.createDocumentFragment();
    for (let k = 0; k < r.seats; k++) {
      const i = r.offset + k;
      const c = cellTpl.cloneNode(false);
      c.setAttribute('data-seat', String(r.first + k));
      paintCell(c, i, ri, true);
      cells[i] = c;
      frag.appendChild(c);
    }
    rowEls[ri].appendChild(frag);
  };
  let next = 0; // rows before this one are built
  for (let drawn = 0; next < rows.length && drawn < FIRST_CELLS; next++) { buildRow(next); drawn += rows[next].seats; }
  el.appendChild(shells);
  // The rest in idle time, a few hundred seats at once: each slice also costs the next frame
  // its style work, so small slices keep clicks and keys answered meanwhile.
  const later = window.requestIdleCallback || ((fn) => setTimeout(() => fn({ timeRemaining: () => 8 }), 16));
  const pump = (idle) => {
    if (!el.isConnected) return; // the section was closed
    let drawn = 0;
    while (next < rows.length && drawn < SLICE_CELLS && idle.timeRemaining() > 2) { buildRow(next); drawn += rows[next].seats; next++; }
    if (next < rows.length) later(pump, { timeout: 1000 });
  };
  requestAnimationFrame(() => later(pump, { timeout: 1000 }));

  let focusCell = null;
  for (let i = 0; i < section.size && cells[i] && !focusCell; i++) if (section.status[i] === FREE) focusCell = cells[i];
  focusCell = focusCell || cells[0];
  if (focusCell) focusCell.tabIndex = 0;

  /** The cell at index `i`, building its row first if need be. */
  const cellAt = (i) => { const ri = rowIndexAt(section, i); buildRow(ri); return cells[i]; };
  const paint = (i) => { const ri = rowIndexAt(section, i); if (built[ri]) paintCell(cells[i], i, ri); };

  /** Repaint the built seats whose status letter differs from `before` (the previous status string). */
  const repaint = (before) => {
    let ri = 0;
    for (let i = 0; i < section.size; i++) {
      if (before[i] === section.status[i]) continue;
      while (ri + 1 < rows.length && rows[ri + 1].offset <= i) ri++;
      if (built[ri]) paintCell(cells[i], i, ri);
    }
  };

  const moveTo = (c, focus = true) => {
    if (!c) return;
    if (focusCell && focusCell !== c) focusCell.removeAttribute('tabindex');
    focusCell = c;
    c.tabIndex = 0;
    if (focus) c.focus();
  };
  // A section's seats are numbered without gaps, so a seat's index is its number less the first.
  const indexOfCell = (c) => Number(c.dataset.seat) - rows[0].first;
  const toggle = (c) => {
    const i = indexOfCell(c);
    if (section.status[i] === FREE) onToggle(seatAt(section, i));
  };

  el.addEventListener('click', (ev) => {
    const c = ev.target.closest('.seat');
    if (!c || !el.contains(c)) return;
    moveTo(c);
    toggle(c);
  });
  el.addEventListener('keydown', (ev) => {
    const c = ev.target.closest('.seat');
    if (!c) return;
    const i = indexOfCell(c);
    const ri = rowIndexAt(section, i);
    const k = i - rows[ri].offset;
    // The seat at position k (kept within the row) of row `to`, if that row exists.
    const at = (to, pos = k) => (to < 0 || to >= rows.length ? null : cellAt(rows[to].offset + Math.max(0, Math.min(pos, rows[to].seats - 1))));
    let target = null;
    if (wrap && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
      // Up and down move by one visual line of the wrapped row.
      const top = cells[0].offsetTop;
      let perLine = 1;
      while (perLine < rows[0].seats && cells[perLine] && cells[perLine].offsetTop === top) perLine++;
      const to = k + (ev.key === 'ArrowDown' ? perLine : -perLine);
      ev.preventDefault();
      if (to >= 0 && to < rows[0].seats) moveTo(at(0, to));
      return;
    }
    switch (ev.key) {
      case 'ArrowRight': target = k + 1 < rows[ri].seats ? at(ri, k + 1) : null; break;
      case 'ArrowLeft': target = k > 0 ? at(ri, k - 1) : null; break;
      case 'ArrowDown': target = at(ri + 1); break;
      case 'ArrowUp': target = at(ri - 1); break;
      case 'PageDown': target = at(Math.min(rows.length - 1, ri + PAGE_ROWS)); break;
      case 'PageUp': target = at(Math.max(0, ri - PAGE_ROWS)); break;
      case 'Home': target = ev.ctrlKey ? at(0, 0) : at(ri, 0); break;
      case 'End': target = ev.ctrlKey ? at(rows.length - 1, Infinity) : at(ri, Infinity); break;
      case 'Enter': case ' ': ev.preventDefault(); toggle(c); return;
      default: return;
    }
    ev.preventDefault();
    if (target && target !== c) moveTo(target);
  });

  return {
    el,
    paint,
    repaint,
    /** Build the rows shown in a scroll box scrolled to `top` and `height` pixels tall. */
    reveal(top, height) {
      if (next >= rows.length || rows.length < 2) return;
      const rowH = rowEls[1].offsetTop - rowEls[0].offsetTop || 1;
      const last = Math.min(rows.length - 1, Math.ceil((top + height) / rowH) + 2);
      for (let ri = Math.max(0, Math.floor(top / rowH) - 2); ri <= last; ri++) buildRow(ri);
    },
    /** Put the grid's tab stop on seat `number` (and focus it). */
    focusSeat(number, focus = true) {
      const i = indexOf(section, number);
      if (i >= 0) moveTo(cellAt(i), focus);
    },
    /** Focus the grid's tab stop. */
    focus() { if (focusCell) focusCell.focus(); },
  };
}
