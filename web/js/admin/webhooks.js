// Webhooks in the box office: the endpoints (a new one shows its secret once), and each one's
// delivery log.
import { t } from '../i18n.js';
import { h, heading, announce } from '../dom.js';
import { when } from '../format.js';
import { loadFailed } from '../errors.js';
import { call } from './api.js';
import { field, errorLine, confirmButton } from './ui.js';

const EVENTS = ['reservation.confirmed', 'reservation.refunded', 'schedule.cancelled', 'ticket.checked_in', 'concert.sold_out'];

export async function pageWebhooks(ctx, main) {
  main.append(heading(t('admin.webhooks')), h('p', { class: 'field-hint' }, t('admin.webhooksHint')));
  const list = h('div', { 'aria-busy': 'true' }, t('loading'));
  const secretBox = h('div', { class: 'panel panel--info', hidden: true, role: 'status' });
  main.append(secretBox, list, h('h2', null, t('admin.newWebhook')), webhookForm(secretBox, () => load()));
  const load = async () => {
    try {
      const { items } = await call('GET', '/admin/webhooks');
      if (!ctx.alive()) return;
      list.removeAttribute('aria-busy');
      list.replaceChildren(items.length
        ? h('ul', { class: 'cards' }, ...items.map((w) => h('li', { class: 'card card-body', 'data-webhook': w.id },
          h('h2', null, h('a', { href: `#/webhooks/${w.id}` }, w.url)),
          h('p', null, w.events.join(', ')),
          h('p', { class: 'label' }, when(w.createdAt)),
          confirmButton(t('admin.delete'), t('admin.deleteWebhook'), async () => {
            try { await call('DELETE', `/admin/webhooks/${w.id}`); announce(t('admin.deleted')); load(); } catch (e) { loadFailed(ctx, list, e); }
          }, 'button small'))))
        : h('p', { class: 'muted' }, t('admin.noWebhooks')));
    } catch (e) { loadFailed(ctx, list, e); }
  };
  await load();
}

function webhookForm(secretBox, done) {
  const url = field(t('admin.url'), { type: 'url', required: true, maxlength: 2048, placeholder: 'https://example.com/encore' });
  const boxes = EVENTS.map((e, i) => {
    const input = h('input', { type: 'checkbox', id: `ev${i}`, value: e, checked: true });
    return h('div', { class: 'check-row' }, input, h('label', { for: `ev${i}` }, h('code', null, e)));
  });
  const err = errorLine();
  const form = h('form', { class: 'panel admin-form' }, url.row,
    h('fieldset', null, h('legend', null, t('admin.events')), ...boxes), err.el,
    h('button', { type: 'submit', class: 'button primary' }, t('admin.create')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.clear();
    const events = [...form.querySelectorAll('input[type=checkbox]:checked')].map((b) => b.value);
    try {
      const w = await call('POST', '/admin/webhooks', { url: url.input.value, events });
      const secret = h('code', { class: 'api-key' }, w.secret);
      const copy = h('button', { type: 'button', class: 'button small', onclick: async () => {
        try { await navigator.clipboard.writeText(w.secret); copy.textContent = t('admin.copied'); } catch { /* no clipboard: select it */ }
      } }, t('admin.copy'));
      secretBox.hidden = false;
      secretBox.replaceChildren(h('p', null, t('admin.secretOnce')), h('p', null, secret, ' ', copy));
      url.input.value = '';
      done();
    } catch (x) { err.show(x); }
  });
  return form;
}

export async function pageDeliveries(ctx, main, [id]) {
  main.append(heading(t('admin.deliveries')), h('p', null, h('a', { href: '#/webhooks' }, `← ${t('admin.webhooks')}`)));
  const box = h('div', { 'aria-busy': 'true' }, t('loading'));
  main.append(box);
  try {
    const page = await call('GET', `/admin/webhooks/${id}/deliveries?limit=100`);
    if (!ctx.alive()) return;
    box.removeAttribute('aria-busy');
    box.replaceChildren(page.items.length
      ? h('div', { class: 'table-wrap' }, h('table', null,
        h('thead', null, h('tr', null, ...['admin.event', 'admin.status', 'admin.attempts', 'admin.lastAnswer', 'admin.when'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', null, ...page.items.map((d) => h('tr', { 'data-status': d.status },
          h('td', null, h('code', null, d.type)),
          h('td', null, t(`admin.delivery.${d.status}`)),
          h('td', { class: 'num' }, String(d.attempts)),
          h('td', null, d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : (d.lastError || '—')),
          h('td', null, d.deliveredAt ? when(d.deliveredAt) : (d.nextAttemptAt ? t('admin.nextAttempt', { time: when(d.nextAttemptAt) }) : when(d.createdAt))))))))
      : h('p', { class: 'muted' }, t('admin.noDeliveries')));
  } catch (e) { loadFailed(ctx, box, e); }
}
