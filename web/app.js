// encore web front: a hash-routed page over the public HTTP API (/api/v1) and nothing else.
// Plain ES2020 module, no build step, no framework. Served at /assets/app.js; imports ./i18n.js.
import { t, initLang, getLang, setLang, errorText, locale } from './i18n.js';

const API = '/api/v1';
const SEAT_POLL_MS = 2000;
const QUEUE_POLL_MS = 2000;
const EXPIRED_NAV_DELAY_MS = 1500;
// Codes that mean "your place in line is gone": the fan goes back to the waiting room to rejoin.
const QUEUE_LOST = ['QUEUE_TOKEN_REQUIRED', 'QUEUE_TOKEN_INVALID', 'QUEUE_TOKEN_EXPIRED', 'QUEUE_TOKEN_MISMATCH'];
// Errors worth retrying with the same Idempotency-Key (the first attempt may or may not have landed).
const TRANSIENT = ['NETWORK', 'RATE_LIMITED', 'DATABASE_UNAVAILABLE', 'QUEUE_UNAVAILABLE'];

// ---------------------------------------------------------------- storage

function safeGet(store, key) { try { return store.getItem(key); } catch { return null; } }
function safeSet(store, key, value) { try { store.setItem(key, value); } catch { /* storage blocked */ } }
function safeDel(store, key) { try { store.removeItem(key); } catch { /* storage blocked */ } }

const session = {
  get apiKey() { return safeGet(localStorage, 'encore.apiKey'); },
  get name() { return safeGet(localStorage, 'encore.userName'); },
  signIn(apiKey, name) {
    safeSet(localStorage, 'encore.apiKey', apiKey);
    safeSet(localStorage, 'encore.userName', name);
  },
  setName(name) { safeSet(localStorage, 'encore.userName', name); },
  signOut() {
    safeDel(localStorage, 'encore.apiKey');
    safeDel(localStorage, 'encore.userName');
    try {
      for (const k of Object.keys(sessionStorage)) if (k.startsWith('encore.')) sessionStorage.removeItem(k);
    } catch { /* storage blocked */ }
  },
  // The queue token is per concert and per tab (sessionStorage), as the waiting room is.
  queueToken(cid) { return safeGet(sessionStorage, `encore.queue.${cid}`); },
  setQueueToken(cid, token) { safeSet(sessionStorage, `encore.queue.${cid}`, token); },
  clearQueueToken(cid) {
    safeDel(sessionStorage, `encore.queue.${cid}`);
    safeDel(sessionStorage, `encore.ticket.${cid}`);
  },
  ticket(cid) {
    try { return JSON.parse(safeGet(sessionStorage, `encore.ticket.${cid}`) || 'null'); } catch { return null; }
  },
  setTicket(cid, ticket) { safeSet(sessionStorage, `encore.ticket.${cid}`, JSON.stringify(ticket)); },
};

const cache = { concerts: new Map(), schedules: new Map() };

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
  }
}

/** One call to /api/v1. Resolves to the parsed JSON body (null for 204); rejects with ApiError. */
async function api(method, path, { body, auth = true, queue, idem } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const key = session.apiKey;
  if (auth && key) headers.Authorization = `Bearer ${key}`;
  if (queue) headers['X-Queue-Token'] = queue;
  if (idem) headers['Idempotency-Key'] = idem;
  let res;
  try {
    res = await fetch(API + path, {
      method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', String(e));
  }
  if (res.status === 204) return null;
  let data = null;
  try { const text = await res.text(); data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    let code = data && typeof data.code === 'string' ? data.code : null;
    if (!code) {
      code = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE', 429: 'RATE_LIMITED' }[res.status]
        || (res.status >= 500 ? 'SERVER_ERROR' : `HTTP_${res.status}`);
    }
    throw new ApiError(res.status, code, data && data.detail);
  }
  return data;
}

/** A malformed or unknown id in the address reads as "not found" to the fan. */
function notFound(err, code) {
  if (err.code === 'VALIDATION_FAILED' || err.code === 'NOT_FOUND') err.code = code;
  return err.code === code;
}

function isTransient(err) { return TRANSIENT.includes(err.code) || err.status >= 500; }

async function getConcert(cid) {
  if (cache.concerts.has(cid)) return cache.concerts.get(cid);
  const c = await api('GET', `/concerts/${encodeURIComponent(cid)}`, { auth: false });
  cache.concerts.set(cid, c);
  return c;
}

/** A fresh idempotency key: one per user intent, reused for retries of that intent. */
function uuid() {
  if (typeof crypto.randomUUID === 'function') {
    try { return crypto.randomUUID(); } catch { /* insecure context */ }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// ---------------------------------------------------------------- DOM helpers

const $ = (sel) => document.querySelector(sel);

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

const money = (n) => new Intl.NumberFormat(locale(), { style: 'currency', currency: 'KRW', maximumFractionDigits: 0 }).format(n);
const when = (iso) => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
const timeEl = (iso) => h('time', { datetime: iso }, when(iso));
const clock = (secs) => `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;

function waitText(secs) {
  if (secs === null || secs === undefined) return t('queue.waitUnknown');
  if (secs < 60) return t('queue.waitSeconds', { n: Math.max(1, Math.round(secs)) });
  return t('queue.waitMinutes', { n: Math.ceil(secs / 60) });
}

/** Say something to screen-reader users without showing it. */
function announce(text) {
  const live = $('#live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 50);
}

// ---------------------------------------------------------------- notices (errors and news)

let pendingFlash = null;

/** Show a sentence in the notice area; with flash, show it after the next navigation instead. */
function notify(text, kind = 'error', { flash = false } = {}) {
  if (flash) { pendingFlash = { text, kind }; return; }
  const box = $('#notice');
  box.replaceChildren(h('div', { class: `notice notice--${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('p', { class: 'notice-text' }, text),
    h('button', { type: 'button', class: 'notice-close', 'aria-label': t('dismiss'), onclick: clearNotice }, '×')));
}

function clearNotice() { $('#notice').replaceChildren(); }

/** Turn an API error into what the fan sees, and where they go next. */
function fail(ctx, err, { concertId } = {}) {
  if (ctx && !ctx.alive()) return;
  const code = (err && err.code) || 'UNKNOWN';
  if (!(err instanceof ApiError)) console.error(err);
  if (code === 'UNAUTHORIZED') {
    session.signOut();
    notify(t('account.expired'), 'error', { flash: true });
    go(`#/account?next=${encodeURIComponent(location.hash)}`);
    return;
  }
  if (concertId && QUEUE_LOST.includes(code)) {
    session.clearQueueToken(concertId);
    notify(errorText(code), 'error', { flash: true });
    go(`#/concerts/${concertId}/queue`, { replace: true });
    return;
  }
  if (concertId && code === 'QUEUE_NOT_ACTIVE') {
    notify(errorText(code), 'info', { flash: true });
    go(`#/concerts/${concertId}/queue`, { replace: true });
    return;
  }
  notify(errorText(code), 'error');
}

/** Replace a failed section with the reason and a retry button. */
function loadFailed(ctx, container, err, opts) {
  if (!ctx.alive()) return;
  container.removeAttribute('aria-busy');
  container.replaceChildren(h('div', { class: 'panel panel--error' },
    h('p', null, errorText(err.code)),
    h('button', { type: 'button', class: 'button', onclick: () => route() }, t('retry'))));
  fail(ctx, err, opts);
}

// ---------------------------------------------------------------- routing

let routeGen = 0;
let current = null;

function go(hash, { replace = false } = {}) {
  if (location.hash === hash) { route(); return; }
  if (replace) location.replace(hash);
  else location.hash = hash;
}

const ROUTES = [
  [/^\/$/, pageConcerts, 'concerts'],
  [/^\/concerts$/, pageConcerts, 'concerts'],
  [/^\/concerts\/([^/]+)$/, pageConcert, 'concerts'],
  [/^\/concerts\/([^/]+)\/queue$/, pageQueue, 'concerts'],
  [/^\/concerts\/([^/]+)\/dates$/, pageDates, 'concerts'],
  [/^\/concerts\/([^/]+)\/schedules\/([^/]+)$/, pageSeats, 'concerts'],
  [/^\/reservations\/([^/]+)$/, pageCheckout, 'tickets'],
  [/^\/tickets$/, pageTickets, 'tickets'],
  [/^\/wallet$/, pageWallet, 'wallet'],
  [/^\/account$/, pageAccount, 'account'],
];

function route() {
  if (current) for (const fn of current.cleanups) { try { fn(); } catch { /* already gone */ } }
  const gen = ++routeGen;
  const ctx = {
    cleanups: [],
    alive: () => gen === routeGen,
    onCleanup(fn) { this.cleanups.push(fn); },
  };
  current = ctx;
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const query = new URLSearchParams(qs || '');
  clearNotice();
  if (pendingFlash) { notify(pendingFlash.text, pendingFlash.kind); pendingFlash = null; }
  const main = $('#main');
  main.replaceChildren();
  let section = null;
  let page = pageNotFound;
  let args = [];
  for (const [re, fn, nav] of ROUTES) {
    const m = path.match(re);
    if (m) { page = fn; section = nav; args = m.slice(1).map(decodeURIComponent); break; }
  }
  currentSection = section;
  renderHeader(section);
  Promise.resolve(page(ctx, main, args, query)).catch((e) => fail(ctx, e));
  // Move focus to the new page's heading so keyboard and screen-reader users start there.
  const h1 = main.querySelector('h1');
  if (h1 && !firstRoute) h1.focus({ preventScroll: false });
  firstRoute = false;
}
let firstRoute = true;
let currentSection = null;

function renderHeader(section) {
  const link = (href, key, name) => h('li', null, h('a', { href, 'aria-current': section === name ? 'page' : null }, t(key)));
  const other = getLang() === 'ko' ? 'en' : 'ko';
  const signedIn = !!session.apiKey;
  $('#top').replaceChildren(...[
    h('a', { class: 'brand', href: '#/' }, t('app.name')),
    h('nav', { 'aria-label': t('nav.label') }, h('ul', { class: 'nav' },
      link('#/', 'nav.concerts', 'concerts'),
      signedIn ? link('#/tickets', 'nav.tickets', 'tickets') : null,
      signedIn ? link('#/wallet', 'nav.wallet', 'wallet') : null,
      link('#/account', signedIn ? 'nav.account' : 'nav.signin', 'account'))),
    signedIn && session.name ? h('span', { class: 'user-chip' }, session.name) : null,
    h('button', {
      type: 'button', class: 'lang-toggle', lang: other, 'aria-label': t('lang.switchLabel'),
      onclick: () => { setLang(other); document.title = t('app.name'); $('#skip-link').textContent = t('skip'); route(); },
    }, t('lang.switch'))].filter(Boolean));
}

function heading(text) { return h('h1', { tabindex: '-1' }, text); }

function requireUser() {
  if (session.apiKey) return true;
  notify(t('concert.signinFirst'), 'info', { flash: true });
  go(`#/account?next=${encodeURIComponent(location.hash)}`, { replace: true });
  return false;
}

function pageNotFound(ctx, main) {
  main.append(heading(t('notfound.title')), h('p', null, t('notfound.body')),
    h('a', { class: 'button', href: '#/' }, t('notfound.home')));
}

// ---------------------------------------------------------------- concerts

async function pageConcerts(ctx, main) {
  main.append(heading(t('concerts.title')));
  const list = h('ul', { class: 'cards', 'aria-busy': 'true' }, h('li', { class: 'muted' }, t('loading')));
  main.append(list);
  let items;
  try { ({ items } = await api('GET', '/concerts', { auth: false })); } catch (e) { loadFailed(ctx, list, e); return; }
  if (!ctx.alive()) return;
  list.removeAttribute('aria-busy');
  list.replaceChildren();
  if (!items.length) list.append(h('li', { class: 'muted' }, t('concerts.empty')));
  for (const c of items) {
    cache.concerts.set(c.id, c);
    list.append(h('li', { class: 'card' }, h('a', { class: 'card-link', href: `#/concerts/${c.id}` },
      h('h2', null, c.title),
      h('p', { class: 'performer' }, c.performer),
      h('p', { class: 'muted' }, c.venue || t('concert.venueTbd')))));
  }
}

async function pageConcert(ctx, main, [cid]) {
  const h1 = heading(cache.concerts.get(cid)?.title || t('loading'));
  main.append(h1);
  let c;
  try { c = await getConcert(cid); } catch (e) {
    const box = h('div');
    main.append(box);
    if (notFound(e, 'CONCERT_NOT_FOUND')) h1.textContent = t('notfound.title');
    loadFailed(ctx, box, e);
    return;
  }
  if (!ctx.alive()) return;
  h1.textContent = c.title;
  main.append(h('p', { class: 'performer' }, c.performer), h('p', { class: 'muted' }, c.venue || t('concert.venueTbd')));
  const box = h('section', { class: 'panel' });
  main.append(box);
  if (!session.apiKey) {
    box.append(h('p', null, t('concert.signinFirst')),
      h('a', { class: 'button primary', href: `#/account?next=${encodeURIComponent(`#/concerts/${cid}`)}` }, t('concert.signinButton')));
    return;
  }
  const btn = h('button', { type: 'button', class: 'button primary', id: 'get-tickets' },
    session.queueToken(cid) ? t('concert.continueQueue') : t('concert.getTickets'));
  btn.addEventListener('click', () => joinQueue(ctx, cid, btn));
  box.append(h('p', null, t('concert.how')), btn);
}

/** Join the concert's line (or go back to our place in it) and move on to the waiting room. */
async function joinQueue(ctx, cid, btn) {
  if (session.queueToken(cid)) { go(`#/concerts/${cid}/queue`); return; }
  if (btn.disabled) return;
  const label = btn.textContent;
  btn.disabled = true;
  btn.textContent = t('concert.joining');
  try {
    const ticket = await api('POST', `/concerts/${encodeURIComponent(cid)}/queue`);
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

async function pageQueue(ctx, main, [cid]) {
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

// ---------------------------------------------------------------- dates

function activeNote(cid) {
  const ticket = session.ticket(cid);
  if (ticket && ticket.status === 'ACTIVE' && ticket.activeUntil) {
    return h('p', { class: 'muted small' }, t('queue.activeUntil', { time: when(ticket.activeUntil) }));
  }
  return null;
}

async function pageDates(ctx, main, [cid]) {
  if (!requireUser()) return;
  const token = session.queueToken(cid);
  if (!token) { go(`#/concerts/${cid}/queue`, { replace: true }); return; }
  const sub = h('p', { class: 'muted' }, cache.concerts.get(cid)?.title || '');
  main.append(heading(t('dates.title')), sub, activeNote(cid));
  getConcert(cid).then((c) => { if (ctx.alive()) sub.textContent = c.title; }).catch(() => {});
  const list = h('ul', { class: 'dates', 'aria-label': t('dates.list'), 'aria-busy': 'true' }, h('li', { class: 'muted' }, t('loading')));
  main.append(list);
  let items;
  try {
    ({ items } = await api('GET', `/concerts/${encodeURIComponent(cid)}/schedules`, { queue: token }));
  } catch (e) { loadFailed(ctx, list, e, { concertId: cid }); return; }
  if (!ctx.alive()) return;
  list.removeAttribute('aria-busy');
  list.replaceChildren();
  if (!items.length) list.append(h('li', { class: 'muted' }, t('dates.empty')));
  const now = Date.now();
  for (const s of items) {
    cache.schedules.set(s.id, s);
    let action;
    if (s.bookable) {
      action = h('a', {
        class: 'button primary', href: `#/concerts/${cid}/schedules/${s.id}`,
        'aria-label': `${t('dates.choose')}: ${when(s.startsAt)}`,
      }, t('dates.choose'));
    } else {
      let reason = t('dates.unavailable');
      if (s.availableSeats <= 0) reason = t('dates.soldOut');
      else if (now < Date.parse(s.bookingOpensAt)) reason = t('dates.notOpen', { time: when(s.bookingOpensAt) });
      else if (now >= Date.parse(s.bookingClosesAt)) reason = t('dates.closed');
      action = h('button', { type: 'button', class: 'button', disabled: true }, reason);
    }
    list.append(h('li', { class: `date-card${s.bookable ? '' : ' date-card--off'}`, 'data-schedule': s.id },
      h('div', null,
        h('h2', null, timeEl(s.startsAt)),
        h('p', null, money(s.price), ' · ', t('dates.seatsLeft', { n: s.availableSeats, total: s.seatCount }))),
      action));
  }
}

// ---------------------------------------------------------------- seat map

const SEAT_MARK = { AVAILABLE: '', HELD: '◔', SOLD: '✕' };
const SEAT_TEXT = { AVAILABLE: 'seats.available', HELD: 'seats.held', SOLD: 'seats.sold' };

async function pageSeats(ctx, main, [cid, sid]) {
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

// ---------------------------------------------------------------- checkout

const effectiveStatus = (r) => (r.status === 'HELD' && Date.parse(r.heldUntil) <= Date.now() ? 'EXPIRED' : r.status);
const seatsHash = (r) => `#/concerts/${r.concertId}/schedules/${r.scheduleId}`;

async function pageCheckout(ctx, main, [rid]) {
  if (!requireUser()) return;
  const h1 = heading(t('checkout.title'));
  main.append(h1);
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, t('loading')));
  main.append(body);
  let r;
  let wallet;
  try {
    [r, wallet] = await Promise.all([api('GET', `/reservations/${encodeURIComponent(rid)}`), api('GET', '/wallet')]);
  } catch (e) {
    if (notFound(e, 'RESERVATION_NOT_FOUND')) h1.textContent = t('notfound.title');
    loadFailed(ctx, body, e);
    return;
  }
  const concert = await getConcert(r.concertId).catch(() => null);
  if (!ctx.alive()) return;
  body.removeAttribute('aria-busy');
  const status = effectiveStatus(r);
  if (status === 'CONFIRMED') { showPaid(ctx, main, r, concert, null); return; }
  if (status !== 'HELD') {
    body.replaceChildren(h('div', { class: 'panel panel--error' },
      h('p', null, status === 'EXPIRED' ? t('checkout.expired', { n: r.seatNumber }) : t('checkout.notHeld')),
      h('a', { class: 'button primary', href: seatsHash(r) }, t('checkout.backToSeats'))));
    return;
  }

  const schedule = cache.schedules.get(r.scheduleId);
  let balance = wallet.balance;
  const balanceEl = h('dd', { id: 'checkout-balance' });
  const afterEl = h('dd');
  const cdValue = h('span', { class: 'countdown-value', id: 'countdown' });
  const countdown = h('div', { class: 'countdown', role: 'timer', 'aria-label': t('checkout.countdown') },
    h('span', { class: 'label' }, t('checkout.countdown')), cdValue);
  const payBtn = h('button', { type: 'button', class: 'button primary big', id: 'pay' }, t('checkout.pay', { price: money(r.price) }));
  const cancelBtn = h('button', { type: 'button', class: 'button', id: 'cancel-hold' }, t('checkout.cancel'));
  const topup = h('div', { class: 'topup-slot' });

  const renderBalance = (force = false) => {
    balanceEl.textContent = money(balance);
    afterEl.textContent = money(balance - r.price);
    afterEl.classList.toggle('negative', balance < r.price);
    topup.replaceChildren();
    if (balance < r.price || force) {
      const short = Math.max(1, r.price - balance);
      topup.append(h('section', { class: 'panel panel--warn', 'aria-labelledby': 'topup-title' },
        h('h2', { id: 'topup-title' }, t('wallet.charge')),
        h('p', null, t('checkout.notEnough', { amount: money(short) })),
        chargeForm(ctx, {
          suggested: Math.ceil(short / 10000) * 10000,
          onCharged: (res) => { balance = res.balance; renderBalance(); payBtn.focus(); },
        })));
    }
  };

  body.replaceChildren(
    h('section', { class: 'panel ticket-summary' },
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, t('checkout.concert')), h('dd', null, concert ? concert.title : '')),
        schedule ? h('div', null, h('dt', null, t('checkout.date')), h('dd', null, timeEl(schedule.startsAt))) : null,
        h('div', null, h('dt', null, t('checkout.seat')), h('dd', { id: 'checkout-seat' }, t('seats.seat', { n: r.seatNumber }))),
        h('div', null, h('dt', null, t('checkout.price')), h('dd', null, money(r.price))))),
    countdown,
    h('section', { class: 'panel' },
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, t('checkout.balance')), balanceEl),
        h('div', null, h('dt', null, t('checkout.after')), afterEl))),
    topup,
    h('div', { class: 'actions' }, payBtn, cancelBtn));
  renderBalance();

  // ---- countdown to heldUntil
  const until = Date.parse(r.heldUntil);
  const firstLeft = Math.ceil((until - Date.now()) / 1000);
  let warned = firstLeft <= 60;
  let paying = false;
  let expiredWhilePaying = false;
  let over = false;
  const backToSeats = (text) => {
    over = true;
    clearInterval(iv);
    payBtn.disabled = true;
    cancelBtn.disabled = true;
    notify(text, 'error');
    const later = setTimeout(() => { notify(text, 'error', { flash: true }); go(seatsHash(r), { replace: true }); }, EXPIRED_NAV_DELAY_MS);
    ctx.onCleanup(() => clearTimeout(later));
  };
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    cdValue.textContent = clock(left);
    countdown.classList.toggle('countdown--low', left <= 60);
    if (!warned && left <= 60) { warned = true; announce(t('checkout.warn1m')); }
    if (left === 0 && !over) {
      if (paying) { expiredWhilePaying = true; return; } // the payment's answer decides
      backToSeats(t('checkout.expired', { n: r.seatNumber }));
    }
  };
  const iv = setInterval(tick, 250);
  ctx.onCleanup(() => clearInterval(iv));
  tick();

  // ---- pay: one Idempotency-Key per intent, kept across retries and double clicks
  let payKey = uuid();
  payBtn.addEventListener('click', async () => {
    if (paying || over) return;
    paying = true;
    payBtn.disabled = true;
    cancelBtn.disabled = true;
    payBtn.textContent = t('checkout.paying');
    try {
      const payment = await api('POST', '/payments', { body: { reservationId: r.id }, idem: payKey });
      if (!ctx.alive()) return;
      over = true;
      clearInterval(iv);
      session.clearQueueToken(r.concertId); // paying expires the queue ticket
      showPaid(ctx, main, { ...r, status: 'CONFIRMED', confirmedAt: payment.createdAt }, concert, payment);
      return;
    } catch (e) {
      if (!ctx.alive()) return;
      if (!isTransient(e)) payKey = uuid(); // a definite answer ends this intent
      if (e.code === 'INSUFFICIENT_BALANCE') {
        notify(errorText(e.code), 'error');
        try { balance = (await api('GET', '/wallet')).balance; } catch { /* keep what we know */ }
        if (!ctx.alive()) return;
        renderBalance(true);
        const amount = topup.querySelector('input');
        if (amount) amount.focus();
      } else if (e.code === 'HOLD_EXPIRED' || e.code === 'SEAT_UNAVAILABLE' || e.code === 'RESERVATION_NOT_HELD') {
        paying = false;
        backToSeats(errorText(e.code));
        return;
      } else if (e.code === 'ALREADY_PAID') {
        over = true;
        clearInterval(iv);
        session.clearQueueToken(r.concertId);
        showPaid(ctx, main, { ...r, status: 'CONFIRMED' }, concert, null);
        return;
      } else {
        fail(ctx, e);
      }
    }
    paying = false;
    if (expiredWhilePaying) { backToSeats(t('checkout.expired', { n: r.seatNumber })); return; }
    payBtn.disabled = false;
    cancelBtn.disabled = false;
    payBtn.textContent = t('checkout.pay', { price: money(r.price) });
  });

  cancelBtn.addEventListener('click', async () => {
    if (paying || over || cancelBtn.disabled) return;
    cancelBtn.disabled = true;
    payBtn.disabled = true;
    cancelBtn.textContent = t('checkout.cancelling');
    try {
      await api('DELETE', `/reservations/${encodeURIComponent(r.id)}`);
      if (!ctx.alive()) return;
      over = true;
      notify(t('checkout.cancelled', { n: r.seatNumber }), 'info', { flash: true });
      go(seatsHash(r), { replace: true });
      return;
    } catch (e) {
      if (!ctx.alive()) return;
      if (e.code === 'RESERVATION_NOT_HELD') { backToSeats(errorText(e.code)); return; }
      fail(ctx, e);
    }
    cancelBtn.disabled = false;
    payBtn.disabled = false;
    cancelBtn.textContent = t('checkout.cancel');
  });
}

function showPaid(ctx, main, r, concert, payment) {
  const schedule = cache.schedules.get(r.scheduleId);
  const again = h('button', { type: 'button', class: 'button', id: 'buy-another' }, t('checkout.another'));
  again.addEventListener('click', () => { session.clearQueueToken(r.concertId); joinQueue(ctx, r.concertId, again); });
  const h1 = heading(t('checkout.success', { n: r.seatNumber }));
  main.replaceChildren(h1,
    h('article', { class: 'ticket', 'aria-label': t('checkout.ticket') },
      h('p', { class: 'ticket-kicker' }, t('checkout.ticket')),
      h('h2', null, concert ? concert.title : t('tickets.unknownConcert')),
      concert ? h('p', { class: 'performer' }, concert.performer) : null,
      h('dl', { class: 'facts' },
        schedule ? h('div', null, h('dt', null, t('checkout.date')), h('dd', null, timeEl(schedule.startsAt))) : null,
        h('div', null, h('dt', null, t('checkout.seat')), h('dd', null, t('seats.seat', { n: r.seatNumber }))),
        h('div', null, h('dt', null, t('checkout.price')), h('dd', null, money(r.price))),
        payment ? h('div', null, h('dt', null, t('checkout.balance')), h('dd', null, money(payment.balanceAfter))) : null),
      h('p', { class: 'status status--confirmed' }, '✓ ', t('tickets.status.CONFIRMED'))),
    h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/tickets' }, t('checkout.myTickets')), again));
  clearNotice();
  h1.focus();
  announce(t('checkout.success', { n: r.seatNumber }));
}

// ---------------------------------------------------------------- wallet

/** Amount input and "Top up" button. One Idempotency-Key per intent (same amount), kept on retries. */
function chargeForm(ctx, { suggested = 50000, onCharged, quick = false }) {
  const id = `amount-${Math.random().toString(36).slice(2, 8)}`;
  const input = h('input', {
    id, name: 'amount', type: 'number', inputmode: 'numeric', min: '1', step: '1', required: true, value: String(suggested),
  });
  const btn = h('button', { type: 'submit', class: 'button primary' }, t('wallet.charge'));
  let key = uuid();
  let keyAmount = null;
  let busy = false;
  const form = h('form', { class: 'charge-form' },
    h('label', { for: id }, t('wallet.amount')),
    h('div', { class: 'row' }, input, btn),
    quick ? h('div', { class: 'quick' }, [10000, 50000, 100000].map((n) => h('button', {
      type: 'button', class: 'button small',
      onclick: () => { input.value = String((parseInt(input.value, 10) || 0) + n); input.focus(); },
    }, t('wallet.quick', { amount: money(n) })))) : null);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const amount = Number(input.value);
    if (!Number.isInteger(amount) || amount < 1) { notify(t('wallet.invalidAmount'), 'error'); input.focus(); return; }
    if (keyAmount !== null && keyAmount !== amount) key = uuid(); // another amount is another intent
    keyAmount = amount;
    busy = true;
    btn.disabled = true;
    btn.textContent = t('wallet.charging');
    try {
      const res = await api('POST', '/wallet/charges', { body: { amount }, idem: key });
      key = uuid();
      keyAmount = null;
      if (!ctx.alive()) return;
      notify(t('wallet.charged', { amount: money(amount), balance: money(res.balance) }), 'success');
      if (onCharged) onCharged(res);
    } catch (e) {
      if (!isTransient(e)) { key = uuid(); keyAmount = null; }
      fail(ctx, e);
    } finally {
      busy = false;
      if (btn.isConnected) { btn.disabled = false; btn.textContent = t('wallet.charge'); }
    }
  });
  return form;
}

async function pageWallet(ctx, main) {
  if (!requireUser()) return;
  main.append(heading(t('wallet.title')));
  const balanceEl = h('p', { class: 'balance', id: 'wallet-balance' }, '…');
  const rows = h('tbody');
  const table = h('table', { class: 'tx' },
    h('caption', { class: 'visually-hidden' }, t('wallet.history')),
    h('thead', null, h('tr', null, ['wallet.col.date', 'wallet.col.kind', 'wallet.col.amount', 'wallet.col.after'].map((k) => h('th', { scope: 'col' }, t(k))))),
    rows);
  const empty = h('p', { class: 'muted', hidden: true }, t('wallet.empty'));
  const more = h('button', { type: 'button', class: 'button', hidden: true }, t('wallet.more'));
  let cursor = null;

  const loadTx = async (reset) => {
    if (reset) { cursor = null; }
    more.disabled = true;
    try {
      const q = `/wallet/transactions?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await api('GET', q);
      if (!ctx.alive()) return;
      if (reset) rows.replaceChildren();
      for (const tx of page.items) {
        rows.append(h('tr', { 'data-kind': tx.kind },
          h('td', null, timeEl(tx.createdAt)),
          h('td', null, t(`wallet.kind.${tx.kind}`)),
          h('td', { class: tx.amount < 0 ? 'num negative' : 'num positive' }, `${tx.amount > 0 ? '+' : '−'}${money(Math.abs(tx.amount))}`),
          h('td', { class: 'num' }, money(tx.balanceAfter))));
      }
      cursor = page.nextCursor || null;
      more.hidden = !cursor;
      empty.hidden = rows.children.length > 0;
      table.hidden = rows.children.length === 0;
    } catch (e) { fail(ctx, e); } finally { more.disabled = false; }
  };
  more.addEventListener('click', () => loadTx(false));

  main.append(
    h('section', { class: 'panel' }, h('h2', null, t('wallet.balance')), balanceEl),
    h('section', { class: 'panel' }, h('h2', null, t('wallet.charge')),
      chargeForm(ctx, { suggested: 50000, quick: true, onCharged: (res) => { balanceEl.textContent = money(res.balance); loadTx(true); } })),
    h('section', { class: 'panel' }, h('h2', null, t('wallet.history')), h('div', { class: 'table-wrap' }, table), empty, more));
  try {
    const w = await api('GET', '/wallet');
    if (!ctx.alive()) return;
    balanceEl.textContent = money(w.balance);
  } catch (e) { fail(ctx, e); return; }
  loadTx(true);
}

// ---------------------------------------------------------------- my tickets

async function pageTickets(ctx, main) {
  if (!requireUser()) return;
  main.append(heading(t('tickets.title')));
  const list = h('ul', { class: 'cards tickets', 'aria-busy': 'true' }, h('li', { class: 'muted' }, t('loading')));
  const more = h('button', { type: 'button', class: 'button', hidden: true }, t('tickets.more'));
  main.append(list, more);
  let cursor = null;
  let first = true;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api('GET', `/reservations?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      await Promise.all([...new Set(page.items.map((r) => r.concertId))].map((id) => getConcert(id).catch(() => null)));
      if (!ctx.alive()) return;
      if (first) { list.replaceChildren(); list.removeAttribute('aria-busy'); first = false; }
      for (const r of page.items) list.append(ticketCard(r));
      if (!list.children.length) list.append(h('li', { class: 'muted' }, t('tickets.empty')));
      cursor = page.nextCursor || null;
      more.hidden = !cursor;
    } catch (e) {
      if (first) loadFailed(ctx, list, e); else fail(ctx, e);
    } finally { more.disabled = false; }
  };
  more.addEventListener('click', load);
  await load();
}

function ticketCard(r) {
  const st = effectiveStatus(r);
  const concert = cache.concerts.get(r.concertId);
  const schedule = cache.schedules.get(r.scheduleId);
  const marks = { HELD: '◔', CONFIRMED: '✓', CANCELLED: '–', EXPIRED: '⌛' };
  let detail = t('tickets.createdAt', { time: when(r.createdAt) });
  if (st === 'CONFIRMED' && r.confirmedAt) detail = t('tickets.confirmedAt', { time: when(r.confirmedAt) });
  if (st === 'HELD') detail = t('tickets.heldUntil', { time: when(r.heldUntil) });
  return h('li', { class: `card ticket-card ticket-card--${st.toLowerCase()}`, 'data-reservation': r.id, 'data-status': st },
    h('div', null,
      h('h2', null, concert ? concert.title : t('tickets.unknownConcert')),
      h('p', null, schedule ? [timeEl(schedule.startsAt), ' · '] : null, t('tickets.seat', { n: r.seatNumber }), ' · ', money(r.price)),
      h('p', { class: 'muted small' }, detail)),
    h('div', { class: 'ticket-side' },
      h('p', { class: `status status--${st.toLowerCase()}` }, h('span', { 'aria-hidden': 'true' }, `${marks[st] || ''} `), t(`tickets.status.${st}`)),
      st === 'HELD' ? h('a', { class: 'button primary small', href: `#/reservations/${r.id}` }, t('tickets.pay')) : null));
}

// ---------------------------------------------------------------- account

function safeNext(query) {
  const next = query.get('next');
  return next && next.startsWith('#/') && !next.startsWith('#/account') ? next : '#/';
}

async function pageAccount(ctx, main, _args, query) {
  main.append(heading(t('account.title')));
  if (session.apiKey) {
    const out = h('button', { type: 'button', class: 'button', id: 'sign-out' }, t('account.signOut'));
    out.addEventListener('click', () => {
      if (!window.confirm(t('account.signOutConfirm'))) return;
      session.signOut();
      notify(t('account.signedOut'), 'info', { flash: true });
      go('#/');
    });
    main.append(h('section', { class: 'panel' }, h('p', null, t('account.signedInAs', { name: session.name || '' })), out));
    return;
  }
  const next = safeNext(query);

  // Sign up: name → a new API key, shown exactly once.
  const nameInput = h('input', { id: 'signup-name', name: 'name', type: 'text', maxlength: '100', required: true, autocomplete: 'nickname' });
  const createBtn = h('button', { type: 'submit', class: 'button primary' }, t('account.create'));
  const signup = h('form', { class: 'panel', 'aria-labelledby': 'signup-title' },
    h('h2', { id: 'signup-title' }, t('account.new')),
    h('label', { for: 'signup-name' }, t('account.name')),
    h('div', { class: 'row' }, nameInput, createBtn));
  signup.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (createBtn.disabled) return;
    const name = nameInput.value.trim();
    if (!name || [...name].length > 100) { notify(t('account.nameRequired'), 'error'); nameInput.focus(); return; }
    createBtn.disabled = true;
    createBtn.textContent = t('account.creating');
    try {
      const user = await api('POST', '/users', { body: { name }, auth: false });
      session.signIn(user.apiKey, user.name);
      if (!ctx.alive()) return;
      showKeyOnce(ctx, main, user, next);
    } catch (e) {
      fail(ctx, e);
      createBtn.disabled = false;
      createBtn.textContent = t('account.create');
    }
  });

  // Sign in: an existing key, checked with GET /users/me before we keep it.
  const keyInput = h('input', { id: 'signin-key', name: 'apiKey', type: 'password', required: true, autocomplete: 'current-password', spellcheck: 'false' });
  const inBtn = h('button', { type: 'submit', class: 'button' }, t('account.signIn'));
  const signin = h('form', { class: 'panel', 'aria-labelledby': 'signin-title' },
    h('h2', { id: 'signin-title' }, t('account.have')),
    h('label', { for: 'signin-key' }, t('account.key')),
    h('div', { class: 'row' }, keyInput, inBtn));
  signin.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (inBtn.disabled) return;
    const key = keyInput.value.trim();
    if (!key) { notify(t('account.keyRequired'), 'error'); keyInput.focus(); return; }
    inBtn.disabled = true;
    inBtn.textContent = t('account.signingIn');
    try {
      const res = await fetch(`${API}/users/me`, { headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' }, cache: 'no-store' })
        .catch(() => { throw new ApiError(0, 'NETWORK'); });
      const me = await res.json().catch(() => null);
      if (!res.ok) throw new ApiError(res.status, (me && me.code) || (res.status === 401 ? 'UNAUTHORIZED' : 'SERVER_ERROR'));
      session.signIn(key, me.name);
      if (!ctx.alive()) return;
      notify(t('account.welcome', { name: me.name }), 'success', { flash: true });
      go(next);
    } catch (e) {
      // A wrong key here is not an expired session: just say so.
      notify(e.code === 'UNAUTHORIZED' ? t('account.badKey') : errorText(e.code), 'error');
      inBtn.disabled = false;
      inBtn.textContent = t('account.signIn');
      keyInput.focus();
    }
  });
  main.append(h('div', { class: 'two-col' }, signup, signin));
}

function showKeyOnce(ctx, main, user, next) {
  const keyBox = h('code', { class: 'api-key', id: 'api-key' }, user.apiKey);
  const copied = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'button' }, t('account.copy'));
  copy.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(user.apiKey); copied.textContent = t('account.copied'); } catch {
      const range = document.createRange();
      range.selectNodeContents(keyBox);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
  });
  const cont = h('button', { type: 'button', class: 'button primary', id: 'key-saved' }, t('account.saved'));
  cont.addEventListener('click', () => go(next));
  const h1 = heading(t('account.welcome', { name: user.name }));
  main.replaceChildren(h1,
    h('section', { class: 'panel panel--warn', 'aria-labelledby': 'key-title' },
      h('h2', { id: 'key-title' }, t('account.keyTitle')),
      h('p', { role: 'note' }, h('strong', null, '⚠ '), t('account.keyWarning')),
      h('div', { class: 'key-row' }, keyBox, copy, copied),
      cont));
  renderHeader('account');
  h1.focus();
}

// ---------------------------------------------------------------- start

function start() {
  initLang();
  document.title = t('app.name');
  const skip = $('#skip-link');
  skip.textContent = t('skip');
  skip.addEventListener('click', () => $('#main').focus());
  window.addEventListener('hashchange', route);
  route();
  // Refresh the stored name, and drop a key the server no longer knows.
  if (session.apiKey) {
    api('GET', '/users/me').then((me) => {
      if (me && me.name !== session.name) { session.setName(me.name); renderHeader(currentSection); }
    }).catch((e) => {
      if (e.code === 'UNAUTHORIZED') {
        session.signOut();
        renderHeader(null);
        notify(t('account.expired'), 'error');
      }
    });
  }
}

start();
