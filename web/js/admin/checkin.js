// Check-in at the gate: a ticket code pasted (or read by the camera where the browser can read QR
// codes), the answer in large type, and who is in so far per date of a concert.
import { t } from '../i18n.js';
import { h, heading, announce } from '../dom.js';
import { when } from '../format.js';
import { call } from './api.js';
import { field } from './ui.js';

export async function pageCheckin(ctx, main) {
  main.append(heading(t('admin.checkin')));
  const code = field(t('admin.ticketCode'), { tag: 'textarea', rows: 3, required: true, spellcheck: 'false', autocomplete: 'off' }, t('admin.ticketCodeHint'));
  const result = h('div', { class: 'checkin-result', role: 'status', 'aria-live': 'assertive' });
  const form = h('form', { class: 'panel admin-form' }, code.row,
    h('button', { type: 'submit', class: 'button primary big' }, t('admin.checkIn')));
  const scan = async (text) => {
    result.className = 'checkin-result';
    try {
      const r = await call('POST', '/checkins', { code: text.trim() });
      result.classList.add('checkin-result--ok');
      result.replaceChildren(h('p', { class: 'big' }, `✓ ${t('admin.admitted')}`), h('p', null, t('admin.seat'), ': ', r.seat, ' · ', when(r.checkedInAt)));
      announce(`${t('admin.admitted')} ${r.seat}`);
    } catch (e) {
      const key = { ALREADY_CHECKED_IN: 'admin.already', TICKET_VOID: 'admin.void', TICKET_INVALID: 'admin.invalid' }[e.code];
      result.classList.add('checkin-result--bad');
      result.replaceChildren(h('p', { class: 'big' }, `✗ ${key ? t(key) : (e.detail || e.code)}`), e.detail ? h('p', null, e.detail) : null);
    }
    code.input.value = '';
    code.input.focus();
    loadCounts();
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); if (code.input.value.trim()) scan(code.input.value); });
  main.append(form, result);

  // The camera, where the browser reads QR codes itself.
  if ('BarcodeDetector' in window && navigator.mediaDevices) {
    const video = h('video', { class: 'scanner', playsinline: true, muted: true, hidden: true });
    const start = h('button', { type: 'button', class: 'button' }, t('admin.useCamera'));
    start.addEventListener('click', async () => {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        ctx.onCleanup(() => stream.getTracks().forEach((tr) => tr.stop()));
        video.srcObject = stream;
        video.hidden = false;
        await video.play();
        const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
        let last = '';
        const look = async () => {
          if (!ctx.alive()) return;
          const codes = await detector.detect(video).catch(() => []);
          if (codes.length && codes[0].rawValue !== last) { last = codes[0].rawValue; await scan(last); }
          setTimeout(look, 300);
        };
        look();
      } catch { start.disabled = true; }
    });
    main.append(h('p', null, start), video);
  }

  const countsBox = h('section', { class: 'panel' }, h('h2', null, t('admin.checkedInCounts')));
  const pick = field(t('admin.concert'), { tag: 'select' });
  const counts = h('div', { 'aria-live': 'polite' });
  countsBox.append(pick.row, counts);
  main.append(countsBox);
  const loadCounts = async () => {
    if (!pick.input.value) return;
    try {
      const sales = await call('GET', `/admin/concerts/${pick.input.value}/sales`);
      if (!ctx.alive()) return;
      counts.replaceChildren(h('ul', null, ...sales.schedules.map((s) => h('li', { 'data-schedule': s.scheduleId },
        when(s.startsAt), ': ', h('strong', { class: 'checked-in' }, String(s.checkedIn)), ` / ${s.sold}`))));
    } catch { /* the counts are a convenience; the scan's answer stands */ }
  };
  pick.input.addEventListener('change', loadCounts);
  try {
    const { items } = await call('GET', '/admin/concerts');
    if (!ctx.alive()) return;
    pick.input.append(...items.map((c) => h('option', { value: c.id }, c.title)));
    loadCounts();
  } catch { /* no concerts to count */ }
}
