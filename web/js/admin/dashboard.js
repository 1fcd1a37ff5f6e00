// A concert's live sales dashboard: the queue (waiting, active, admitted per minute) and its live
// controls, sold places and revenue per date and grade, and a chart of the last minutes, read
// again every 2 seconds while the page is open.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';
import { money, when } from '../format.js';
import { loadFailed } from '../errors.js';
import { call } from './api.js';
import { field, errorLine, facts } from './ui.js';

const EVERY = 2000;
const KEEP = 150; // samples: five minutes

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const kid of kids) el.append(kid);
  return el;
}

/** A line chart of `series` ([{ name, cls, values }]) over the samples, scaled to its maximum. */
function lineChart(series, label) {
  const w = 600;
  const hgt = 160;
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const chart = svg('svg', { viewBox: `0 0 ${w} ${hgt + 20}`, class: 'chart', role: 'img', 'aria-label': label });
  chart.append(svg('line', { x1: 0, y1: hgt, x2: w, y2: hgt, class: 'axis' }));
  chart.append(svg('text', { x: 4, y: 12, class: 'chart-max' }, String(max)));
  for (const s of series) {
    const pts = s.values.map((v, i) => `${(i / (n - 1)) * w},${hgt - (v / max) * (hgt - 16)}`).join(' ');
    chart.append(svg('polyline', { points: pts, class: `line ${s.cls}` }));
  }
  return chart;
}

/** A bar of `value` out of `max`, with its figures in words beside it. */
function bar(value, max, text) {
  return h('div', { class: 'bar-row' }, h('progress', { max: Math.max(1, max), value, 'aria-label': text }), h('span', { class: 'bar-text' }, text));
}

export async function pageDashboard(ctx, main, [id]) {
  const title = heading(t('admin.dashboard'));
  const queueBox = h('section', { class: 'panel', 'aria-labelledby': 'q-h' }, h('h2', { id: 'q-h' }, t('admin.queue')));
  const queueFacts = h('div', { 'aria-live': 'polite' });
  const chartBox = h('section', { class: 'panel' }, h('h2', null, t('admin.lastMinutes')));
  const salesBox = h('section', { 'aria-busy': 'true' }, t('loading'));
  main.append(title, h('p', null, h('a', { href: `#/concerts/${id}` }, `← ${t('admin.backToConcert')}`)),
    h('div', { class: 'two-col' }, queueBox, chartBox), salesBox);
  queueBox.append(queueFacts);
  const samples = { sold: [], waiting: [], active: [] };
  let controls = null;

  const tick = async () => {
    if (!ctx.alive()) return;
    try {
      const [q, sales, concerts] = await Promise.all([
        call('GET', `/admin/concerts/${id}/queue`),
        call('GET', `/admin/concerts/${id}/sales`),
        title.dataset.named ? null : call('GET', '/admin/concerts'),
      ]);
      if (!ctx.alive()) return;
      if (concerts) {
        const c = concerts.items.find((x) => x.id === id);
        if (c) { title.textContent = `${t('admin.dashboard')}: ${c.title}`; title.dataset.named = '1'; }
      }
      queueFacts.replaceChildren(facts([
        [t('admin.waiting'), String(q.waiting)],
        [t('admin.active'), String(q.active)],
        [t('admin.admittedPerMinute'), String(q.admittedPerMinute)],
        [t('admin.sold'), String(sales.sold)],
        [t('admin.revenue'), money(sales.revenue)],
      ]));
      queueFacts.dataset.sold = String(sales.sold);
      if (!controls) { controls = controlsForm(id, q); queueBox.append(controls); }
      for (const [k, v] of [['sold', sales.sold], ['waiting', q.waiting], ['active', q.active]]) {
        samples[k].push(v);
        if (samples[k].length > KEEP) samples[k].shift();
      }
      chartBox.replaceChildren(h('h2', null, t('admin.lastMinutes')),
        lineChart([
          { name: t('admin.sold'), cls: 'line--sold', values: samples.sold },
          { name: t('admin.waiting'), cls: 'line--waiting', values: samples.waiting },
          { name: t('admin.active'), cls: 'line--active', values: samples.active },
        ], t('admin.chartLabel', { sold: sales.sold, waiting: q.waiting, active: q.active })),
        h('ul', { class: 'legend' },
          h('li', { class: 'line--sold' }, t('admin.sold')),
          h('li', { class: 'line--waiting' }, t('admin.waiting')),
          h('li', { class: 'line--active' }, t('admin.active'))));
      salesBox.removeAttribute('aria-busy');
      salesBox.replaceChildren(h('h2', null, t('admin.salesByDate')), ...sales.schedules.map((s) => h('section', { class: 'panel', 'data-schedule': s.scheduleId },
        h('h3', null, h('a', { href: `#/schedules/${s.scheduleId}` }, when(s.startsAt)), ' · ', t(`admin.status.${s.status}`)),
        bar(s.sold, s.places, t('admin.soldOf', { sold: s.sold, places: s.places, held: s.held })),
        h('p', null, t('admin.revenue'), ': ', h('strong', { class: 'revenue' }, money(s.revenue)), ' · ', t('admin.checkedIn'), ': ', String(s.checkedIn)),
        h('div', { class: 'table-wrap' }, h('table', null,
          h('thead', null, h('tr', null, ...['admin.grade', 'admin.price', 'admin.soldOfPlaces', 'admin.revenue'].map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', null, ...s.grades.map((g) => h('tr', null,
            h('th', { scope: 'row' }, `${g.code} ${g.name !== g.code ? g.name : ''}`.trim()),
            h('td', { class: 'num' }, money(g.price)),
            h('td', null, bar(g.sold, g.places, `${g.sold} / ${g.places}`)),
            h('td', { class: 'num' }, money(g.revenue))))))))));
    } catch (e) {
      if (!salesBox.dataset.failed) { salesBox.dataset.failed = '1'; loadFailed(ctx, salesBox, e); }
    }
    if (ctx.alive()) setTimeout(tick, EVERY);
  };
  tick();
}

/** The queue's live controls: active limit, admissions per minute, pause. */
function controlsForm(id, q) {
  const limit = field(t('admin.activeLimit'), { type: 'number', min: 0, max: 1000000, value: q.activeLimit });
  const rate = field(t('admin.admitPerMinute'), { type: 'number', min: 0, max: 1000000, value: q.admitPerMinute ?? '' }, t('admin.admitPerMinuteHint'));
  const paused = h('input', { type: 'checkbox', id: 'paused', checked: q.paused });
  const err = errorLine();
  const saved = h('p', { class: 'field-hint controls-saved', role: 'status' });
  const form = h('form', { class: 'admin-form' }, h('h3', null, t('admin.controls')), limit.row, rate.row,
    h('div', { class: 'check-row' }, paused, h('label', { for: 'paused' }, t('admin.paused'))), err.el, saved,
    h('button', { type: 'submit', class: 'button primary small' }, t('admin.apply')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.clear();
    saved.textContent = '';
    try {
      await call('PATCH', `/admin/concerts/${id}/queue`, {
        activeLimit: Number(limit.input.value),
        admitPerMinute: rate.input.value === '' ? null : Number(rate.input.value),
        paused: paused.checked,
      });
      saved.textContent = t('admin.saved');
    } catch (x) { err.show(x); }
  });
  return form;
}
