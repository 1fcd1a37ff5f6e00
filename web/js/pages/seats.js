// The seat map of one date: the venue from its plan (stage, sections by grade), the chosen
// section's seats, an order of 1–4 places (chosen on the map, best available in a grade, or
// standing by count) held in one request, and the map kept fresh by polling with If-None-Match.
import { t, errorText } from '../i18n.js';
import { h, heading, announce } from '../dom.js';
import { money, timeEl } from '../format.js';
import { session } from '../session.js';
import { api, getFresh, cache, getConcert, isTransient, notFound } from '../api.js';
import { notify } from '../notice.js';
import { fail, loadFailed } from '../errors.js';
import { go, requireUser } from '../router.js';
import { activeNote } from './dates.js';
import { reservationSeats, shortNames } from '../seatnames.js';
import { readPlan, refreshPlan, FREE, indexOf, sectionOf } from '../seatmap/plan.js';
import { overview } from '../seatmap/overview.js';
import { quantityPicker, bestAvailable, orderBar, MAX_PER_ORDER } from '../seatmap/order.js';
import { sectionView } from '../seatmap/section.js';

const SEAT_POLL_MS = 2500;

export async function pageSeats(ctx, main, [cid, sid]) {
  if (!requireUser()) return;
  const token = session.queueToken(cid);
  if (!token) { go(`#/concerts/${cid}/queue`, { replace: true }); return; }
  for (const m of ['encore:seatmap-response', 'encore:seats-interactive', 'encore:section-open']) performance.clearMarks(m);
  const sub = h('p', { class: 'muted' });
  const setSub = () => {
    const c = cache.concerts.get(cid);
    const s = cache.schedules.get(sid);
    sub.replaceChildren(...[c ? c.title : null, s ? ' · ' : null, s ? timeEl(s.startsAt) : null].filter(Boolean));
  };
  setSub();
  const mine = h('div', { class: 'my-holds' });
  const top = h('div', { class: 'order-top' });
  const venueSlot = h('div', { class: 'venue-slot', 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('loading')));
  const sectionSlot = h('div', { class: 'section-slot' });
  const bar = orderBar({ onHold: () => holdChosen(), onRemove: (number) => { chosen.delete(number); repaintSeat(number); renderOrder(); } });
  main.append(heading(t('seats.title')), sub, activeNote(cid), mine, h('p', null, t('seats.hint')),
    top, venueSlot, sectionSlot, bar.el,
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
        mine.append(h('p', { class: 'panel panel--info' }, t('seats.myHold', { seats: shortNames(reservationSeats(r)) }), ' ',
          h('a', { href: `#/reservations/${r.id}` }, t('seats.toCheckout'))));
      }
    }
  }).catch(() => {});

  let plan = null;
  let etag = null;
  let quantity = 1;
  let view = null; // the open section's view
  let ov = null;
  let best = null;
  let busy = false;
  const chosen = new Map(); // seat number → {number, label, name, price, section}
  const picker = quantityPicker(quantity, (n) => setQuantity(n, false));

  const renderOrder = () => bar.render([...chosen.values()], quantity);
  const repaintSeat = (number) => {
    if (!view || !view.grid) return;
    const i = indexOf(view.section, number);
    if (i >= 0) view.grid.paint(i);
  };
  function setQuantity(n, fromMap) {
    quantity = n;
    if (fromMap) picker.set(n);
    // Fewer tickets than seats chosen: the last chosen go back.
    for (const number of [...chosen.keys()].slice(n)) { chosen.delete(number); repaintSeat(number); }
    renderOrder();
    if (best) best.render();
    if (view && view.standing) view.standing.render();
  }

  const toggle = (seat) => {
    if (chosen.has(seat.number)) {
      chosen.delete(seat.number);
      announce(t('order.removed', { seat: view.nameOf(seat) }));
    } else {
      if (chosen.size >= MAX_PER_ORDER) { notify(t('order.max', { n: MAX_PER_ORDER }), 'info'); return; }
      if (chosen.size >= quantity) setQuantity(chosen.size + 1, true);
      chosen.set(seat.number, { ...seat, name: view.nameOf(seat), price: view.price });
      if (!performance.getEntriesByName('encore:first-choice').length) performance.mark('encore:first-choice');
      const total = [...chosen.values()].reduce((sum, s) => sum + s.price, 0);
      announce(t('order.added', { seat: view.nameOf(seat), n: chosen.size, total: money(total) }));
    }
    repaintSeat(seat.number);
    renderOrder();
  };

  const open = (code, { focus = true } = {}) => {
    const section = plan.byCode.get(code);
    if (!section) return;
    performance.mark('encore:section-open');
    ov.setOpen(code);
    view = sectionView(plan, section, {
      isChosen: (n) => chosen.has(n), onToggle: toggle, quantity: () => quantity,
      onHoldStanding: (sec, q) => hold({ section: sec, quantity: q }, null),
    });
    sectionSlot.replaceChildren(view.el);
    // Marked once the seats are painted, for the render budget (see e2e/tests/seatmap-perf.test.js).
    requestAnimationFrame(() => setTimeout(() => performance.mark('encore:seats-interactive', { detail: code }), 0));
    if (focus) view.focusHeading();
  };

  const build = () => {
    ov = overview(plan, { onOpen: (code) => open(code) });
    best = bestAvailable(plan, { quantity: () => quantity, onPick: (grade) => hold({ grade, quantity }, null) });
    top.replaceChildren(h('div', { class: 'order-pick' }, picker.el, ov.legend), best.el);
    venueSlot.replaceChildren(ov.el);
    venueSlot.removeAttribute('aria-busy');
    venueSlot.classList.toggle('venue-slot--single', plan.sections.length === 1);
    view = null;
    sectionSlot.replaceChildren();
    if (plan.sections.length === 1) open(plan.sections[0].code, { focus: false });
    else sectionSlot.append(h('p', { class: 'muted section-prompt' }, t('seats.pickSection')));
    renderOrder();
  };

  /** Drop chosen seats that are no longer free; returns their names. */
  const dropTaken = () => {
    const gone = [];
    for (const [number, seat] of chosen) {
      const sec = plan.byCode.get(seat.section) || sectionOf(plan, number);
      const i = sec ? indexOf(sec, number) : -1;
      if (i < 0 || sec.status[i] !== FREE) { chosen.delete(number); gone.push(seat.name); }
    }
    if (gone.length) renderOrder();
    return gone;
  };

  // One request at a time; an answer that started before our last hold attempt ended is stale.
  let timer = null;
  let stopped = false;
  let inflight = null;
  let epoch = 0;
  ctx.onCleanup(() => { stopped = true; if (timer) clearTimeout(timer); });
  // `quiet`: the caller says itself which chosen seats went.
  const load = ({ quiet = false } = {}) => {
    if (inflight) return inflight;
    if (timer) { clearTimeout(timer); timer = null; }
    inflight = (async () => {
      const started = epoch;
      let again = true;
      try {
        const res = await getFresh(`/schedules/${encodeURIComponent(sid)}/seatmap`, { queue: token, etag: plan ? etag : null });
        if (stopped || !ctx.alive() || res.notModified) return;
        if (!plan) performance.mark('encore:seatmap-response', { startTime: res.arrivedAt });
        etag = res.etag;
        if (busy || started !== epoch) { again = true; return; }
        const changed = plan ? refreshPlan(plan, res.data) : null;
        if (!plan || !changed) { plan = readPlan(res.data); build(); return; }
        if (!changed.size) return;
        if (view && view.grid && changed.has(view.section.code)) view.grid.repaint(changed.get(view.section.code));
        ov.update();
        best.render();
        if (view && view.standing) view.standing.render();
        const gone = dropTaken();
        if (gone.length && !quiet) notify(t('order.taken', { seats: gone.join(', ') }), 'error');
      } catch (e) {
        if (stopped || !ctx.alive()) return;
        notFound(e, 'SCHEDULE_NOT_FOUND');
        again = isTransient(e);
        // No map yet and no point retrying: say why in its place (with a retry button).
        if (!plan && !again) loadFailed(ctx, venueSlot, e, { concertId: cid });
        else fail(ctx, e, { concertId: cid }); // otherwise the fan has to act (or has been moved on): stop polling
      } finally {
        inflight = null;
        if (again && !stopped && ctx.alive()) timer = setTimeout(load, started === epoch ? SEAT_POLL_MS : 0);
      }
    })();
    return inflight;
  };

  function holdChosen() {
    const seats = [...chosen.values()];
    if (seats.length) hold({ seats: seats.map((s) => s.label) }, seats);
  }

  /** Send one order (`body` without scheduleId); `seats` are the chosen seats it names, if any. */
  async function hold(body, seats) {
    if (busy) return; // a double click never holds twice
    busy = true;
    bar.setBusy(true);
    best.setBusy(true);
    if (view && view.standing) view.standing.setBusy(true);
    announce(t('order.holding'));
    try {
      const r = await api('POST', '/reservations', { body: { scheduleId: sid, ...body }, queue: token });
      if (!ctx.alive()) return;
      stopped = true;
      go(`#/reservations/${r.id}`);
      return;
    } catch (e) {
      if (!ctx.alive()) return;
      busy = false;
      epoch += 1;
      if (e.code === 'SEAT_UNAVAILABLE' || e.code === 'SEAT_NOT_FOUND') {
        // Someone was faster: fetch the map now and say which seats went.
        if (inflight) await inflight; // an answer from before the attempt is stale
        await load({ quiet: true });
        if (!ctx.alive()) return;
        dropTaken();
        const gone = seats ? seats.filter((s) => !chosen.has(s.number)).map((s) => s.name) : [];
        if (gone.length) notify(t('order.gone', { seats: gone.join(', ') }), 'error');
        else if (seats) notify(errorText(e.code), 'error');
        else notify(t('order.notEnough', { n: body.quantity }), 'error');
      } else {
        fail(ctx, e, { concertId: cid });
      }
    }
    busy = false;
    bar.setBusy(false);
    best.setBusy(false);
    if (view && view.standing) view.standing.setBusy(false);
    renderOrder();
  }

  load();
}
