// What the fan sees when an API call fails, and where they are sent next.
import { t, errorText } from './i18n.js';
import { h } from './dom.js';
import { session } from './session.js';
import { ApiError, QUEUE_LOST } from './api.js';
import { notify } from './notice.js';
import { go, route } from './router.js';

/** Turn an API error into what the fan sees, and where they go next. */
export function fail(ctx, err, { concertId } = {}) {
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
export function loadFailed(ctx, container, err, opts) {
  if (!ctx.alive()) return;
  container.removeAttribute('aria-busy');
  container.replaceChildren(h('div', { class: 'panel panel--error' },
    h('p', null, errorText(err.code)),
    h('button', { type: 'button', class: 'button', onclick: () => route() }, t('retry'))));
  fail(ctx, err, opts);
}
