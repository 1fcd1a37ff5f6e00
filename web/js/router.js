// Hash routing: which page shows for `#/…`, navigation, and the lifetime of a shown page (its ctx).
import { t } from './i18n.js';
import { $ } from './dom.js';
import { session } from './session.js';
import { notify, freshNotices } from './notice.js';

let routes = [];
let notFoundPage = null;
let onEnter = () => {};
let onError = () => {};
let routeGen = 0;
let current = null;
let firstRoute = true;
let section = null;

/**
 * Start routing. `table` holds [pattern, page, nav section] rows; a page is called as
 * page(ctx, main, args, query). `enter(section)` runs before each page (the header), `error(ctx, e)`
 * gets what a page throws.
 */
export function startRouter({ table, notFound, enter, error }) {
  routes = table;
  notFoundPage = notFound;
  onEnter = enter;
  onError = error;
  window.addEventListener('hashchange', route);
  route();
}

/** The nav section of the page shown now (null when none is highlighted). */
export function currentSection() { return section; }

export function go(hash, { replace = false } = {}) {
  if (location.hash === hash) { route(); return; }
  if (replace) location.replace(hash);
  else location.hash = hash;
}

/**
 * Show the page for the current address. The previous page's cleanups run first; a page checks
 * ctx.alive() after each await, since the fan may have moved on meanwhile.
 */
export function route() {
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
  freshNotices();
  const main = $('#main');
  main.replaceChildren();
  let nav = null;
  let page = notFoundPage;
  let args = [];
  for (const [re, fn, name] of routes) {
    const m = path.match(re);
    if (m) { page = fn; nav = name; args = m.slice(1).map(decodeURIComponent); break; }
  }
  section = nav;
  onEnter(nav);
  Promise.resolve(page(ctx, main, args, query)).catch((e) => onError(ctx, e));
  // Move focus to the new page's heading so keyboard and screen-reader users start there.
  const h1 = main.querySelector('h1');
  if (h1 && !firstRoute) h1.focus({ preventScroll: false });
  firstRoute = false;
}

/** For pages that need a signed-in fan: others go to the account page, and come back after. */
export function requireUser() {
  if (session.apiKey) return true;
  notify(t('concert.signinFirst'), 'info', { flash: true });
  go(`#/account?next=${encodeURIComponent(location.hash)}`, { replace: true });
  return false;
}
