// The site header: brand, main menu (marking the current section), the fan's name, language switch.
import { t, getLang, setLang } from './i18n.js';
import { $, h } from './dom.js';
import { session } from './session.js';
import { route } from './router.js';

export function renderHeader(section) {
  const link = (href, key, name) => h('li', null, h('a', { href, 'aria-current': section === name ? 'page' : null }, t(key)));
  const other = getLang() === 'ko' ? 'en' : 'ko';
  const signedIn = !!session.apiKey;
  $('#top').replaceChildren(...[
    h('a', { class: 'brand', href: '#/' }, t('app.name')),
    h('nav', { 'aria-label': t('nav.label') }, h('ul', { class: 'nav' },
      link('#/', 'nav.concerts', 'concerts'),
      signedIn ? link('#/tickets', 'nav.tickets', 'tickets') : null,
      signedIn ? link('#/waitlist', 'nav.waitlist', 'waitlist') : null,
      signedIn ? link('#/wallet', 'nav.wallet', 'wallet') : null,
      link('#/account', signedIn ? 'nav.account' : 'nav.signin', 'account'))),
    signedIn && session.name ? h('span', { class: 'user-chip' }, session.name) : null,
    h('button', {
      type: 'button', class: 'lang-toggle', lang: other, 'aria-label': t('lang.switchLabel'),
      onclick: () => { setLang(other); document.title = t('app.name'); $('#skip-link').textContent = t('skip'); route(); },
    }, t('lang.switch'))].filter(Boolean));
}
