// The waiting room: the fan's place in the concert's line, live (Server-Sent Events, or polling),
// from the pre-queue countdown through the draw until admitted or sold out; and joining the line.
import { t, errorText } from '../i18n.js';
import { h, heading, announce } from '../dom.js';
import { waitText } from '../format.js';
import { session } from '../session.js';
import { API, QUEUE_LOST, api, cache, getConcert } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { proveWork } from '../pow.js';
import { go, requireUser } from '../router.js';
import { preQueueView } from '../queue/prequeue.js';
import { drawPanel } from '../queue/draw.js';
import { waitlistPanel } from '../waitlist/join.js';

const QUEUE_POLL_MS = 2000;
// Before the on-sale time a ticket needs no heartbeat: poll slowly until a minute before it.
const PRE_QUEUE_POLL_MS = 15000;

/** The concert as sold out in what the page has cached (its page then says so). */
export function markSoldOut(cid) {
  const c = cache.concerts.get(cid);
  if (c) c.soldOut = true;
}

/** Join the concert's line (or go back to our place in it) and move on to the waiting room. */
export async function joinQueue(ctx, cid, btn) {
  if (session.queueToken(cid)) { go(`#/concerts/${cid}/queue`); return; }
  if (btn.disabled) return;
  const label = btn.textContent;
  btn.disabled = true;
  btn.textContent = t('concert.joining');
  try {
    const path = `/concerts/${encodeURIComponent(cid)}/queue`;
    let ticket;
    try {
      ticket = await api('POST', path);
    } catch (e) {
      if (e.code !== 'PROOF_REQUIRED') throw e;
      // The server wants a moment of this browser's work first: say so while it runs.
      btn.textContent = t('concert.checking');
      announce(t('concert.checking'));
      const proof = await proveWork(cid);
      btn.textContent = t('concert.joining');
      ticket = await api('POST', path, { headers: { 'X-Queue-Proof': proof } });
    }
    session.setQueueToken(cid, ticket.token);
    session.setTicket(cid, ticket);
    if (ticket.status === 'PRE_QUEUE') session.setDrawnTicket(cid, ticket.ticketId);
    if (!ctx.alive()) return;
    if (ticket.status === 'ACTIVE') {
      notify(t('queue.admitted'), 'success', { flash: true });
      go(`#/concerts/${cid}/dates`);
    } else {
      go(`#/concerts/${cid}/queue`);
    }
  } catch (e) {
    if (e.code === 'SOLD_OUT' && ctx.alive()) {
      // Nothing left to queue for: the concert's page says so, under the reason.
      markSoldOut(cid);
      notify(errorText(e.code), 'error', { flash: true });
      go(`#/concerts/${cid}`);
      return;
    }
    fail(ctx, e);
  } finally {
    if (ctx.alive()) { btn.disabled = false; btn.textContent = label; }
  }
}

/** "N seats left" for a ticket's seatsLeft; null when the service did not say. */
function seatsText(n) {
  if (typeof n !== 'number') return null;
  if (n <= 0) return t('queue.seatsNone');
  return n === 1 ? t('queue.seatsLeft1') : t('queue.seatsLeft', { n: n.toLocaleString() });
}

/** Position, people ahead, progress and estimated wait of a WAITING ticket. */
function waitingView() {
  const posEl = h('p', { class: 'queue-pos', id: 'queue-position' }, '…');
  const aheadEl = h('p', { class: 'queue-ahead', id: 'queue-ahead' });
  const waitEl = h('dd', { id: 'queue-wait' }, t('queue.waitUnknown'));
  const fill = h('div', { class: 'bar-fill' });
  const bar = h('div', {
    class: 'bar', role: 'progressbar', 'aria-label': t('queue.progress'),
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
  }, fill);
  const el = h('div', { class: 'waiting' },
    h('p', { class: 'label' }, t('queue.position')),
    // Position and people ahead are read out whenever they change.
    h('div', { class: 'queue-status', 'aria-live': 'polite', 'aria-atomic': 'true' }, posEl, aheadEl),
    bar,
    h('dl', { class: 'facts' }, h('div', null, h('dt', null, t('queue.wait')), waitEl)),
    h('p', null, t('queue.keepOpen')));
  let maxPos = 0;
  const progress = (pct) => {
    bar.setAttribute('aria-valuenow', String(pct));
    bar.setAttribute('aria-valuetext', `${pct}%`);
    fill.style.width = `${pct}%`;
  };
  return {
    el,
    update(ticket) {
      const pos = Number(ticket.position) || 1;
      maxPos = Math.max(maxPos, pos);
      posEl.textContent = t('queue.positionValue', { n: pos });
      posEl.dataset.position = String(pos);
      aheadEl.textContent = pos <= 1 ? t('queue.aheadNone') : pos === 2 ? t('queue.ahead1') : t('queue.ahead', { n: pos - 1 });
      waitEl.textContent = waitText(ticket.estimatedWaitSeconds);
      progress(Math.round(((maxPos - pos + 1) / (maxPos + 1)) * 100));
    },
    admitted() { progress(100); },
  };
}

// ---------------------------------------------------------------- waiting room

export async function pageQueue(ctx, main, [cid]) {
  if (!requireUser()) return;
  const sub = h('p', { class: 'muted' }, cache.concerts.get(cid)?.title || '');
  main.append(heading(t('queue.title')), sub);
  getConcert(cid).then((c) => { if (ctx.alive()) sub.textContent = c.title; }).catch(() => {});
  const token = session.queueToken(cid);
  const room = h('section', { class: 'panel queue' });
  main.append(room);

  const showSoldOut = () => {
    markSoldOut(cid);
    const title = h('h2', { id: 'sold-out-title', tabindex: '-1' }, t('queue.soldOutTitle'));
    // Focus was on a control this replaces (or nowhere): give it to the news instead.
    const focusHere = room.contains(document.activeElement) || document.activeElement === document.body;
    room.replaceChildren(h('div', { class: 'sold-out', id: 'sold-out' },
      title,
      h('p', null, t('queue.soldOutBody')),
      waitlistPanel(ctx, { concertId: cid }),
      h('a', { class: 'button', href: '#/' }, t('queue.soldOutBack'))));
    if (focusHere) title.focus();
    announce(t('queue.soldOutBody'));
  };
  const offerJoin = (text) => {
    const btn = h('button', { type: 'button', class: 'button primary', id: 'join-queue' }, t('queue.join'));
    btn.addEventListener('click', () => joinQueue(ctx, cid, btn));
    room.replaceChildren(h('p', null, text), btn);
  };
  if (!token) {
    offerJoin(t('queue.joinFirst'));
    // A sold-out concert has no line to join.
    getConcert(cid, { fresh: true }).then((c) => { if (ctx.alive() && c.soldOut) showSoldOut(); }).catch(() => {});
    return;
  }

  // The room: the view of the ticket's status (pre-queue countdown, or place in line), the seats
  // left, where the draw put the fan, and the way out.
  const body = h('div', { class: 'queue-body' }, h('p', { class: 'queue-pos' }, '…'));
  const seatsEl = h('p', { class: 'seats-left', id: 'seats-left', hidden: true });
  const drawSlot = h('div', { class: 'draw-slot' });
  // Every place left held by fans paying: the waiting list gets the first that comes back.
  const waitSlot = h('div', { class: 'waitlist-slot' });
  const note = h('p', { class: 'muted small' });
  const leave = h('button', { type: 'button', class: 'button', id: 'leave-queue' }, t('queue.leave'));
  room.replaceChildren(body, seatsEl, waitSlot, drawSlot, note, leave);
  const waiting = waitingView();
  let mode = null;
  let pre = null;
  let drawShown = false;
  const enter = (next, ticket) => {
    if (mode === next) return;
    mode = next;
    if (pre) { pre.stop(); pre = null; }
    if (ticket.status === 'PRE_QUEUE') {
      pre = preQueueView(ticket.onSaleAt || new Date().toISOString());
      body.replaceChildren(pre.el);
    } else {
      body.replaceChildren(waiting.el);
    }
  };

  let done = false;
  let es = null;
  let timer = null;
  let last = null;
  const stop = () => {
    if (es) { es.close(); es = null; }
    if (timer) { clearTimeout(timer); timer = null; }
    if (pre) { pre.stop(); pre = null; }
  };
  ctx.onCleanup(() => { done = true; stop(); });

  const lost = (code) => {
    done = true;
    stop();
    session.clearQueueToken(cid);
    offerJoin(t('queue.joinFirst'));
    notify(code === 'EXPIRED' ? t('queue.expired') : errorText(code), 'error');
  };

  const show = (ticket) => {
    if (done || !ctx.alive() || !ticket) return;
    last = ticket;
    session.setTicket(cid, ticket);
    const seats = seatsText(ticket.seatsLeft);
    seatsEl.hidden = !seats;
    seatsEl.textContent = seats || '';
    if (ticket.seatsLeft === 0 && !waitSlot.firstChild) {
      waitSlot.append(waitlistPanel(ctx, { concertId: cid, intro: t('wl.joinIntroHeld') }));
    } else if (ticket.seatsLeft > 0 && waitSlot.firstChild && !waitSlot.querySelector('.wl-entry')) {
      waitSlot.replaceChildren(); // places are free again: the line, not the list, gets them
    }
    switch (ticket.status) {
      case 'ACTIVE':
        done = true;
        stop();
        waiting.admitted();
        notify(t('queue.admitted'), 'success', { flash: true });
        go(`#/concerts/${cid}/dates`, { replace: true });
        return;
      case 'EXPIRED':
        lost('EXPIRED');
        return;
      case 'SOLD_OUT':
        done = true;
        stop();
        session.clearQueueToken(cid);
        showSoldOut();
        return;
      case 'PRE_QUEUE':
        session.setDrawnTicket(cid, ticket.ticketId);
        // Keyed by the on-sale time too: an organiser moving it restarts the countdown.
        enter(`PRE_QUEUE ${ticket.onSaleAt}`, ticket);
        return;
      default:
        enter('WAITING', ticket);
        waiting.update(ticket);
        // This tab saw the ticket in the pre-queue: its place came from the draw.
        if (!drawShown && ticket.ticketId && session.drawnTicket(cid) === ticket.ticketId) {
          drawShown = true;
          drawSlot.replaceChildren(drawPanel(ctx, cid, ticket.ticketId, { say: true }));
        }
    }
  };

  // What this tab last heard shows at once; the stream or a poll confirms it.
  const known = session.ticket(cid);
  if (known && known.token === token && ['PRE_QUEUE', 'WAITING'].includes(known.status)) show(known);

  const pollDelay = () => {
    if (!last || last.status !== 'PRE_QUEUE' || !last.onSaleAt) return QUEUE_POLL_MS;
    const untilStart = Date.parse(last.onSaleAt) - Date.now();
    return Math.min(PRE_QUEUE_POLL_MS, Math.max(QUEUE_POLL_MS, untilStart - 60000));
  };
  const poll = async () => {
    timer = null;
    try {
      show(await api('GET', '/queue', { auth: false, queue: token }));
    } catch (e) {
      if (done || !ctx.alive()) return;
      if (QUEUE_LOST.includes(e.code)) { lost(e.code); return; }
      notify(errorText(e.code), 'error');
    }
    if (!done && ctx.alive()) timer = setTimeout(poll, pollDelay());
  };

  // Server-Sent Events first; if the stream cannot be had or drops, poll GET /queue instead
  // (polling also tells us why: an expired or unknown token answers 410 / 401).
  const startPolling = (interrupted) => {
    if (interrupted) note.textContent = t('queue.polling');
    poll();
  };
  if (typeof EventSource === 'function') {
    es = new EventSource(`${API}/queue/events?token=${encodeURIComponent(token)}`);
    es.addEventListener('ticket', (ev) => {
      let ticket = null;
      try { ticket = JSON.parse(ev.data); } catch { return; }
      show(ticket);
    });
    es.onerror = () => {
      if (done || !es) return;
      es.close();
      es = null;
      startPolling(true);
    };
  } else {
    startPolling(false);
  }

  leave.addEventListener('click', async () => {
    if (leave.disabled) return;
    leave.disabled = true;
    leave.textContent = t('queue.leaving');
    const wasDone = done;
    done = true;
    stop();
    try {
      await api('DELETE', '/queue', { auth: false, queue: token });
    } catch (e) {
      if (!QUEUE_LOST.includes(e.code)) {
        if (!ctx.alive()) return;
        leave.disabled = false;
        leave.textContent = t('queue.leave');
        done = wasDone;
        if (!done) { mode = null; poll(); }
        fail(ctx, e);
        return;
      }
    }
    session.clearQueueToken(cid);
    notify(t('queue.left'), 'info', { flash: true });
    go(`#/concerts/${cid}`);
  });
}
