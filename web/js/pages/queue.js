// The waiting room: the fan's place in the concert's line, live (Server-Sent Events, or polling),
// until admitted; and joining the line.
import { t, errorText } from '../i18n.js';
import { announce, h, heading } from '../dom.js';
import { waitText } from '../format.js';
import { session } from '../session.js';
import { API, QUEUE_LOST, api, cache, getConcert } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { proveWork } from '../pow.js';
import { go, requireUser } from '../router.js';

const QUEUE_POLL_MS = 2000;

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
    if (!ctx.alive()) return;
    if (ticket.status === 'ACTIVE') {
      notify(t('queue.admitted'), 'success', { flash: true });
      go(`#/concerts/${cid}/dates`);
    } else {
      go(`#/concerts/${cid}/queue`);
    }
  } catch (e) {
    fail(ctx, e);
  } finally {
    if (ctx.alive()) { btn.disabled = false; btn.textContent = label; }
  }
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

  const offerJoin = (text) => {
    const btn = h('button', { type: 'button', class: 'button primary', id: 'join-queue' }, t('queue.join'));
    btn.addEventListener('click', () => joinQueue(ctx, cid, btn));
    room.replaceChildren(h('p', null, text), btn);
  };
  if (!token) { offerJoin(t('queue.joinFirst')); return; }

  const posEl = h('p', { class: 'queue-pos', id: 'queue-position' }, '…');
  const aheadEl = h('p', { class: 'queue-ahead', id: 'queue-ahead' });
  const waitEl = h('dd', { id: 'queue-wait' }, t('queue.waitUnknown'));
  const fill = h('div', { class: 'bar-fill' });
  const bar = h('div', {
    class: 'bar', role: 'progressbar', 'aria-label': t('queue.progress'),
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
  }, fill);
  const note = h('p', { class: 'muted small' });
  const leave = h('button', { type: 'button', class: 'button', id: 'leave-queue' }, t('queue.leave'));
  room.replaceChildren(
    h('p', { class: 'label' }, t('queue.position')),
    // Position and people ahead are read out whenever they change.
    h('div', { class: 'queue-status', 'aria-live': 'polite', 'aria-atomic': 'true' }, posEl, aheadEl),
    bar,
    h('dl', { class: 'facts' }, h('div', null, h('dt', null, t('queue.wait')), waitEl)),
    h('p', null, t('queue.keepOpen')),
    note,
    leave);

  let done = false;
  let maxPos = 0;
  let es = null;
  let timer = null;
  const stop = () => {
    if (es) { es.close(); es = null; }
    if (timer) { clearTimeout(timer); timer = null; }
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
    session.setTicket(cid, ticket);
    if (ticket.status === 'ACTIVE') {
      done = true;
      stop();
      bar.setAttribute('aria-valuenow', '100');
      fill.style.width = '100%';
      notify(t('queue.admitted'), 'success', { flash: true });
      go(`#/concerts/${cid}/dates`, { replace: true });
      return;
    }
    if (ticket.status === 'EXPIRED') { lost('EXPIRED'); return; }
    const pos = Number(ticket.position) || 1;
    maxPos = Math.max(maxPos, pos);
    posEl.textContent = t('queue.positionValue', { n: pos });
    posEl.dataset.position = String(pos);
    aheadEl.textContent = pos <= 1 ? t('queue.aheadNone') : pos === 2 ? t('queue.ahead1') : t('queue.ahead', { n: pos - 1 });
    waitEl.textContent = waitText(ticket.estimatedWaitSeconds);
    const pct = Math.round(((maxPos - pos + 1) / (maxPos + 1)) * 100);
    bar.setAttribute('aria-valuenow', String(pct));
    bar.setAttribute('aria-valuetext', `${pct}%`);
    fill.style.width = `${pct}%`;
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
    if (!done && ctx.alive()) timer = setTimeout(poll, QUEUE_POLL_MS);
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
        if (!done) poll();
        fail(ctx, e);
        return;
      }
    }
    session.clearQueueToken(cid);
    notify(t('queue.left'), 'info', { flash: true });
    go(`#/concerts/${cid}`);
  });
}
