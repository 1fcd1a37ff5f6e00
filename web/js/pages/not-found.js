// The page for an address that matches no route.
import { t } from '../i18n.js';
import { h, heading } from '../dom.js';

export function pageNotFound(ctx, main) {
  main.append(heading(t('notfound.title')), h('p', null, t('notfound.body')),
    h('a', { class: 'button', href: '#/' }, t('notfound.home')));
}
