// Two fans hold the same seat at the same moment: exactly one gets it, the other is told plainly
// which seat went and sees it as taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, seedConcert, newUser, must, launchBrowser, newContext, screenshot, watchPage, openSeatMap, seat,
} from '../lib/harness.js';

async function toSeatMap(page, baseUrl, concertId, chooseLabel) {
  await openSeatMap(page, baseUrl, concertId, chooseLabel);
  await page.locator('.seat-grid .seat.s-a[data-seat="5"]').waitFor();
  await seat(page, 5).click();
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

    await Promise.all([pageA.locator('#hold').click(), pageB.locator('#hold').click()]);
    const settled = () => location.hash.startsWith('#/reservations/') || !!document.querySelector('.notice--error');
    await Promise.all([pageA.waitForFunction(settled), pageB.waitForFunction(settled)]);
    const won = [pageA, pageB].map((p) => p.url().includes('#/reservations/'));
    assert.equal(won.filter(Boolean).length, 1, `exactly one winner, got ${JSON.stringify(won)}`);
    const [winner, loser] = won[0] ? [pageA, pageB] : [pageB, pageA];
    const loserIsKorean = loser === pageB;

    await winner.locator('#countdown').waitFor();
    const lostText = loserIsKorean ? '다른 분이 먼저 잡은 좌석이 있어요: 5번 좌석' : 'someone else got these first: Seat 5.';
    await loser.locator('.notice--error').getByText(lostText, { exact: false }).waitFor();
    const five = seat(loser, 5);
    assert.match(await five.getAttribute('class'), /\bs-h\b/);
    assert.equal(await five.getAttribute('aria-disabled'), 'true');
    assert.equal(await five.textContent(), '◔', 'taken is told by a mark, not colour alone');
    assert.match(await five.getAttribute('aria-label'), loserIsKorean ? /다른 분이 선택 중/ : /Being booked/);
    assert.equal(await loser.locator('#hold').isDisabled(), true, 'the lost seat left the order');
    // Still taken after the map refreshes from the server.
    await loser.waitForTimeout(2600);
    assert.match(await five.getAttribute('class'), /\bs-h\b/);
    assert.match(await seat(loser, 6).getAttribute('class'), /\bs-a\b/);
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
