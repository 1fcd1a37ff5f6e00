// How seats and grades are named to a fan ("Section A, row 1, seat 7"), and the table of an
// order's seats shown at checkout and in "my tickets".
import { t } from './i18n.js';
import { h } from './dom.js';
import { money } from './format.js';
import { cache } from './api.js';

/** A grade's name; the part-1 grade GENERAL is named in the page's language. */
export function gradeName(code, name) {
  if (code === 'GENERAL') return t('grade.GENERAL');
  return name || code || '';
}

/** A seat's full name; `simple` for a part-1 plan (one row), where the seat number says it all. */
export function seatName({ section, row, n }, simple = false) {
  if (row === null || row === undefined) return t('seat.standing', { section });
  if (simple) return t('seats.seat', { n });
  return t('seat.name', { section, row, n });
}

/** A part-1 seat: section MAIN, row 1, grade GENERAL. */
const isSimple = (s) => s.section === 'MAIN' && s.row === '1' && s.grade === 'GENERAL';

/**
 * The seats of a reservation, each {label, number, section, row, n, grade, price}: its `seats`,
 * or for an answer without them (part 1) its one seat.
 */
export function reservationSeats(r) {
  const seats = Array.isArray(r.seats) && r.seats.length ? r.seats
    : [{ label: `MAIN-1-${r.seatNumber}`, number: r.seatNumber, section: 'MAIN', row: '1', grade: 'GENERAL', price: r.price }];
  return seats.map((s) => {
    const row = s.row === null || s.row === undefined ? null : String(s.row);
    const n = row === null ? null : Number(String(s.label).slice(String(s.label).lastIndexOf('-') + 1));
    return { ...s, row, n };
  });
}

/** Short names of an order's seats, for sentences: "A-1-7, A-1-8", "Seat 7", "GA standing ×2". */
export function shortNames(seats) {
  const parts = [];
  const standing = new Map();
  for (const s of seats) {
    if (s.row === null) standing.set(s.section, (standing.get(s.section) || 0) + 1);
    else parts.push(isSimple(s) ? t('seats.seat', { n: s.n }) : s.label);
  }
  for (const [section, count] of standing) parts.push(t('seat.standingCount', { section, count }));
  return parts.join(', ');
}

/** The grade names known for a schedule (from its cached Schedule), by code. */
function gradesOf(scheduleId) {
  const s = cache.schedules.get(scheduleId);
  return new Map((s && Array.isArray(s.grades) ? s.grades : []).map((g) => [g.code, g.name]));
}

/** A table of the reservation's seats (name, grade, price) with the total in its foot. */
export function seatTable(r, { id } = {}) {
  const seats = reservationSeats(r);
  const names = gradesOf(r.scheduleId);
  return h('table', { class: 'order-seats', id },
    h('caption', { class: 'visually-hidden' }, t('order.seats')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('order.col.seat')),
      h('th', { scope: 'col' }, t('order.col.grade')),
      h('th', { scope: 'col', class: 'num' }, t('order.col.price')))),
    h('tbody', null, seats.map((s) => h('tr', { 'data-label': s.label },
      h('th', { scope: 'row' }, seatName(s, isSimple(s)), isSimple(s) || s.row === null ? null : h('span', { class: 'muted small seat-code' }, ` ${s.label}`)),
      h('td', null, gradeName(s.grade, names.get(s.grade))),
      h('td', { class: 'num' }, money(s.price))))),
    h('tfoot', null, h('tr', null,
      h('th', { scope: 'row', colspan: '2' }, t('order.total', { count: seats.length })),
      h('td', { class: 'num total' }, money(r.price)))));
}
