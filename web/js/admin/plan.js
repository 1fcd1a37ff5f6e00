// A new date's form: its times, and its seating plan built from simple sections (rows × seats
// per row at a grade, or standing) or pasted as JSON in the API's plan format.
import { t } from '../i18n.js';
import { h, announce } from '../dom.js';
import { call, toLocalInput, fromLocalInput } from './api.js';
import { field, errorLine } from './ui.js';

/** The plan the simple builder describes. */
export function buildPlan(sections) {
  const grades = [];
  for (const s of sections) {
    if (!grades.some((g) => g.code === s.grade)) grades.push({ code: s.grade, name: s.grade, price: s.price });
  }
  return {
    grades,
    sections: sections.map((s) => (s.standing
      ? { code: s.code, name: s.code, grade: s.grade, standing: s.standing }
      : { code: s.code, name: s.code, grade: s.grade, rows: Array.from({ length: s.rows }, (_, i) => ({ row: String(i + 1), seats: s.seats })) })),
  };
}

function sectionRow(n) {
  const code = field(t('admin.sectionCode'), { required: true, maxlength: 20, value: String.fromCharCode(64 + n), class: 'sec-code' });
  const grade = field(t('admin.grade'), { required: true, maxlength: 20, value: n === 1 ? 'R' : 'S', class: 'sec-grade' });
  const price = field(t('admin.price'), { type: 'number', required: true, min: 1, max: 100000000, value: n === 1 ? 110000 : 88000, class: 'sec-price' });
  const rows = field(t('admin.rows'), { type: 'number', min: 1, max: 200, value: 5, class: 'sec-rows' });
  const seats = field(t('admin.seatsPerRow'), { type: 'number', min: 1, max: 2000, value: 10, class: 'sec-seats' });
  const standing = field(t('admin.standing'), { type: 'number', min: 0, max: 70000, value: 0, class: 'sec-standing' }, t('admin.standingHint'));
  const box = h('fieldset', { class: 'section-row' }, h('legend', null, t('admin.section', { n })),
    code.row, grade.row, price.row, rows.row, seats.row, standing.row,
    h('button', { type: 'button', class: 'button small', onclick: () => box.remove() }, t('admin.remove')));
  return box;
}

function readSections(container) {
  return [...container.querySelectorAll('.section-row')].map((f) => {
    const v = (c) => f.querySelector(c).value;
    const standing = Number(v('.sec-standing'));
    return { code: v('.sec-code'), grade: v('.sec-grade'), price: Number(v('.sec-price')), rows: Number(v('.sec-rows')), seats: Number(v('.sec-seats')), standing: standing > 0 ? standing : null };
  });
}

/** The form that adds a date to concert `cid`. */
export function scheduleForm(cid, done) {
  const day = 24 * 3600 * 1000;
  const starts = field(t('admin.startsAt'), { type: 'datetime-local', required: true, value: toLocalInput(new Date(Date.now() + 14 * day).toISOString()) });
  const opens = field(t('admin.bookingOpensAt'), { type: 'datetime-local', required: true, value: toLocalInput(new Date().toISOString()) });
  const closes = field(t('admin.bookingClosesAt'), { type: 'datetime-local', required: true, value: toLocalInput(new Date(Date.now() + 13 * day).toISOString()) });
  const sections = h('div', { class: 'sections' }, sectionRow(1));
  let n = 1;
  const builder = h('div', { class: 'plan-builder' }, sections,
    h('button', { type: 'button', class: 'button small', onclick: () => sections.append(sectionRow(++n)) }, t('admin.addSection')));
  const json = field(t('admin.planJson'), { tag: 'textarea', rows: 8, class: 'plan-json', spellcheck: 'false' }, t('admin.planJsonHint'));
  const file = field(t('admin.planFile'), { type: 'file', accept: 'application/json,.json' });
  file.input.addEventListener('change', async () => {
    const f = file.input.files && file.input.files[0];
    if (f) { json.input.value = await f.text(); useJson.checked = true; sync(); }
  });
  const useJson = h('input', { type: 'checkbox', id: 'use-json' });
  const jsonBox = h('div', { hidden: true }, file.row, json.row);
  const sync = () => { jsonBox.hidden = !useJson.checked; builder.hidden = useJson.checked; };
  useJson.addEventListener('change', sync);
  const err = errorLine();
  const form = h('form', { class: 'panel admin-form' }, starts.row, opens.row, closes.row,
    h('fieldset', null, h('legend', null, t('admin.plan')),
      h('div', { class: 'check-row' }, useJson, h('label', { for: 'use-json' }, t('admin.usePlanJson'))),
      builder, jsonBox),
    err.el, h('button', { type: 'submit', class: 'button primary' }, t('admin.createDate')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.clear();
    let plan;
    if (useJson.checked) {
      try { plan = JSON.parse(json.input.value); } catch (x) { err.show({ code: 'VALIDATION_FAILED', detail: String(x.message) }); return; }
    } else {
      plan = buildPlan(readSections(sections));
    }
    try {
      const s = await call('POST', `/admin/concerts/${cid}/schedules`, {
        startsAt: fromLocalInput(starts.input.value),
        bookingOpensAt: fromLocalInput(opens.input.value),
        bookingClosesAt: fromLocalInput(closes.input.value),
        plan,
      });
      announce(t('admin.saved'));
      done(s);
    } catch (x) { err.show(x); }
  });
  return form;
}
