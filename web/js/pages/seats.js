// The seat map of one date: seats refreshed every few seconds, a click holds one (once), and a
// lost race is said plainly.
import { t, errorText } from '../i18n.js';
import { h, heading, announce } from '../dom.js';
import { money, timeEl } from '../format.js';
import { session } from '../session.js';
import { api, cache, getConcert, isTransient, notFound } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { go, requireUser } from '../router.js';
import { activeNote } from './dates.js';

const SEAT_POLL_MS = 2000;
const SEAT_MARK = { AVAILABLE: '', HELD: '◔', SOLD: '✕' };
const SEAT_TEXT = { AVAILABLE: 'seats.available', HELD: 'seats.held', SOLD: 'seats.sold' };

export async function pageSeats(ctx, main, [cid, sid]) {
  if (!requireUser()) return;
  const token = session.queueToken(cid);
  if (!token) { go(`#/concerts/${cid}/queue`, { replace: true }); return; }
  const sub = h('p', { class: 'muted' });
  const setSub = () => {
    const c = cache.concerts.get(cid);
    const s = cache.schedules.get(sid);
    sub.replaceChildren(...[c ? c.title : null, s ? ' · ' : null, s ? timeEl(s.startsAt) : null].filter(Boolean));
  };
  setSub();
  const mine = h('div', { class: 'my-holds' });
  const summary = h('p', { class: 'muted small', id: 'seat-summary' });
  const grid = h('div', { class: 'seat-grid', role: 'group', 'aria-label': t('seats.grid'), 'aria-busy': 'true' });
  const legendItem = (st) => h('li', null,
    h('span', { class: `seat seat--sample seat--${st.toLowerCase()}`, 'aria-hidden': 'true' }, h('span', { class: 'seat-mark' }, SEAT_MARK[st] || '')),
    t(SEAT_TEXT[st]));
  main.append(heading(t('seats.title')), sub, activeNote(cid), mine,
    h('p', null, t('seats.hint')),
    h('ul', { class: 'legend', 'aria-label': t('seats.legend') }, legendItem('AVAILABLE'), legendItem('HELD'), legendItem('SOLD')),
    summary, grid,
    h('p', null, h('a', { href: `#/concerts/${cid}/dates` }, t('seats.otherDates'))));
  if (!cache.concerts.has(cid)) getConcert(cid).then(() => ctx.alive() && setSub()).catch(() => {});
  if (!cache.schedules.has(sid)) {
    api('GET', `/concerts/${encodeURIComponent(cid)}/schedules`, { queue: token }).then(({ items }) => {
      for (const s of items) cache.schedules.set(s.id, s);
      if (ctx.alive()) setSub();
    }).catch(() => {});
  }
  // Holds of ours on this date, in case the fan came back here without paying.
  api('GET', '/reservations?limit=50').then(({ items }) => {
    if (!ctx.alive()) return;
    for (const r of items) {
      if (r.scheduleId === sid && r.status === 'HELD' && Date.parse(r.heldUntil) > Date.now()) {
        mine.append(h('p', { class: 'panel panel--info' }, t('seats.myHold', { n: r.seatNumber }), ' ',
          h('a', { href: `#/reservations/${r.id}` }, t('seats.toCheckout'))));
      }
    }
  }).catch(() => {});

  const buttons = new Map();
  const state = new Map();
  let busy = false;
  let timer = null;
  let stopped = false;
  ctx.onCleanup(() => { stopped = true; if (timer) clearTimeout(timer); });

  const paintSeat = (seat) => {
    state.set(seat.number, seat);
    let b = buttons.get(seat.number);
    if (!b) {
      b = h('button', { type: 'button', class: 'seat', 'data-seat': String(seat.number) },
        h('span', { class: 'seat-num' }, String(seat.number)), h('span', { class: 'seat-mark', 'aria-hidden': 'true' }));
      b.addEventListener('click', () => hold(seat.number));
      buttons.set(seat.number, b);
      grid.append(b);
    }
    const st = seat.status in SEAT_MARK ? seat.status : 'SOLD';
    b.dataset.status = st;
    b.className = `seat seat--${st.toLowerCase()}`;
    b.lastChild.textContent = SEAT_MARK[st];
    b.setAttribute('aria-label', t('seats.label', { n: seat.number, status: t(SEAT_TEXT[st]), price: money(seat.price) }));
    b.disabled = busy || st !== 'AVAILABLE';
  };
  const paint = (seats) => {
    for (const s of seats) paintSeat(s);
    const free = seats.filter((s) => s.status === 'AVAILABLE').length;
    summary.textContent = t('seats.summary', { n: free });
    grid.removeAttribute('aria-busy');
  };

  // One request at a time; an answer that started before our last hold attempt ended is stale.
  let inflight = false;
  let epoch = 0;
  const load = async () => {
    if (inflight || stopped) return;
    inflight = true;
    if (timer) { clearTimeout(timer); timer = null; }
    const started = epoch;
    let again = true;
    try {
      const data = await api('GET', `/schedules/${encodeURIComponent(sid)}/seats`, { queue: token });
      if (stopped || !ctx.alive()) return;
      if (!busy && started === epoch) paint(data.seats);
    } catch (e) {
      if (stopped || !ctx.alive()) return;
      notFound(e, 'SCHEDULE_NOT_FOUND');
      fail(ctx, e, { concertId: cid });
      again = isTransient(e); // otherwise the fan has to act (or has been moved on): stop polling
    } finally {
      inflight = false;
    }
    if (again && !stopped && ctx.alive()) timer = setTimeout(load, started === epoch ? SEAT_POLL_MS : 0);
  };

  async function hold(number) {
    if (busy) return; // a double click never holds twice
    busy = true;
    for (const b of buttons.values()) b.disabled = true;
    grid.setAttribute('aria-busy', 'true');
    const btn = buttons.get(number);
    btn.classList.add('seat--pending');
    announce(t('seats.holding', { n: number }));
    try {
      const r = await api('POST', '/reservations', { body: { scheduleId: sid, seatNumber: number }, queue: token });
      if (!ctx.alive()) return;
      stopped = true;
      go(`#/reservations/${r.id}`);
      return;
    } catch (e) {
      if (!ctx.alive()) return;
      if (e.code === 'SEAT_UNAVAILABLE') {
        // Lost the race: say so plainly and show the seat as taken right away.
        const s = state.get(number);
        paintSeat({ number, price: s ? s.price : 0, status: 'HELD' });
        notify(errorText(e.code), 'error');
      } else {
        fail(ctx, e, { concertId: cid });
      }
    }
    busy = false;
    epoch += 1;
    grid.removeAttribute('aria-busy');
    for (const s of state.values()) paintSeat(s);
    load();
  }

  load();
}
