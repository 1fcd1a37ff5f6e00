// Money, dates and durations in the page's language.
import { t, locale } from './i18n.js';
import { h } from './dom.js';

export const money = (n) => new Intl.NumberFormat(locale(), { style: 'currency', currency: 'KRW', maximumFractionDigits: 0 }).format(n);
export const when = (iso) => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
export const timeEl = (iso) => h('time', { datetime: iso }, when(iso));
/** Seconds as m:ss, for the checkout countdown. */
export const clock = (secs) => `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;

/** The estimated wait in the waiting room, in words. */
export function waitText(secs) {
  if (secs === null || secs === undefined) return t('queue.waitUnknown');
  if (secs < 60) return t('queue.waitSeconds', { n: Math.max(1, Math.round(secs)) });
  return t('queue.waitMinutes', { n: Math.ceil(secs / 60) });
}
