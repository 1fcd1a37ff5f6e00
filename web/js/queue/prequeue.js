// The waiting room before the on-sale time: a countdown to it, ticking each second and read out
// to screen readers only now and then, and what happens at the start.
import { t } from '../i18n.js';
import { h, announce } from '../dom.js';
import { clock, timeEl } from '../format.js';

const pad = (n) => String(n).padStart(2, '0');

/** Seconds left as the countdown shows them: m:ss, h:mm:ss, or days and h:mm:ss. */
export function countdownText(secs) {
  if (secs < 3600) return clock(secs);
  const d = Math.floor(secs / 86400);
  const rest = secs % 86400;
  const hms = `${Math.floor(rest / 3600)}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
  return d > 0 ? t('prequeue.days', { d, time: hms }) : hms;
}

/**
 * What screen readers hear at `secs` before the start, or null: every hour while more than an
 * hour is left, every minute in the last hour, then at 30 s, 10 s, each of the last five
 * seconds, and at the start. The countdown itself is a timer role and is not live.
 */
export function spokenAt(secs) {
  if (secs <= 0) return t('prequeue.sayNow');
  if (secs > 3600) return secs % 3600 === 0 ? t('prequeue.sayHours', { n: secs / 3600 }) : null;
  if (secs % 60 === 0) return secs === 60 ? t('prequeue.say1m') : t('prequeue.sayMinutes', { n: secs / 60 });
  if (secs === 30 || secs === 10) return t('prequeue.saySeconds', { n: secs });
  if (secs <= 5) return String(secs);
  return null;
}

/**
 * The pre-queue view for a ticket with `onSaleAt`. Returns { el, stop }: the countdown runs until
 * stop() (the page's cleanup, or the draw moving the ticket on).
 */
export function preQueueView(onSaleAt) {
  const at = Date.parse(onSaleAt);
  const value = h('p', { class: 'onsale-countdown', id: 'onsale-countdown', role: 'timer', 'aria-labelledby': 'onsale-label' });
  const el = h('div', { class: 'prequeue', id: 'prequeue' },
    h('p', { class: 'label', id: 'onsale-label' }, t('prequeue.title')),
    value,
    h('p', { class: 'onsale-at' }, t('prequeue.startsAtLead'), ' ', timeEl(onSaleAt)),
    h('div', { class: 'prequeue-what' },
      h('h2', null, t('prequeue.whatTitle')),
      h('ul', null,
        h('li', null, t('prequeue.what1')),
        h('li', null, t('prequeue.what2')),
        h('li', null, t('prequeue.what3'))),
      h('p', { class: 'muted small' }, t('prequeue.keep'))));

  let timer = null;
  let lastSecs = null;
  const tick = () => {
    const ms = at - Date.now();
    const secs = Math.max(0, Math.ceil(ms / 1000));
    value.textContent = secs > 0 ? countdownText(secs) : t('prequeue.starting');
    value.dataset.seconds = String(secs);
    // Only a second actually reached is spoken (a throttled background tab skips some: fine).
    if (lastSecs !== null && secs !== lastSecs) {
      const said = spokenAt(secs);
      if (said) announce(said);
    }
    lastSecs = secs;
    if (secs > 0) timer = setTimeout(tick, ((ms % 1000) || 1000) + 5);
    else timer = null;
  };
  tick();
  return { el, stop: () => { if (timer) clearTimeout(timer); timer = null; } };
}
