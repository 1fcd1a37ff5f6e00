// The venue at a glance: the stage, a legend of grades (name, price, places left) and of seat
// statuses, and one block per section in plan order (front first), which opens that section.
import { t } from '../i18n.js';
import { h } from '../dom.js';
import { money } from '../format.js';
import { gradeName } from '../seatnames.js';

const fmt = (n) => n.toLocaleString();

/** The legend of seat statuses: each told by shape and mark as well as colour. */
export function statusLegend() {
  const item = (cls, mark, key) => h('li', null,
    h('span', { class: `seat-sample ${cls}`, 'aria-hidden': 'true' }, mark), t(key));
  return h('ul', { class: 'legend', 'aria-label': t('seats.legend') },
    item('s-a', '7', 'seats.available'), item('s-a s-c', '✓', 'seats.chosen'),
    item('s-h', '◔', 'seats.held'), item('s-s', '✕', 'seats.sold'));
}

/**
 * The overview of `plan`: `onOpen(code)` when a section block is chosen. Returns
 * { el, legend, update(), setOpen(code) }; update() refreshes the counts after a poll.
 */
export function overview(plan, { onOpen }) {
  const gradeItems = new Map();
  const legend = h('ul', { class: 'grade-legend', 'aria-label': t('seats.grades') },
    [...plan.grades.values()].map((g) => {
      const left = h('span', { class: 'muted' });
      gradeItems.set(g.code, left);
      const li = h('li', { 'data-grade': g.code },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        h('strong', null, gradeName(g.code, g.name)), ' ', money(g.price), ' ', left);
      li.style.setProperty('--grade', g.colour);
      return li;
    }));

  const blocks = new Map();
  const list = h('ul', { class: 'sections', 'aria-label': t('seats.sections') },
    plan.sections.map((s) => {
      const g = plan.grades.get(s.grade);
      const left = h('span', { class: 'section-left' });
      const fill = h('span', { class: 'section-fill' });
      const btn = h('button', {
        type: 'button', class: 'section-block', 'data-section': s.code, 'aria-pressed': 'false',
      },
      h('span', { class: 'section-name' }, s.name),
      h('span', { class: 'section-grade' }, g ? `${gradeName(g.code, g.name)} · ${money(g.price)}` : s.grade),
      s.seated ? null : h('span', { class: 'section-kind' }, t('seats.standingKind')),
      left,
      h('span', { class: 'section-bar', 'aria-hidden': 'true' }, fill));
      btn.style.setProperty('--grade', g ? g.colour : 'var(--accent)');
      const li = h('li', null, btn);
      // Bigger sections take more room, gently (square root), as they would on a venue plan.
      li.style.setProperty('flex-grow', String(Math.max(1, Math.round(Math.sqrt(s.size) / 10))));
      blocks.set(s.code, { btn, left, fill, section: s });
      return li;
    }));
  list.addEventListener('click', (ev) => {
    const btn = ev.target.closest('.section-block');
    if (btn) onOpen(btn.dataset.section);
  });

  const update = () => {
    for (const g of plan.grades.values()) {
      const el = gradeItems.get(g.code);
      if (el) el.textContent = g.available > 0 ? t('seats.left', { n: fmt(g.available) }) : t('dates.soldOut');
    }
    for (const { btn, left, fill, section: s } of blocks.values()) {
      left.textContent = s.available > 0 ? t('seats.left', { n: fmt(s.available) }) : t('dates.soldOut');
      fill.style.width = `${s.size ? Math.round((s.available / s.size) * 100) : 0}%`;
      btn.classList.toggle('section-block--out', s.available <= 0);
    }
  };
  update();

  const el = h('div', { class: 'venue' },
    h('div', { class: 'stage', 'aria-hidden': 'true' }, t('seats.stage')),
    h('p', { class: 'visually-hidden' }, t('seats.stageNote')),
    list);
  return {
    el,
    legend,
    update,
    setOpen(code) {
      for (const [c, b] of blocks) b.btn.setAttribute('aria-pressed', c === code ? 'true' : 'false');
    },
  };
}
