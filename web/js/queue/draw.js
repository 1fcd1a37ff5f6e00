// The fan's number from a concert's pre-queue draw, with "How to check the draw": the rule in
// plain words, the commitment and the seed, and a check run in the browser when opened.
import { t } from '../i18n.js';
import { h, announce } from '../dom.js';
import { API, api } from '../api.js';
import { verifyDraw } from './verify.js';

// A drawn draw never changes, so each concert's is fetched once per page load (it can list
// 100,000 ticket ids); one not drawn yet is asked again.
const drawn = new Map();
const RETRIES = 5;
const RETRY_MS = 1500;

function loadDraw(cid) {
  if (drawn.has(cid)) return drawn.get(cid);
  const p = api('GET', `/concerts/${encodeURIComponent(cid)}/queue/draw`, { auth: false }).then((d) => {
    if (!d || !d.drawn || !d.seed) drawn.delete(cid);
    return d;
  }, (e) => { drawn.delete(cid); throw e; });
  drawn.set(cid, p);
  return p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A section saying where the draw put ticket `ticketId`, filled once the draw is published; it
 * stays hidden if the ticket is not in it (joined after the start) or the draw cannot be had.
 * With `say`, the number is also read out to screen-reader users.
 */
export function drawPanel(ctx, cid, ticketId, { say = false } = {}) {
  const box = h('section', { class: 'panel draw', id: 'draw', hidden: true, 'aria-labelledby': 'draw-title' });
  (async () => {
    let draw = null;
    for (let i = 0; i < RETRIES && ctx.alive(); i++) {
      try { draw = await loadDraw(cid); } catch { draw = null; }
      if (draw && draw.drawn && draw.seed) break;
      draw = null;
      await sleep(RETRY_MS);
    }
    if (!draw || !ctx.alive()) return;
    const index = Array.isArray(draw.ticketIds) ? draw.ticketIds.indexOf(ticketId) : -1;
    if (index < 0) return;
    fill(box, cid, draw, ticketId, index + 1);
    box.hidden = false;
    if (say) announce(t('draw.say', { n: index + 1 }));
  })();
  return box;
}

function fill(box, cid, draw, ticketId, n) {
  const total = draw.ticketIds.length;
  const status = h('p', { class: 'draw-verify', id: 'draw-verify', role: 'status' });
  const scoreRow = h('div', { hidden: true }, h('dt', null, t('draw.score')), h('dd', null, h('code', { class: 'hex', id: 'draw-score' })));
  const details = h('details', { class: 'draw-check', id: 'draw-check' },
    h('summary', null, t('draw.how')),
    h('p', null, t('draw.explain1')),
    h('p', null, t('draw.explain2')),
    h('p', null, t('draw.explain3')),
    h('dl', { class: 'hexes' },
      h('div', null, h('dt', null, t('draw.ticketId')), h('dd', null, h('code', { class: 'hex', id: 'draw-ticket' }, ticketId))),
      h('div', null, h('dt', null, t('draw.commitment')), h('dd', null, h('code', { class: 'hex', id: 'draw-commitment' }, draw.commitment))),
      h('div', null, h('dt', null, t('draw.seed')), h('dd', null, h('code', { class: 'hex', id: 'draw-seed' }, draw.seed))),
      scoreRow),
    status,
    h('p', { class: 'small' }, h('a', { href: `${API}/concerts/${encodeURIComponent(cid)}/queue/draw`, target: '_blank', rel: 'noopener' }, t('draw.json'))));
  let checked = false;
  details.addEventListener('toggle', () => {
    if (!details.open || checked) return;
    checked = true;
    check(draw, ticketId, n, status, scoreRow);
  });
  box.replaceChildren(
    h('h2', { id: 'draw-title' }, h('span', null, t('draw.numberLead')), ' ',
      h('strong', { class: 'draw-number', id: 'draw-number', 'data-number': String(n) }, t('draw.number', { n }))),
    h('p', { class: 'muted' }, total === 1 ? t('draw.of1') : t('draw.of', { total: total.toLocaleString() })),
    details);
}

async function check(draw, ticketId, n, status, scoreRow) {
  status.className = 'draw-verify';
  status.textContent = t('draw.checking');
  let r;
  try { r = await verifyDraw(draw, ticketId); } catch { r = { ok: false, reason: 'unsupported' }; }
  if (r.ok) {
    scoreRow.querySelector('code').textContent = r.score;
    scoreRow.hidden = false;
    status.className = 'draw-verify draw-verify--ok';
    const detail = r.whole
      ? t('draw.verifiedWhole', { lower: r.lower.toLocaleString(), total: r.total.toLocaleString(), n })
      : t('draw.verifiedLarge', { total: r.total.toLocaleString(), n });
    status.replaceChildren(h('strong', null, t('draw.verified')), ': ', detail);
    return;
  }
  if (r.reason === 'unsupported') { status.textContent = t('draw.unsupported'); return; }
  status.className = 'draw-verify draw-verify--bad';
  status.replaceChildren(h('strong', null, t('draw.failed')), ': ', t(`draw.fail.${r.reason}`, { n, computed: r.computed }));
}
