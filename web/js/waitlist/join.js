// Joining a sold-out date's waiting list: which date (the one given, or those whose list is open),
// how many tickets and, where the date's grades are known, which grade; then the entry, live.
import { t, errorText } from '../i18n.js';
import { h, announce } from '../dom.js';
import { when, timeEl } from '../format.js';
import { session } from '../session.js';
import { api } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { gradeName } from '../seatnames.js';
import { openDates, rememberDate } from './dates.js';
import { entryList, pollWaitlist } from './list.js';
import { isLive } from './entry.js';

/** Places one entry may wait for: the service's default ENCORE_MAX_SEATS_PER_ORDER. */
const MAX_QUANTITY = 4;
let seq = 0;

/** A labelled <select> of [value, text] options, in a field block. */
function selectField(id, label, options) {
  const select = h('select', { id, name: id }, options.map(([value, text]) => h('option', { value }, text)));
  return { select, el: h('div', { class: 'field' }, h('label', { for: id }, label), select) };
}

/**
 * The panel: its form, or the fan's live entries for these dates (polled, so an offer shows up
 * with its Pay button). `dates`: [{id, concertId, startsAt, grades?}] to offer; when absent, the
 * concert's open dates are fetched. `intro`: the sentence under the heading; `level`: the heading's.
 */
export function waitlistPanel(ctx, { concertId, dates, intro = t('wl.joinIntro'), level = 2 }) {
  const id = `wl-join-${++seq}`;
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('loading')));
  const panel = h('section', { class: 'panel panel--info wl-join', 'aria-labelledby': `${id}-title` },
    h(`h${level}`, { id: `${id}-title` }, t('wl.joinTitle')), h('p', null, intro), body);
  if (!session.apiKey) {
    body.removeAttribute('aria-busy');
    body.replaceChildren(h('p', null, t('wl.signin')),
      h('a', { class: 'button primary', href: `#/account?next=${encodeURIComponent(location.hash)}` }, t('concert.signinButton')));
    return panel;
  }

  let ids = new Set();
  const list = entryList(ctx, { level: `h${level + 1}`, pick: (e) => ids.has(e.scheduleId) && isLive(e) });
  let listening = false;
  const showEntries = () => {
    body.replaceChildren(list.el, h('p', null, h('a', { href: '#/waitlist' }, t('wl.seeAll'))));
    if (!listening) { listening = true; pollWaitlist(ctx, (items) => list.set(items)); }
  };

  const form = (choices) => {
    const qty = selectField(`${id}-quantity`, t('wl.quantity'),
      Array.from({ length: MAX_QUANTITY }, (_, i) => [String(i + 1), String(i + 1)]));
    const grade = selectField(`${id}-grade`, t('wl.grade'), []);
    let date = null;
    let dateField;
    if (choices.length === 1) {
      dateField = h('div', { class: 'field' }, h('p', { class: 'label' }, t('wl.date')), h('p', { class: 'wl-date' }, timeEl(choices[0].startsAt)));
    } else {
      date = selectField(`${id}-date`, t('wl.date'), choices.map((d) => [d.id, when(d.startsAt)]));
      dateField = date.el;
    }
    const chosen = () => choices.find((d) => d.id === (date ? date.select.value : choices[0].id));
    // A grade can be asked for only where the page knows the date's grades (seen on its dates page).
    const syncGrades = () => {
      const grades = chosen().grades || [];
      grade.select.replaceChildren(h('option', { value: '' }, t('wl.anyGrade')),
        ...grades.map((g) => h('option', { value: g.code }, gradeName(g.code, g.name))));
      grade.el.hidden = grades.length < 2;
    };
    if (date) date.select.addEventListener('change', syncGrades);
    syncGrades();
    const submit = h('button', { type: 'submit', class: 'button primary wl-join-submit' }, t('wl.join'));
    const el = h('form', { class: 'wl-form', novalidate: true },
      h('div', { class: 'wl-fields' }, dateField, qty.el, grade.el), h('div', { class: 'actions' }, submit));
    el.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (submit.disabled) return;
      submit.disabled = true;
      submit.textContent = t('wl.joining');
      const d = chosen();
      const want = { quantity: Number(qty.select.value) };
      if (grade.select.value) want.grade = grade.select.value;
      try {
        const entry = await api('POST', `/schedules/${encodeURIComponent(d.id)}/waitlist`, { body: want });
        if (!ctx.alive()) return;
        list.add(entry);
        showEntries();
        list.el.querySelector(`[data-entry="${entry.id}"] .wl-status`)?.focus();
        announce(t('wl.joined', { n: entry.position }));
        return;
      } catch (e) {
        if (!ctx.alive()) return;
        if (e.code === 'WAITLIST_CLOSED' || e.code === 'VALIDATION_FAILED') notify(errorText(e.code), 'error');
        else fail(ctx, e);
      }
      submit.disabled = false;
      submit.textContent = t('wl.join');
    });
    return el;
  };

  Promise.all([dates ? Promise.resolve(dates) : openDates(concertId), api('GET', '/waitlist')])
    .then(([choices, { items }]) => {
      if (!ctx.alive()) return;
      body.removeAttribute('aria-busy');
      for (const d of choices) rememberDate({ ...d, concertId: d.concertId || concertId });
      ids = new Set(choices.map((d) => d.id));
      list.set(items);
      if (list.size()) showEntries();
      else if (!choices.length) body.replaceChildren(h('p', { class: 'muted wl-none' }, t('wl.noDates')));
      else body.replaceChildren(form(choices));
    })
    .catch((e) => {
      if (!ctx.alive()) return;
      body.removeAttribute('aria-busy');
      body.replaceChildren(h('p', null, errorText(e.code)));
      fail(ctx, e);
    });
  return panel;
}
