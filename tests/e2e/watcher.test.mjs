// watcher.test.mjs — the health page's Watcher card (watch.md) on a demo store
// served with [watch] mode triggers: the mode and the last full sweep shown;
// drift written by sqlite3/psql shows on the page within seconds without a
// reload (the status polled every 2 s while the watcher runs); a trigger
// dropped by hand, then drift the watcher cannot see, caught by the Full sweep
// button as a highlighted divergence; and, served with the watcher off, the
// card saying every scheduled check reads every pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PG } from '../lib/harness.mjs';
import {
  api, assertNoProblems, cliCheckSeen, closeDashboard, colourOf, openDashboard, openHealth, shot, sql, until, useDashboard,
} from './lib.mjs';

let ctx, token, p;
useDashboard('watcher', { env: { LOCKSTEP_WATCH_MODE: 'triggers' } }, (d) => ({ ctx, token, page: p } = d));

const watchValue = (key) => p.locator(`[data-watch="${key}"]`);
const metric = (key) => p.locator(`[data-metric="${key}"]`).textContent();
const status = async () => (await api(ctx, token, 'GET', '/api/v1/health/status')).body;

/** The health page once the watcher's first full sweep (at start) is shown. */
async function openWatching() {
  await until(async () => !!(await status()).watch?.last_full_sweep, { timeout: 15000, what: 'the full sweep at start' });
  await openHealth(p, ctx);
  await watchValue('last-full-sweep').locator('time').waitFor();
  // A reload would drop this mark: the page must update in place.
  await p.evaluate(() => { window.lockstepNoReload = true; });
}

test('watcher on: mode triggers, a last full sweep, and drift shown within seconds without a reload', async () => {
  await openWatching();
  const before = await status();
  assert.equal(before.watch.mode, 'triggers');
  const card = p.getByTestId('watch-card');
  assert.equal(await card.getAttribute('data-watch'), 'on');
  assert.equal(await p.getByTestId('watch-off').isVisible(), false);
  assert.equal(await watchValue('mode').textContent(), 'triggers');
  assert.equal(await watchValue('last-run').textContent(), 'full');
  assert.match(await watchValue('last-full-sweep').textContent(), /^(now|\d+ seconds? ago|1 minute ago)$/);
  assert.equal(await watchValue('last-full-sweep').locator('time').getAttribute('datetime'),
    new Date(before.watch.last_full_sweep).toISOString());
  assert.equal(await watchValue('pending').textContent(), '0');
  assert.equal(await watchValue('divergences').textContent(), '0');
  assert.equal(await p.getByTestId('watch-divergence').isVisible(), false);
  assert.equal(await p.locator('#run-full-sweep').isVisible(), true, 'Full sweep offered while the watcher runs');
  assert.match(await p.locator('#refresh-state').textContent(), /the status every 2 seconds while the watcher runs/);
  assert.equal(await metric('violations'), String(before.total_violations));
  await shot(p, 'watcher-on');

  // Drift behind Lockstep's back: the watcher opens the violation, the page polls it.
  const t0 = Date.now();
  sql(ctx.dir, 'UPDATE user_licenses SET current_level = current_level + 1 WHERE id = 3');
  await until(async () => (await metric('violations')) === String(before.total_violations + 1),
    { timeout: 6000, what: 'the drift on the page' });
  const seenAfter = Date.now() - t0;
  const after = await status();
  assert.equal(after.total_violations, before.total_violations + 1);
  assert.equal(await metric('rate'), `${after.consistency_rate.toFixed(2)}%`);
  assert.equal(await p.getByTestId('gauge').locator('.gauge-number').textContent(), `${after.consistency_rate.toFixed(2)}%`);
  assert.equal(await p.getByTestId('status-badge').getAttribute('data-status'), after.status);
  await until(async () => (await p.locator('#violations-title').textContent()) === `Active Violations (${after.total_violations})`,
    { timeout: 5000, what: 'the drifted pair in the table' });
  await p.locator('.violations-table tbody tr[data-user-id="4"]').waitFor();
  assert.match(await watchValue('detection-lag').textContent(), /^\d+ ms|^\d+(\.\d)? s/);
  assert.equal(await p.evaluate(() => window.lockstepNoReload), true, 'no reload');
  assert.ok(seenAfter < 6000, `seen after ${seenAfter} ms`);
  await shot(p, 'watcher-drift');

  // Bounded: between the 30 s refreshes only the status, every 2 s.
  const asked = [];
  const onRequest = (r) => { if (r.url().includes('/api/v1/')) asked.push(new URL(r.url()).pathname); };
  p.on('request', onRequest);
  await p.waitForTimeout(5000);
  p.off('request', onRequest);
  const polls = asked.filter((u) => u === '/api/v1/health/status').length;
  assert.ok(polls >= 1 && polls <= 3, `${polls} status requests in 5 s`);
  assert.ok(!asked.includes('/api/v1/health/history'), `nothing else between refreshes: ${asked}`);
});

test('a trigger dropped, then drift: the Full sweep button finds the divergence and it stands out', async () => {
  await openWatching();
  const before = await status();
  assert.equal(before.watch.divergences_total, 0);
  if (PG) sql(ctx.dir, 'ALTER TABLE user_licenses DISABLE TRIGGER USER');
  else sql(ctx.dir, 'DROP TRIGGER lockstep_license_update');
  sql(ctx.dir, 'UPDATE user_licenses SET current_level = current_level + 1 WHERE id = 4');
  const [user, spec] = sql(ctx.dir, 'SELECT user_id, specialization_type FROM user_licenses WHERE id = 4').split('|');
  // Nothing captured the change: the page (polled twice meanwhile) still shows the old count.
  await p.waitForTimeout(2500);
  assert.equal(await metric('violations'), String(before.total_violations));

  const button = p.getByRole('button', { name: 'Full sweep' });
  await button.click();
  const notice = p.locator('#health-notice');
  await until(async () => /^Full sweep complete: /.test((await notice.textContent()) || ''), { what: 'the full sweep result' });
  assert.match(await notice.textContent(), new RegExp(
    `^Full sweep complete: [\\d.]+% consistency, ${before.total_violations + 1} violations in [\\d,]+ pairs\\. `
    + `1 divergence: the watcher had this pair wrong \\(user ${user} ${spec}: watcher consistent, full sweep level mismatch\\); see the day log\\.$`));
  await until(async () => (await watchValue('divergences').textContent()) === '1', { what: 'the divergence in the card' });
  assert.equal(await colourOf(watchValue('divergences'), 'color'), 'rgb(185, 28, 28)');
  const alert = p.getByTestId('watch-divergence');
  assert.equal(await alert.isVisible(), true);
  assert.match(await alert.textContent(), /1 divergence: a full sweep found a pair the watcher had wrong .*See the day log/);
  assert.equal(await colourOf(alert), 'rgb(254, 242, 242)');
  assert.equal(await metric('violations'), String(before.total_violations + 1), 'the full result replaced the watcher\'s state');
  assert.equal(await button.isDisabled(), false);
  assert.equal(await p.evaluate(() => window.lockstepNoReload), true, 'no reload');
  await shot(p, 'watcher-divergence');

  // Run Check Now with the watcher on records its state as an incremental run.
  await p.getByRole('button', { name: 'Run Check Now' }).click();
  await until(async () => /^Check complete: .*\(incremental run\)\.$/.test((await notice.textContent()) || ''), { what: 'the incremental run' });
  await until(async () => (await watchValue('last-run').textContent()) === 'incremental');
});

test('watcher off: the card says every scheduled check reads every pair; no Full sweep button', async () => {
  const off = await openDashboard('watcher-off', { prepare: cliCheckSeen });
  try {
    const page = off.page;
    await openHealth(page, off.ctx);
    const s = (await api(off.ctx, off.token, 'GET', '/api/v1/health/status')).body;
    assert.equal(s.watch, undefined);
    const note = page.getByTestId('watch-off');
    await note.waitFor();
    assert.equal(await note.textContent(), 'Watcher off: every scheduled check reads every pair');
    assert.equal(await page.getByTestId('watch-card').getAttribute('data-watch'), 'off');
    assert.equal(await page.getByTestId('watch-facts').isVisible(), false);
    assert.equal(await page.locator('#run-full-sweep').isVisible(), false);
    assert.equal(await page.locator('#refresh-state').textContent(), 'Auto-refresh every 30 seconds.');
    await shot(page, 'watcher-off');
    assertNoProblems(page);
  } finally {
    await closeDashboard(off);
  }
});
