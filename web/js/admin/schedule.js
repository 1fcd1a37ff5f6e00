// One date in the box office: its facts, moving it, and calling it off with the refunds' progress.
import { t } from '../i18n.js';
import { h, heading, announce } from '../dom.js';
import { when, money } from '../format.js';
import { loadFailed } from '../errors.js';
import { call, toLocalInput, fromLocalInput } from './api.js';
import { field, errorLine, confirmButton, facts } from './ui.js';

export async function pageSchedule(ctx, main, [id]) {
  const title = heading(t('admin.date'));
  const body = h('div', { 'aria-busy': 'true' }, t('loading'));
  main.append(title, body);
  let s;
  try { s = await call('GET', `/admin/schedules/${id}`); } catch (e) { loadFailed(ctx, body, e); return; }
  if (!ctx.alive()) return;
  body.removeAttribute('aria-busy');
  const progress = h('progress', { max: Math.max(1, s.refunds.total), value: s.refunds.done, 'aria-label': t('admin.refundsDone') });
  const progressText = h('p', { role: 'status' });
  const showProgress = (r) => {
    progress.max = Math.max(1, r.total);
    progress.value = r.done;
    progressText.textContent = t('admin.refundsProgress', { done: r.done, total: r.total });
  };
  showProgress(s.refunds);
  const refundsBox = h('div', { class: 'panel', hidden: s.status !== 'CANCELLED' }, h('h2', null, t('admin.refunds')), progress, progressText);
  const poll = async () => {
    if (!ctx.alive()) return;
    try {
      const now = await call('GET', `/admin/schedules/${id}`);
      showProgress(now.refunds);
      if (now.refunds.done < now.refunds.total) setTimeout(poll, 1000);
    } catch { setTimeout(poll, 3000); }
  };
  if (s.status === 'CANCELLED' && s.refunds.done < s.refunds.total) poll();

  title.textContent = `${t('admin.date')}: ${when(s.startsAt)}`;
  body.replaceChildren(
    h('p', null, h('a', { href: `#/concerts/${s.concertId}` }, `← ${t('admin.backToConcert')}`)),
    facts([
      [t('admin.status'), t(`admin.status.${s.status}`)],
      [t('admin.bookingWindow'), `${when(s.bookingOpensAt)} – ${when(s.bookingClosesAt)}`],
      [t('admin.places'), String(s.seatCount)],
      [t('admin.available'), String(s.availableSeats)],
      [t('admin.grades'), s.grades.map((g) => `${g.code} ${money(g.price)} (${g.available})`).join(' · ')],
    ]),
    s.status === 'SCHEDULED' ? moveForm(s) : null,
    s.status === 'SCHEDULED'
      ? h('div', { class: 'panel panel--warn' }, h('h2', null, t('admin.callOff')), h('p', null, t('admin.callOffHint')),
        confirmButton(t('admin.callOff'), t('admin.callOffConfirm'), async () => {
          try {
            const r = await call('POST', `/admin/schedules/${id}/cancel`);
            announce(t('admin.calledOff'));
            refundsBox.hidden = false;
            showProgress(r.refunds);
            poll();
          } catch (e) { loadFailed(ctx, refundsBox, e); }
        }, 'button danger'))
      : null,
    refundsBox);
}

function moveForm(s) {
  const starts = field(t('admin.startsAt'), { type: 'datetime-local', required: true, value: toLocalInput(s.startsAt) });
  const opens = field(t('admin.bookingOpensAt'), { type: 'datetime-local', required: true, value: toLocalInput(s.bookingOpensAt) });
  const closes = field(t('admin.bookingClosesAt'), { type: 'datetime-local', required: true, value: toLocalInput(s.bookingClosesAt) });
  const err = errorLine();
  const form = h('form', { class: 'panel admin-form' }, h('h2', null, t('admin.moveDate')), starts.row, opens.row, closes.row, err.el,
    h('button', { type: 'submit', class: 'button primary' }, t('admin.save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.clear();
    try {
      await call('PATCH', `/admin/schedules/${s.id}`, {
        startsAt: fromLocalInput(starts.input.value),
        bookingOpensAt: fromLocalInput(opens.input.value),
        bookingClosesAt: fromLocalInput(closes.input.value),
      });
      announce(t('admin.saved'));
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (x) { err.show(x); }
  });
  return form;
}
