// Form pieces the box office pages share: labelled fields, a form's error line, a confirm step.
import { t, errorText } from '../i18n.js';
import { h } from '../dom.js';

let seq = 0;
/** A labelled input; `hint` is read with it. Returns { row, input }. */
export function field(label, attrs = {}, hint = null) {
  const id = `f${++seq}`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h(attrs.tag || 'input', { id, 'aria-describedby': hintId, ...attrs, tag: null });
  const row = h('div', { class: 'form-row' }, h('label', { for: id }, label), input,
    hint ? h('p', { class: 'field-hint', id: hintId }, hint) : null);
  return { row, input };
}

/** The line under a form that says why the server refused it (its problem detail). */
export function errorLine() {
  const el = h('p', { class: 'field-hint field-hint--error', role: 'alert', hidden: true });
  return {
    el,
    show(err) { el.hidden = false; el.textContent = err.detail ? `${errorText(err.code)} (${err.detail})` : errorText(err.code); },
    clear() { el.hidden = true; el.textContent = ''; },
  };
}

/** A button that asks once more before it acts. */
export function confirmButton(label, question, act, cls = 'button') {
  const btn = h('button', { type: 'button', class: cls }, label);
  const box = h('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': question },
    h('p', null, question),
    h('button', { type: 'button', class: 'button primary small', onclick: async () => { box.hidden = true; btn.hidden = false; await act(); } }, t('admin.yes')),
    h('button', { type: 'button', class: 'button small', onclick: () => { box.hidden = true; btn.hidden = false; btn.focus(); } }, t('admin.no')));
  btn.addEventListener('click', () => { btn.hidden = true; box.hidden = false; box.querySelector('button').focus(); });
  return h('span', { class: 'confirm-wrap' }, btn, box);
}

/** A definition list of label/value pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}
