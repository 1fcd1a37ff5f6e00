// One section opened from the overview: its name, grade, price and places left, then either its
// rows of seats (a grid in a scrolling box) or, for a standing section, places sold by count.
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { money } from '../format.js';
import { gradeName, seatName } from '../seatnames.js';
import { seatGrid } from './grid.js';
import { statusLegend } from './overview.js';
import { standingPanel } from './order.js';

/**
 * The view of `section` of `plan`. Returns { el, section, grid | standing, price, nameOf(seat),
 * focusHeading() }; `grid` is set for a seated section, `standing` for a standing one.
 */
export function sectionView(plan, section, { isChosen, onToggle, quantity, onHoldStanding }) {
  const grade = plan.grades.get(section.grade) || null;
  const price = grade ? grade.price : 0;
  // A part-1 date's one section is named by the page (the server calls it "Main", in English).
  const title = h('h2', { id: 'section-title', tabindex: '-1' }, plan.simple ? t('seats.allSeats') : section.name);
  const facts = h('p', { class: 'section-facts' },
    grade ? h('span', { class: 'swatch', 'aria-hidden': 'true' }) : null,
    grade ? `${gradeName(grade.code, grade.name)} · ${money(grade.price)}` : section.grade);
  const el = h('section', { class: 'section-view', 'aria-labelledby': 'section-title', 'data-section': section.code });
  el.style.setProperty('--grade', grade ? grade.colour : 'var(--accent)');
  const view = {
    el,
    section,
    price,
    grid: null,
    standing: null,
    nameOf: (seat) => seatName(seat, plan.simple),
    focusHeading() { title.focus({ preventScroll: true }); title.scrollIntoView({ block: 'start', behavior: 'instant' }); },
  };
  if (section.seated) {
    view.grid = seatGrid(section, { grade, simple: plan.simple, isChosen, onToggle });
    const scroller = h('div', { class: 'seat-scroll' }, view.grid.el);
    scroller.addEventListener('scroll', () => view.grid.reveal(scroller.scrollTop, scroller.clientHeight), { passive: true });
    el.append(title, facts, statusLegend(),
      h('p', { class: 'muted small' }, t('seats.gridHint')),
      h('div', { class: 'stage-mini', 'aria-hidden': 'true' }, t('seats.stage')),
      scroller);
  } else {
    view.standing = standingPanel(section, grade, { quantity, onHold: onHoldStanding });
    el.append(title, facts, view.standing.el);
  }
  return view;
}
