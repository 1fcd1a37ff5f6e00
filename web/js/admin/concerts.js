// Concerts in the box office: the list with a form for a new one, and one concert's page (its
// texts, on-sale time and refund policy, and its dates with a form for a new one).
import { t } from '../i18n.js';
import { h, heading, announce } from '../dom.js';
import { when } from '../format.js';
import { loadFailed } from '../errors.js';
import { call, toLocalInput, fromLocalInput } from './api.js';
import { field, errorLine, facts } from './ui.js';
import { scheduleForm } from './plan.js';

export async function pageConcerts(ctx, main) {
  main.append(heading(t('admin.concerts')));
  const list = h('ul', { class: 'cards', 'aria-busy': 'true' }, h('li', { class: 'muted' }, t('loading')));
  main.append(list, h('h2', null, t('admin.newConcert')), concertForm(null, (c) => { location.hash = `#/concerts/${c.id}`; }));
  try {
    const { items } = await call('GET', '/admin/concerts');
    if (!ctx.alive()) return;
    list.removeAttribute('aria-busy');
    list.replaceChildren(...items.map((c) => h('li', { class: 'card' },
      h('a', { class: 'card-link', href: `#/concerts/${c.id}`, 'data-concert': c.id },
        h('h2', null, c.title),
        h('p', null, [c.performer, c.venue].filter(Boolean).join(' · ')),
        c.soldOut ? h('p', { class: 'tag' }, t('admin.soldOut')) : null,
        c.onSaleAt ? h('p', { class: 'label' }, t('admin.onSaleAt'), ': ', when(c.onSaleAt)) : null))));
    if (!items.length) list.append(h('li', { class: 'muted' }, t('admin.noConcerts')));
  } catch (e) { loadFailed(ctx, list, e); }
}

/** Refund tiers as rows of two numbers; `read()` gives the array, or null for the default. */
function tiersEditor(tiers) {
  const rows = h('div', { class: 'tiers' });
  const add = (tier = { untilHoursBefore: '', feePercent: '' }) => {
    const hours = field(t('admin.tierHours'), { type: 'number', min: 0, max: 87600, value: tier.untilHoursBefore, class: 'tier-hours' });
    const fee = field(t('admin.tierFee'), { type: 'number', min: 0, max: 100, value: tier.feePercent, class: 'tier-fee' });
    const row = h('div', { class: 'tier-row' }, hours.row, fee.row,
      h('button', { type: 'button', class: 'button small', onclick: () => row.remove() }, t('admin.remove')));
    rows.append(row);
  };
  (tiers || []).forEach(add);
  const box = h('fieldset', { class: 'panel' }, h('legend', null, t('admin.refundPolicy')),
    h('p', { class: 'field-hint' }, t('admin.refundPolicyHint')), rows,
    h('button', { type: 'button', class: 'button small', onclick: () => add() }, t('admin.addTier')));
  return {
    box,
    read() {
      const out = [...rows.querySelectorAll('.tier-row')].map((r) => ({
        untilHoursBefore: Number(r.querySelector('.tier-hours').value),
        feePercent: Number(r.querySelector('.tier-fee').value),
      }));
      return out.length ? out : null;
    },
  };
}

/** The form that creates a concert (`concert` null) or edits one. */
function concertForm(concert, done) {
  const title = field(t('admin.concertTitle'), { required: true, maxlength: 200, value: concert ? concert.title : '' });
  const performer = field(t('admin.performer'), { required: true, maxlength: 200, value: concert ? concert.performer : '' });
  const venue = field(t('admin.venue'), { maxlength: 200, value: concert && concert.venue ? concert.venue : '' });
  const onSale = field(t('admin.onSaleAt'), { type: 'datetime-local', value: toLocalInput(concert && concert.onSaleAt) }, t('admin.onSaleHint'));
  const tiers = tiersEditor(concert && concert.refundPolicy);
  const err = errorLine();
  const form = h('form', { class: 'panel admin-form' }, title.row, performer.row, venue.row, onSale.row, tiers.box, err.el,
    h('button', { type: 'submit', class: 'button primary' }, concert ? t('admin.save') : t('admin.create')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.clear();
    const body = {
      title: title.input.value,
      performer: performer.input.value,
      venue: venue.input.value.trim() ? venue.input.value : null,
      onSaleAt: fromLocalInput(onSale.input.value),
      refundPolicy: tiers.read(),
    };
    try {
      let saved;
      if (concert) {
        // Only what changed: the on-sale time cannot be sent again once the sale has opened.
        const patch = {};
        for (const k of ['title', 'performer', 'venue']) if (body[k] !== (concert[k] ?? null)) patch[k] = body[k];
        if (toLocalInput(body.onSaleAt) !== toLocalInput(concert.onSaleAt)) patch.onSaleAt = body.onSaleAt;
        if (JSON.stringify(body.refundPolicy) !== JSON.stringify(concert.refundPolicy)) patch.refundPolicy = body.refundPolicy;
        saved = await call('PATCH', `/admin/concerts/${concert.id}`, patch);
      } else {
        for (const k of ['venue', 'onSaleAt', 'refundPolicy']) if (body[k] === null) delete body[k];
        saved = await call('POST', '/admin/concerts', body);
      }
      announce(t('admin.saved'));
      done(saved);
    } catch (x) { err.show(x); }
  });
  return form;
}

export async function pageConcert(ctx, main, [id]) {
  const title = heading(t('loading'));
  const top = h('div');
  const dates = h('div', { 'aria-busy': 'true' });
  main.append(title, top, h('h2', null, t('admin.dates')), dates);
  try {
    const [{ items }, schedules] = await Promise.all([call('GET', '/admin/concerts'), call('GET', `/admin/concerts/${id}/schedules`)]);
    if (!ctx.alive()) return;
    const concert = items.find((c) => c.id === id);
    if (!concert) { title.textContent = t('notfound.title'); return; }
    title.textContent = concert.title;
    top.append(
      h('p', null, h('a', { class: 'button primary', href: `#/concerts/${id}/dashboard` }, t('admin.dashboard'))),
      h('details', { class: 'panel' }, h('summary', null, t('admin.editConcert')),
        concertForm(concert, () => pageReload())));
    dates.removeAttribute('aria-busy');
    const rows = schedules.items.map((s) => h('tr', { 'data-schedule': s.id },
      h('td', null, h('a', { href: `#/schedules/${s.id}` }, when(s.startsAt))),
      h('td', null, t(`admin.status.${s.status}`)),
      h('td', { class: 'num' }, `${s.seatCount - s.availableSeats} / ${s.seatCount}`),
      h('td', null, s.grades.map((g) => g.code).join(', '))));
    dates.append(schedules.items.length
      ? h('div', { class: 'table-wrap' }, h('table', null,
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('admin.startsAt')), h('th', { scope: 'col' }, t('admin.status')),
          h('th', { scope: 'col' }, t('admin.takenOfPlaces')), h('th', { scope: 'col' }, t('admin.grades')))),
        h('tbody', null, rows)))
      : h('p', { class: 'muted' }, t('admin.noDates')),
    h('h3', null, t('admin.newDate')), scheduleForm(id, () => pageReload()));
  } catch (e) { loadFailed(ctx, dates, e); }
}

function pageReload() { window.dispatchEvent(new HashChangeEvent('hashchange')); }
