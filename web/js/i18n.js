// Language of the page (Korean or English): choosing it, remembering it, and looking up text.
import ko from './i18n/ko.js';
import en from './i18n/en.js';

export const MESSAGES = { ko, en };
export const LANGS = ['ko', 'en'];
const STORE_KEY = 'encore.lang';

let current = 'en';

/** Language chosen before, else the first of navigator.languages we speak, else English. */
export function initLang() {
  let saved = null;
  try { saved = localStorage.getItem(STORE_KEY); } catch { /* storage blocked */ }
  if (LANGS.includes(saved)) {
    current = saved;
  } else {
    const prefs = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || 'en'];
    current = 'en';
    for (const p of prefs) {
      const base = String(p).toLowerCase().split('-')[0];
      if (LANGS.includes(base)) { current = base; break; }
    }
  }
  document.documentElement.lang = current;
  return current;
}

export function getLang() { return current; }

export function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  current = lang;
  try { localStorage.setItem(STORE_KEY, lang); } catch { /* storage blocked */ }
  document.documentElement.lang = lang;
}

/** Translate `key`, filling `{name}` placeholders from `vars`. Falls back to English, then the key. */
export function t(key, vars) {
  let s = MESSAGES[current][key];
  if (s === undefined) s = en[key];
  if (s === undefined) return key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/** The sentence a fan reads for an API error code; unknown codes get a friendly generic one. */
export function errorText(code) {
  const key = `err.${code}`;
  return (key in en) ? t(key) : t('err.generic');
}

export function locale() { return current === 'ko' ? 'ko-KR' : 'en-GB'; }
