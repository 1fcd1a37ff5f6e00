// Starts a real encore server and a headless Chromium for the browser tests.
// The server binary comes from ENCORE_BIN (default ../target/release/encore, relative to e2e/).
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, '..');
export const SCREENSHOT_DIR = path.resolve(E2E_DIR, '..', 'docs', 'screenshots');
const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

function encoreBin() {
  const fromEnv = process.env.ENCORE_BIN;
  const bin = fromEnv ? path.resolve(process.cwd(), fromEnv) : path.resolve(E2E_DIR, '..', 'target', 'release', 'encore');
  if (!existsSync(bin)) {
    throw new Error(`encore binary not found at ${bin}: build it with \`cargo build --release\` or set ENCORE_BIN`);
  }
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Start `encore serve` on a free port with a fresh SQLite database; resolves once /health is 200. */
export async function startServer(env = {}) {
  const bin = encoreBin();
  const dir = mkdtempSync(path.join(tmpdir(), 'encore-e2e-'));
  const port = await freePort();
  const logPath = path.join(dir, 'server.log');
  const log = openSync(logPath, 'a');
  const child = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      ENCORE_LISTEN: `127.0.0.1:${port}`,
      ENCORE_DATABASE_URL: `sqlite://${dir}/e2e.db`,
      ENCORE_ADMIN_TOKEN: ADMIN_TOKEN,
      ENCORE_RATE_LIMITS: 'off',
      RUST_LOG: process.env.RUST_LOG || 'info',
      ...env,
    },
    stdio: ['ignore', log, log],
  });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (exited) throw new Error(`encore exited early (${JSON.stringify(exited)}):\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`encore did not answer /health within 30 s:\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
    }
    await sleep(100);
  }
  const server = {
    baseUrl,
    logTail: () => { try { return readFileSync(logPath, 'utf8').slice(-4000); } catch { return ''; } },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        for (let i = 0; i < 50 && !exited; i++) await sleep(100);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  server.api = (method, p, opts) => call(baseUrl, method, p, opts);
  server.admin = (method, p, body) => call(baseUrl, method, p, { body, key: ADMIN_TOKEN });
  server.adminToken = ADMIN_TOKEN;
  return server;
}

/** A plain HTTP call to /api/v1; returns { status, body }. */
export async function call(baseUrl, method, p, { body, key, queue, idem } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (key) headers.Authorization = `Bearer ${key}`;
  if (queue) headers['X-Queue-Token'] = queue;
  if (idem) headers['Idempotency-Key'] = idem;
  const res = await fetch(`${baseUrl}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: res.status, body: json };
}

export async function must(promise, ...statuses) {
  const res = await promise;
  if (!statuses.includes(res.status)) throw new Error(`expected ${statuses.join('/')}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * A concert with one bookable schedule (and optionally one not yet open): `seatCount` seats at
 * `price` (part 1), or the seating `plan` ({grades, sections}) when one is given.
 */
export async function seedConcert(server, { title = 'Aurora Live in Seoul', performer = 'Aurora Park', venue = 'Olympic Hall, Seoul', seatCount = 30, price = 55000, plan, withClosed = false } = {}) {
  const concert = await must(server.admin('POST', '/admin/concerts', { title, performer, venue }), 201);
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const H = 3600_000;
  const places = plan ? { plan } : { seatCount, price };
  const open = await must(server.admin('POST', `/admin/concerts/${concert.id}/schedules`, {
    startsAt: iso(now + 72 * H), bookingOpensAt: iso(now - H), bookingClosesAt: iso(now + 48 * H), ...places,
  }), 201);
  let later = null;
  if (withClosed) {
    later = await must(server.admin('POST', `/admin/concerts/${concert.id}/schedules`, {
      startsAt: iso(now + 96 * H), bookingOpensAt: iso(now + 24 * H), bookingClosesAt: iso(now + 90 * H), ...places,
    }), 201);
  }
  return { concert, schedule: open, later };
}

/** Rows named 1..`count`, each of `seats` seats, for a plan's section. */
export const rows = (count, seats) => Array.from({ length: count }, (_, i) => ({ row: String(i + 1), seats }));

/**
 * From a concert's page to its (first bookable) date's seat map: join the line (admitted at
 * once) and choose the date. `choose` is the date's link text in the page's language.
 */
export async function openSeatMap(page, baseUrl, concertId, choose = /Choose seats/) {
  await page.goto(`${baseUrl}/#/concerts/${concertId}`);
  await page.locator('#get-tickets').click();
  await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
  await page.getByRole('link', { name: choose }).first().click();
  await page.waitForURL(/#\/concerts\/[^/]+\/schedules\/[^/]+$/);
}

/** A seat of the open section's grid, by its number (the plan's 1..N). */
export const seat = (page, number) => page.locator(`.seat-grid .seat[data-seat="${number}"]`);

export async function newUser(server, name) {
  return must(server.api('POST', '/users', { body: { name } }), 201);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A browser context in English, optionally already signed in with an API key. */
export async function newContext(browser, { apiKey, name, lang = 'en', viewport = { width: 1100, height: 820 } } = {}) {
  const context = await browser.newContext({ locale: lang === 'ko' ? 'ko-KR' : 'en-US', viewport });
  if (process.env.E2E_WEB_FROM_DISK) await serveWebFromDisk(context);
  if (apiKey) {
    await context.addInitScript(([k, n]) => {
      if (!localStorage.getItem('encore.apiKey')) {
        localStorage.setItem('encore.apiKey', k);
        localStorage.setItem('encore.userName', n);
      }
    }, [apiKey, name || 'fan']);
  }
  return context;
}

/** Content types of the files under web/, by extension (as the server answers them). */
const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * For working on the front without rebuilding encore (which embeds web/ at build time):
 * E2E_WEB_FROM_DISK=1 answers `/` with web/index.html, `/admin` with web/admin.html and `/assets/<path>` with web/<path> from
 * disk instead of the server (404 for a file that is not there or lies outside web/).
 */
async function serveWebFromDisk(context) {
  const web = path.resolve(E2E_DIR, '..', 'web');
  const pages = { '/': 'index.html', '/admin': 'admin.html' };
  const isWeb = (url) => url.pathname in pages || url.pathname.startsWith('/assets/');
  await context.route(isWeb, (route) => {
    const { pathname } = new URL(route.request().url());
    const rel = pages[pathname] || decodeURIComponent(pathname.slice('/assets/'.length));
    const file = path.resolve(web, rel);
    const contentType = CONTENT_TYPES[path.extname(file).toLowerCase()];
    if (!file.startsWith(web + path.sep) || !contentType || !existsSync(file) || !statSync(file).isFile()) {
      return route.fulfill({ status: 404, contentType: 'text/plain; charset=utf-8', body: 'not found' });
    }
    return route.fulfill({ status: 200, contentType, body: readFileSync(file) });
  });
}

/** Collect page errors so a test can assert the page never threw. */
export function watchPage(page, label = 'page') {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`${label}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`${label} console: ${m.text()}`); });
  return errors;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export { sleep };
