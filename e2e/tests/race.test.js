// Two fans click the same seat at the same moment: exactly one gets it, the other is told plainly
// and sees the seat as taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, must, launchBrowser, newContext, screenshot, watchPage,
} from '../lib/harness.js';

async function toSeatMap(page, baseUrl, concertId, chooseLabel) {
  await page.goto(`${baseUrl}/#/concerts/${concertId}`);
  await page.locator('#get-tickets').click();
  await page.waitForURL(/#\/concerts\/[^/]+\/dates$/, { timeout: 15_000 });
  await page.getByRole('link', { name: chooseLabel }).first().click();
  await page.locator('.seat[data-seat="5"][data-status="AVAILABLE"]').waitFor();
}

test('two fans race for one seat: one wins, the other is told', { timeout: 90_000 }, async (t) => {
  const server = await startServer({ ENCORE_HOLD_TTL: '5m' });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });
  try {
    const { concert } = await seedConcert(server, { seatCount: 12, price: 44000 });
    const alice = await newUser(server, 'Alice');
    const bora = await newUser(server, '보라');
    // Alice browses in English and signs in with her key; Bora's browser prefers Korean, so the
    // page speaks Korean to her.
    const ctxA = await newContext(browser);
    const ctxB = await newContext(browser, { apiKey: bora.apiKey, name: '보라', lang: 'ko' });
    const pageA = await ctxA.newPage();
    const pageB = await ctxB.newPage();
    const errors = [...watchPage(pageA, 'A'), ...watchPage(pageB, 'B')];
    await pageA.goto(`${server.baseUrl}/#/account`);
    await pageA.getByLabel('API key', { exact: true }).fill('not-a-real-key');
    await pageA.getByRole('button', { name: 'Sign in', exact: true }).click();
    await pageA.locator('.notice--error').getByText('We do not recognise that API key.', { exact: false }).waitFor();
    await pageA.getByLabel('API key', { exact: true }).fill(alice.apiKey);
    await pageA.getByRole('button', { name: 'Sign in', exact: true }).click();
    await pageA.locator('.notice--success').getByText('Welcome, Alice!').waitFor();
    assert.equal(await pageA.evaluate(() => localStorage.getItem('encore.apiKey')), alice.apiKey);
    await Promise.all([
      toSeatMap(pageA, server.baseUrl, concert.id, /Choose seats/),
      toSeatMap(pageB, server.baseUrl, concert.id, /좌석 선택/),
    ]);
    assert.equal(await pageB.evaluate(() => document.documentElement.lang), 'ko');

    await Promise.all([
      pageA.locator('.seat[data-seat="5"]').click(),
      pageB.locator('.seat[data-seat="5"]').click(),
    ]);
    const settled = () => location.hash.startsWith('#/reservations/') || !!document.querySelector('.notice--error');
    await Promise.all([pageA.waitForFunction(settled), pageB.waitForFunction(settled)]);
    const won = [pageA, pageB].map((p) => p.url().includes('#/reservations/'));
    assert.equal(won.filter(Boolean).length, 1, `exactly one winner, got ${JSON.stringify(won)}`);
    const [winner, loser] = won[0] ? [pageA, pageB] : [pageB, pageA];
    const loserIsKorean = loser === pageB;

    await winner.locator('#countdown').waitFor();
    const lostText = loserIsKorean ? '다른 분이 먼저 이 좌석을 잡았어요' : 'someone else got this seat first';
    await loser.locator('.notice--error').getByText(lostText, { exact: false }).waitFor();
    const seat = loser.locator('.seat[data-seat="5"]');
    assert.equal(await seat.getAttribute('data-status'), 'HELD');
    assert.equal(await seat.isDisabled(), true);
    assert.match(await seat.getAttribute('aria-label'), loserIsKorean ? /다른 분이 선택 중/ : /Being booked/);
    // Still taken after the map refreshes from the server.
    await loser.waitForTimeout(2600);
    assert.equal(await seat.getAttribute('data-status'), 'HELD');
    assert.equal(await loser.locator('.seat[data-seat="6"]').getAttribute('data-status'), 'AVAILABLE');
    await screenshot(loser, '04b-seat-map-lost-race');

    const holds = [];
    for (const u of [alice, bora]) {
      const { items } = await must(server.api('GET', '/reservations', { key: u.apiKey }), 200);
      holds.push(...items.filter((r) => r.seatNumber === 5 && r.status === 'HELD'));
    }
    assert.equal(holds.length, 1, 'one live hold on seat 5');
    assert.deepEqual(errors, []);
  } catch (e) {
    console.error(server.logTail());
    throw e;
  }
});
