// The account page: sign up (the API key shown once), sign in with a key, or sign out.
import { t, errorText } from '../i18n.js';
import { h, heading } from '../dom.js';
import { session } from '../session.js';
import { api, userForKey } from '../api.js';
import { notify } from '../notice.js';
import { fail } from '../errors.js';
import { go } from '../router.js';
import { renderHeader } from '../header.js';

function safeNext(query) {
  const next = query.get('next');
  return next && next.startsWith('#/') && !next.startsWith('#/account') ? next : '#/';
}

export async function pageAccount(ctx, main, _args, query) {
  main.append(heading(t('account.title')));
  if (session.apiKey) {
    const out = h('button', { type: 'button', class: 'button', id: 'sign-out' }, t('account.signOut'));
    out.addEventListener('click', () => {
      if (!window.confirm(t('account.signOutConfirm'))) return;
      session.signOut();
      notify(t('account.signedOut'), 'info', { flash: true });
      go('#/');
    });
    main.append(h('section', { class: 'panel' }, h('p', null, t('account.signedInAs', { name: session.name || '' })), out));
    return;
  }
  const next = safeNext(query);

  // Sign up: name → a new API key, shown exactly once.
  const nameInput = h('input', { id: 'signup-name', name: 'name', type: 'text', maxlength: '100', required: true, autocomplete: 'nickname' });
  const createBtn = h('button', { type: 'submit', class: 'button primary' }, t('account.create'));
  const signup = h('form', { class: 'panel', 'aria-labelledby': 'signup-title' },
    h('h2', { id: 'signup-title' }, t('account.new')),
    h('label', { for: 'signup-name' }, t('account.name')),
    h('div', { class: 'row' }, nameInput, createBtn));
  signup.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (createBtn.disabled) return;
    const name = nameInput.value.trim();
    if (!name || [...name].length > 100) { notify(t('account.nameRequired'), 'error'); nameInput.focus(); return; }
    createBtn.disabled = true;
    createBtn.textContent = t('account.creating');
    try {
      const user = await api('POST', '/users', { body: { name }, auth: false });
      session.signIn(user.apiKey, user.name);
      if (!ctx.alive()) return;
      showKeyOnce(ctx, main, user, next);
    } catch (e) {
      fail(ctx, e);
      createBtn.disabled = false;
      createBtn.textContent = t('account.create');
    }
  });

  // Sign in: an existing key, checked with GET /users/me before we keep it.
  const keyInput = h('input', { id: 'signin-key', name: 'apiKey', type: 'password', required: true, autocomplete: 'current-password', spellcheck: 'false' });
  const inBtn = h('button', { type: 'submit', class: 'button' }, t('account.signIn'));
  const signin = h('form', { class: 'panel', 'aria-labelledby': 'signin-title' },
    h('h2', { id: 'signin-title' }, t('account.have')),
    h('label', { for: 'signin-key' }, t('account.key')),
    h('div', { class: 'row' }, keyInput, inBtn));
  signin.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (inBtn.disabled) return;
    const key = keyInput.value.trim();
    if (!key) { notify(t('account.keyRequired'), 'error'); keyInput.focus(); return; }
    inBtn.disabled = true;
    inBtn.textContent = t('account.signingIn');
    try {
      const me = await userForKey(key);
      session.signIn(key, me.name);
      if (!ctx.alive()) return;
      notify(t('account.welcome', { name: me.name }), 'success', { flash: true });
      go(next);
    } catch (e) {
      // A wrong key here is not an expired session: just say so.
      notify(e.code === 'UNAUTHORIZED' ? t('account.badKey') : errorText(e.code), 'error');
      inBtn.disabled = false;
      inBtn.textContent = t('account.signIn');
      keyInput.focus();
    }
  });
  main.append(h('div', { class: 'two-col' }, signup, signin));
}

function showKeyOnce(ctx, main, user, next) {
  const keyBox = h('code', { class: 'api-key', id: 'api-key' }, user.apiKey);
  const copied = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'button' }, t('account.copy'));
  copy.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(user.apiKey); copied.textContent = t('account.copied'); } catch {
      const range = document.createRange();
      range.selectNodeContents(keyBox);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
  });
  const cont = h('button', { type: 'button', class: 'button primary', id: 'key-saved' }, t('account.saved'));
  cont.addEventListener('click', () => go(next));
  const h1 = heading(t('account.welcome', { name: user.name }));
  main.replaceChildren(h1,
    h('section', { class: 'panel panel--warn', 'aria-labelledby': 'key-title' },
      h('h2', { id: 'key-title' }, t('account.keyTitle')),
      h('p', { role: 'note' }, h('strong', null, '⚠ '), t('account.keyWarning')),
      h('div', { class: 'key-row' }, keyBox, copy, copied),
      cont));
  renderHeader('account');
  h1.focus();
}
