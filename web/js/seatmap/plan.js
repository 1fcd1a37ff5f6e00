// The seat map's model: a schedule's plan (grades, sections of rows or standing places) with each
// seat's status, as GET /schedules/{id}/seatmap sends it, and how a seat is found from its index.

/** Status letters of the seatmap's `status` strings. */
export const FREE = 'A';
export const HELD = 'H';
export const SOLD = 'S';

// Grade colours, most expensive grade first; each dark enough for white text on it (≥ 4.5:1).
const COLOURS = ['#6d28d9', '#b4410b', '#0f766e', '#1d4ed8', '#be185d', '#4d7c0f', '#8a5a00', '#475569'];

/**
 * The plan of one seatmap answer: `grades` (Map code → {code, name, price, available, colour}),
 * `sections` in plan order, each seated ({rows: [{row, seats, first, offset}], status, size}) or
 * standing ({standing, available}), and `byCode`. `simple` is a part-1 schedule (one row).
 */
export function readPlan(data) {
  const grades = new Map();
  const byPrice = [...(data.grades || [])].sort((a, b) => b.price - a.price);
  byPrice.forEach((g, i) => grades.set(g.code, { ...g, colour: COLOURS[i % COLOURS.length] }));
  const sections = (data.sections || []).map((s) => {
    const sec = { code: s.code, name: s.name || s.code, grade: s.grade, seated: !s.standing && Array.isArray(s.rows) };
    if (sec.seated) {
      let offset = 0;
      sec.rows = s.rows.map((r) => { const row = { row: String(r.row), seats: r.seats, first: r.first, offset }; offset += r.seats; return row; });
      sec.size = offset;
      sec.status = typeof s.status === 'string' ? s.status : '';
      sec.available = countFree(sec.status);
    } else {
      sec.standing = s.standing || 0;
      sec.size = sec.standing;
      sec.available = s.available || 0;
    }
    return sec;
  });
  const byCode = new Map(sections.map((s) => [s.code, s]));
  const simple = sections.length === 1 && sections[0].seated && sections[0].rows.length === 1;
  return { version: data.version, places: data.places, available: data.available, grades, sections, byCode, simple };
}

function countFree(status) {
  let n = 0;
  for (let i = 0; i < status.length; i++) if (status.charCodeAt(i) === 65 /* 'A' */) n++;
  return n;
}

/**
 * Carry a newer answer into `plan` in place, so views holding its sections stay valid. Returns the
 * codes of the sections whose statuses changed, each with its previous status string.
 */
export function refreshPlan(plan, data) {
  const next = readPlan(data);
  const changed = new Map();
  if (next.sections.length !== plan.sections.length) return null; // another plan: start over
  for (let i = 0; i < next.sections.length; i++) {
    const a = plan.sections[i];
    const b = next.sections[i];
    if (a.code !== b.code || a.seated !== b.seated || a.size !== b.size) return null;
    if (a.seated ? a.status !== b.status : a.available !== b.available) {
      changed.set(a.code, a.status);
      if (a.seated) a.status = b.status;
      a.available = b.available;
    }
  }
  for (const [code, g] of next.grades) {
    const old = plan.grades.get(code);
    if (old) old.available = g.available;
  }
  plan.version = next.version;
  plan.available = next.available;
  return changed;
}

/** The index in `section.rows` of the row holding the seat at index `i`. */
export function rowIndexAt(section, i) {
  const rows = section.rows;
  let lo = 0;
  let hi = rows.length - 1;
  while (lo < hi) { // the last row whose offset ≤ i
    const mid = (lo + hi + 1) >> 1;
    if (rows[mid].offset <= i) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/** The seat at index `i` of a seated section: {section, row, n, number, label, index}. */
export function seatAt(section, i) {
  const r = section.rows[rowIndexAt(section, i)];
  const n = i - r.offset + 1;
  return { section: section.code, row: r.row, n, number: r.first + n - 1, label: `${section.code}-${r.row}-${n}`, index: i };
}

/** The index in its section of the seat with `number`, or -1. */
export function indexOf(section, number) {
  for (const r of section.rows) {
    if (number >= r.first && number < r.first + r.seats) return r.offset + (number - r.first);
  }
  return -1;
}

/** The section holding seat `number`. */
export function sectionOf(plan, number) {
  return plan.sections.find((s) => s.seated && indexOf(s, number) >= 0) || null;
}
