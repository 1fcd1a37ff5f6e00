// Proof of work on join: the fan sees "Checking your browser…" while a Web Worker solves the
// server's challenge, then joins; the whole page runs under the strict Content-Security-Policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, launchBrowser, newContext, watchPage,
} from '../lib/harness.js';

test('with proof of work on, joining checks the browser first, in a worker', { timeout: 90_000 }, async (t) => {
  // 18 bits: a few hundred thousand hashes, long enough to see the step, short enough to wait for.
  const server = await startServer({ ENCORE_QUEUE_POW_BITS: '18' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert } = await seedConcert(server, { seatCount: 10 });
    const fan = await newUser(server, 'Jisoo');
    const context = await newContext(browser, { apiKey: fan.apiKey, name: 'Jisoo' });
    const page = await context.newPage();
    const errors = watchPage(page);
    const violations = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
    const workers = [];
    page.on('worker', (w) => workers.push(w.url()));
    const proofs = [];
    page.on('request', (r) => {
      const proof = r.headers()['x-queue-proof'];
      if (proof) proofs.push(proof);
    });
    await page.goto(`${server.baseUrl}/#/concerts/${concert.id}`);

    // Every text the join button shows, recorded as it changes (the check may be quick).
    await page.evaluate(() => {
      window.joinTexts = [];
      new MutationObserver(() => {
        const b = document.querySelector('#get-tickets');
        if (b) window.joinTexts.push(b.textContent);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.locator('#get-tickets').click();
    await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 60_000 });
    const texts = await page.evaluate(() => window.joinTexts);
    assert.ok(texts.includes('Checking your browser…'), `the button said: ${texts}`);
    assert.equal(proofs.length, 1, 'the join carried one proof');
    assert.ok(workers.some((u) => u.endsWith('/assets/js/pow-worker.js')), `worker: ${workers}`);
    assert.deepEqual(violations, []);
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});
