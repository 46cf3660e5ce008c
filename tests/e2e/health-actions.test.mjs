// health-actions.test.mjs — what an operator does on the health page, on a
// store with 1,200 open violations: pages, sorting and the specialization
// filter; per-row Sync (confirmation, repair, the row gone); Run Check Now
// ("Checking..." while it runs, then the new numbers); the trend chart (one
// point per recorded check in 24 h / 72 h / 7 d, hover and keyboard); the
// scheduler panel, including while /health/jobs answers 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, drift, openHealth, shot, sql, until, useDashboard,
} from './lib.mjs';

let ctx, token, p;

const iso = (msAgo) => new Date(Date.now() - msAgo).toISOString().replace('Z', '000Z');
const HOUR = 3600e3;

useDashboard('actions', {
  demoArgs: ['--users', '3000', '--drift', '40'],
  async prepare(c, t) {
    // Three older checks, recorded before any real one (the latest check is the highest id).
    for (const [ago, rate, status] of [[5 * 24 * HOUR, 99.5, 'healthy'], [50 * HOUR, 93.1, 'critical'], [30 * HOUR, 96.4, 'degraded']]) {
      sql(c.dir, `INSERT INTO check_runs (timestamp, total_checked, consistent, inconsistent, consistency_rate, status, trigger, duration_ms)
        VALUES ('${iso(ago)}', 3000, ${Math.round(rate * 30)}, ${3000 - Math.round(rate * 30)}, ${rate}, '${status}', 'scheduled', 12.5)`);
    }
    assert.equal((await api(c, t, 'POST', '/api/v1/health/check-now')).status, 200);
  },
}, (d) => ({ ctx, token, page: p } = d));

const rows = () => p.locator('.violations-table tbody tr');
const title = () => p.locator('#violations-title').textContent();
const status = async () => (await api(ctx, token, 'GET', '/api/v1/health/status')).body;
/** Every open violation, paged from /health/violations (the status holds only the newest 100). */
const allViolations = async () => {
  const list = [];
  for (let offset = 0; ; offset += 1000) {
    const page = (await api(ctx, token, 'GET', `/api/v1/health/violations?limit=1000&offset=${offset}`)).body;
    list.push(...page);
    if (page.length < 1000) return list;
  }
};
const deltas = async () => (await rows().locator('td:nth-child(6) .delta').allTextContents())
  .map((t) => Number(t.replace('\u2212', '-').replace('+', '')));

test('1,200 violations: 25 a page, page through them, sort by a column, filter by specialization, search', async () => {
  await openHealth(p, ctx);
  const s = { violations: await allViolations() };
  assert.equal(s.violations.length, 1200);
  assert.equal((await status()).violations.length, 100, 'the status holds the newest 100');
  assert.equal(await title(), 'Active Violations (1,200)');
  assert.equal(await rows().count(), 25);
  assert.equal(await p.locator('.page-label').textContent(), 'Page 1 of 48');
  assert.equal(await p.locator('#violations-range').textContent(), 'Showing 1–25 of 1,200');
  const firstPage = await rows().evaluateAll((trs) => trs.map((tr) => tr.dataset.key));
  await p.getByRole('button', { name: 'Next ›' }).click();
  assert.equal(await p.locator('.page-label').textContent(), 'Page 2 of 48');
  const secondPage = await rows().evaluateAll((trs) => trs.map((tr) => tr.dataset.key));
  assert.equal(secondPage.filter((k) => firstPage.includes(k)).length, 0, 'page 2 shows other rows');
  await p.getByRole('button', { name: 'Last page' }).click();
  assert.equal(await p.locator('.page-label').textContent(), 'Page 48 of 48');
  assert.equal(await p.getByRole('button', { name: 'Next ›' }).isDisabled(), true);

  // Sort by discrepancy: ascending, then descending, across all pages.
  const sortButton = p.locator('button.sort[data-sort="delta"]');
  await sortButton.click();
  assert.equal(await p.locator('th', { has: sortButton }).getAttribute('aria-sort'), 'ascending');
  assert.equal(await p.locator('.page-label').textContent(), 'Page 1 of 48', 'sorting goes back to page 1');
  const all = s.violations.map((v) => v.delta);
  let shown = await deltas();
  assert.deepEqual(shown, [...shown].sort((a, b) => a - b));
  assert.equal(shown[0], Math.min(...all));
  await sortButton.click();
  assert.equal(await p.locator('th', { has: sortButton }).getAttribute('aria-sort'), 'descending');
  shown = await deltas();
  assert.deepEqual(shown, [...shown].sort((a, b) => b - a));
  assert.equal(shown[0], Math.max(...all));

  // Filter by specialization, then 100 a page.
  const players = s.violations.filter((v) => v.specialization === 'PLAYER').length;
  await p.getByLabel('Specialization').selectOption('PLAYER');
  assert.equal(await p.locator('#violations-range').textContent(),
    `Showing 1–25 of ${players.toLocaleString('en-US')} (filtered from 1,200)`);
  assert.deepEqual([...new Set(await rows().locator('td:nth-child(3)').allTextContents())], ['PLAYER']);
  await p.getByLabel('Rows').selectOption('100');
  assert.equal(await rows().count(), Math.min(100, players));
  await shot(p, 'violations-thousands');

  // Search by email.
  await p.getByLabel('Specialization').selectOption('');
  const one = s.violations[7];
  await p.getByLabel('Search').fill(one.user_email);
  assert.equal(await rows().count(), s.violations.filter((v) => v.user_email === one.user_email).length);
  assert.equal(await rows().first().getAttribute('data-user-id'), String(one.user_id));
  await p.getByLabel('Search').fill('');
  await p.getByLabel('Rows').selectOption('25');
});

test('per-row Sync asks first, repairs that pair, and the row leaves the table', async () => {
  await openHealth(p, ctx);
  const row = rows().first();
  const key = await row.getAttribute('data-key');
  const [userId, spec] = key.split('|');
  const syncCalls = [];
  p.on('request', (r) => { if (r.url().includes('/licenses/admin/sync/user/')) syncCalls.push(r); });

  await row.getByRole('button', { name: /^Sync / }).click();
  const dialog = p.getByRole('dialog', { name: 'Sync this pair?' });
  await dialog.waitFor();
  assert.match(await dialog.textContent(), new RegExp(spec));
  await shot(p, 'sync-confirm', { fullPage: false });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(syncCalls.length, 0, 'cancel sends nothing');
  assert.equal(await p.locator(`tr[data-key="${key}"]`).count(), 1);

  await row.getByRole('button', { name: /^Sync / }).click();
  await dialog.getByRole('button', { name: 'Sync now' }).click();
  await p.locator(`tr[data-key="${key}"]`).waitFor({ state: 'detached' });
  assert.equal(syncCalls.length, 1);
  assert.deepEqual(JSON.parse(syncCalls[0].postData()), { specialization: spec });
  assert.ok(syncCalls[0].url().endsWith(`/api/v1/licenses/admin/sync/user/${userId}`));
  assert.equal(await title(), 'Active Violations (1,199)');
  await until(() => p.evaluate(() => document.activeElement.classList.contains('sync-button')),
    { what: 'the focus on the next row\'s Sync button' });
  assert.match(await p.locator('#health-notice').textContent(), new RegExp(`^Synced .* — ${spec}`));
  // The store agrees: both levels are equal now.
  const [progress, license] = sql(ctx.dir, `SELECT p.current_level, l.current_level FROM specialization_progress p
    JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id
    WHERE p.student_id = ${userId} AND p.specialization_id = '${spec}'`).split('|');
  assert.equal(progress, license);

  // A reload keeps it out until the next check, which then confirms it.
  await p.reload();
  await p.locator('#last-updated time').waitFor();
  assert.equal(await p.locator(`tr[data-key="${key}"]`).count(), 0);
  assert.match(await p.locator('.violations > p.muted').textContent(), /^1 repaired from this page since the last check/);
  await p.getByRole('button', { name: 'Run Check Now' }).click();
  await until(async () => (await title()) === 'Active Violations (1,199)' && (await p.locator('[data-metric="violations"]').textContent()) === '1,199',
    { what: 'the next check confirming the repair' });
  assert.equal(await p.locator('.violations > p.muted').isVisible(), false);
  assert.ok(!(await allViolations()).some((v) => `${v.user_id}|${v.specialization}|${v.issue_type}` === key));
});

test('Run Check Now is disabled and reads "Checking..." while the check runs, then shows the new numbers', async () => {
  await openHealth(p, ctx);
  const before = await status();
  assert.equal(await p.locator('[data-metric="violations"]').textContent(), before.total_violations.toLocaleString('en-US'));
  drift(ctx.dir, 300);
  let release;
  const gate = new Promise((r) => { release = r; });
  await p.route('**/api/v1/health/check-now', async (route) => { await gate; await route.continue(); });
  const button = p.locator('#run-check');
  await button.click();
  await until(async () => (await button.textContent()) === 'Checking...');
  assert.equal(await button.isDisabled(), true);
  await shot(p, 'run-check-running', { fullPage: false });
  release();
  await until(async () => (await button.textContent()) === 'Run Check Now');
  assert.equal(await button.isDisabled(), false);
  await p.unroute('**/api/v1/health/check-now');
  const after = await status();
  assert.equal(after.total_violations, before.total_violations + 300);
  await until(async () => (await p.locator('[data-metric="violations"]').textContent()) === after.total_violations.toLocaleString('en-US'),
    { what: 'the metrics showing the new check' });
  assert.equal(await p.locator('[data-metric="rate"]').textContent(), `${after.consistency_rate.toFixed(2)}%`);
  assert.equal(await title(), `Active Violations (${after.total_violations.toLocaleString('en-US')})`);
  assert.match(await p.locator('#health-notice').textContent(), /^Check complete: /);
});

test('the trend chart has one point per recorded check in its range, and hover or the arrow keys show time and value', async () => {
  await openHealth(p, ctx);
  const history = async (hours) => (await api(ctx, token, 'GET',
    `/api/v1/health/history?since=${encodeURIComponent(new Date(Date.now() - hours * HOUR).toISOString())}&limit=10000`)).body;
  const points = p.locator('[data-testid="trend"] circle.trend-point');
  const h24 = await history(24);
  assert.ok(h24.length >= 3, 'the checks of the tests before');
  assert.equal(await points.count(), h24.length);
  for (const [range, hours, older] of [['72h', 72, 2], ['7d', 168, 3]]) {
    await p.locator(`button[data-range="${range}"]`).click();
    await until(async () => (await points.count()) === h24.length + older, { what: `${range}: ${h24.length + older} points` });
    assert.equal((await history(hours)).length, h24.length + older);
    assert.equal(await p.locator(`button[data-range="${range}"]`).getAttribute('aria-pressed'), 'true');
  }
  // Hover the oldest point (5 days ago, 99.50 %).
  const times = await points.evaluateAll((cs) => cs.map((c) => c.dataset.time));
  assert.deepEqual(times, [...times].sort(), 'oldest first');
  await points.first().hover();
  const tooltip = p.locator('.trend-tooltip');
  await tooltip.waitFor();
  assert.match(await tooltip.textContent(), /99\.50% · healthy/);
  const when = new Date(times[0]);
  assert.match(await tooltip.textContent(), new RegExp(when.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })));
  await shot(p, 'trend-hover');
  // Keyboard: focus the chart, step to the next point (50 h ago, 93.10 %).
  await p.locator('.trend-svg').focus();
  await p.keyboard.press('Home');
  await p.keyboard.press('ArrowRight');
  assert.match(await tooltip.textContent(), /93\.10% · critical/);
  await p.locator('button[data-range="24h"]').click();
  await until(async () => (await points.count()) === h24.length);
});

test('the scheduler panel lists each job, and says "Scheduler information unavailable" while /health/jobs answers 404', async () => {
  await openHealth(p, ctx);
  const jobs = (await api(ctx, token, 'GET', '/api/v1/health/jobs')).body;
  const panel = p.getByTestId('scheduler');
  for (const job of jobs) {
    const row = panel.locator(`tr[data-job="${job.id}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), new RegExp(job.name));
    assert.match(await row.locator('td[data-label="Next run"]').textContent(), /in \d+ (minute|hour)s?$/);
  }
  const q = await p.context().newPage();
  await q.clock.install();
  q.problems = [];
  await q.route('**/api/v1/health/jobs', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"detail":"Not found"}' }));
  await q.goto(`${ctx.url}/admin/health`);
  const unavailable = q.getByTestId('jobs-unavailable');
  await unavailable.waitFor();
  assert.equal(await unavailable.textContent(), 'Scheduler information unavailable');
  assert.equal(await q.getByTestId('error-banner').isVisible(), false, 'a missing scheduler endpoint is not an outage');
  await shot(q, 'scheduler-unavailable');
  await q.unroute('**/api/v1/health/jobs');
  await q.clock.runFor(30000);
  await q.getByTestId('scheduler').locator('tr[data-job="coupling_health_check"]').waitFor();
  await q.close();
});
