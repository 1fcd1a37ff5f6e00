// encore web front, entry point: a hash-routed page over the public HTTP API (/api/v1) and nothing
// else. Plain ES2020 modules, no build step, no framework; served under /assets/js/.
import { t, initLang } from './i18n.js';
import { $ } from './dom.js';
import { session } from './session.js';
import { api } from './api.js';
import { notify } from './notice.js';
import { fail } from './errors.js';
import { startRouter, currentSection } from './router.js';
import { renderHeader } from './header.js';
import { pageConcerts, pageConcert } from './pages/concerts.js';
import { pageQueue } from './pages/queue.js';
import { pageDates } from './pages/dates.js';
import { pageSeats } from './pages/seats.js';
import { pageCheckout } from './pages/checkout.js';
import { pageTickets } from './pages/tickets.js';
import { pageWaitlist } from './pages/waitlist.js';
import { pageWallet } from './pages/wallet.js';
import { pageAccount } from './pages/account.js';
import { pageNotFound } from './pages/not-found.js';

// [address pattern, page, section marked in the menu]
const ROUTES = [
  [/^\/$/, pageConcerts, 'concerts'],
  [/^\/concerts$/, pageConcerts, 'concerts'],
  [/^\/concerts\/([^/]+)$/, pageConcert, 'concerts'],
  [/^\/concerts\/([^/]+)\/queue$/, pageQueue, 'concerts'],
  [/^\/concerts\/([^/]+)\/dates$/, pageDates, 'concerts'],
  [/^\/concerts\/([^/]+)\/schedules\/([^/]+)$/, pageSeats, 'concerts'],
  [/^\/reservations\/([^/]+)$/, pageCheckout, 'tickets'],
  [/^\/tickets$/, pageTickets, 'tickets'],
  [/^\/waitlist$/, pageWaitlist, 'waitlist'],
  [/^\/wallet$/, pageWallet, 'wallet'],
  [/^\/account$/, pageAccount, 'account'],
];

function start() {
  initLang();
  document.title = t('app.name');
  const skip = $('#skip-link');
  skip.textContent = t('skip');
  skip.addEventListener('click', () => $('#main').focus());
  startRouter({ table: ROUTES, notFound: pageNotFound, enter: renderHeader, error: fail });
  // Refresh the stored name, and drop a key the server no longer knows.
  if (session.apiKey) {
    api('GET', '/users/me').then((me) => {
      if (me && me.name !== session.name) { session.setName(me.name); renderHeader(currentSection()); }
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
