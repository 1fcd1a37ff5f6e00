// The box office at /admin: sign in with the admin token, then concerts, dates, the live sales
// dashboard, webhooks and check-in. Same modules and approach as the fan site.
import { t, initLang, getLang, setLang } from '../i18n.js';
import { $, h, heading } from '../dom.js';
import { notify } from '../notice.js';
import { startRouter, route, go } from '../router.js';
import { admin, call } from './api.js';
import { field, errorLine } from './ui.js';
import { pageConcerts, pageConcert } from './concerts.js';
import { pageSchedule } from './schedule.js';
import { pageDashboard } from './dashboard.js';
import { pageWebhooks, pageDeliveries } from './webhooks.js';
import { pageCheckin } from './checkin.js';

const guarded = (page) => (ctx, main, args, query) => (admin.token ? page(ctx, main, args, query) : pageSignIn(ctx, main));

const ROUTES = [
  [/^\/$/, guarded(pageConcerts), 'concerts'],
  [/^\/concerts\/([^/]+)$/, guarded(pageConcert), 'concerts'],
  [/^\/concerts\/([^/]+)\/dashboard$/, guarded(pageDashboard), 'concerts'],
  [/^\/schedules\/([^/]+)$/, guarded(pageSchedule), 'concerts'],
  [/^\/webhooks$/, guarded(pageWebhooks), 'webhooks'],
  [/^\/webhooks\/([^/]+)$/, guarded(pageDeliveries), 'webhooks'],
  [/^\/checkin$/, guarded(pageCheckin), 'checkin'],
];

function renderHeader(section) {
  const link = (href, key, name) => h('li', null, h('a', { href, 'aria-current': section === name ? 'page' : null }, t(key)));
  const other = getLang() === 'ko' ? 'en' : 'ko';
  $('#top').replaceChildren(...[
    h('a', { class: 'brand', href: '#/' }, t('admin.brand')),
    admin.token ? h('nav', { 'aria-label': t('nav.label') }, h('ul', { class: 'nav' },
      link('#/', 'admin.nav.concerts', 'concerts'),
      link('#/webhooks', 'admin.nav.webhooks', 'webhooks'),
      link('#/checkin', 'admin.nav.checkin', 'checkin'))) : null,
    admin.token ? h('button', { type: 'button', class: 'button small', onclick: () => { admin.signOut(); go('#/'); route(); } }, t('admin.signOut')) : null,
    h('button', {
      type: 'button', class: 'lang-toggle', lang: other, 'aria-label': t('lang.switchLabel'),
      onclick: () => { setLang(other); document.title = t('admin.title'); $('#skip-link').textContent = t('skip'); route(); },
    }, t('lang.switch'))].filter(Boolean));
}

function pageSignIn(ctx, main) {
  const token = field(t('admin.token'), { type: 'password', autocomplete: 'current-password', required: true }, t('admin.tokenHint'));
  const err = errorLine();
  const form = h('form', { class: 'panel narrow' }, token.row, err.el,
    h('button', { type: 'submit', class: 'button primary' }, t('admin.signIn')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.clear();
    admin.signIn(token.input.value.trim());
    try {
      await call('GET', '/admin/concerts');
      notify(t('admin.signedIn'), 'info', { flash: true });
      route();
    } catch (x) {
      admin.signOut();
      err.show(x);
      token.input.focus();
    }
  });
  main.append(heading(t('admin.signInTitle')), form);
}

initLang();
document.title = t('admin.title');
const skip = $('#skip-link');
skip.textContent = t('skip');
skip.addEventListener('click', () => $('#main').focus());
startRouter({
  table: ROUTES,
  notFound: (ctx, main) => main.append(heading(t('notfound.title'))),
  enter: renderHeader,
  error: (ctx, e) => notify(e.detail || e.message || String(e), 'error'),
});
