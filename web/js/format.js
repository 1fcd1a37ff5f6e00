// Money, dates and durations in the page's language.
import { t, locale, getLang } from './i18n.js';
import { h } from './dom.js';

const formats = new Map();
/** Won as fans read them: "198,000원" in Korean, "₩198,000" in English (formatters kept, as maps call this often). */
export function money(n) {
  const lang = getLang();
  let f = formats.get(lang);
  if (!f) {
    f = lang === 'ko' ? new Intl.NumberFormat('ko-KR', { maximumFractionDigits: 0 })
      : new Intl.NumberFormat(locale(), { style: 'currency', currency: 'KRW', maximumFractionDigits: 0 });
    formats.set(lang, f);
  }
  return lang === 'ko' ? `${f.format(n)}원` : f.format(n);
}
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
