// health-states.test.mjs — the health page in each of its four states, arranged
// with the CLI and SQL on one demo store: UNKNOWN (the empty state before the
// first check, whose button runs it), DEGRADED (the demo's 2 drifted pairs),
// CRITICAL (more drift by SQL), HEALTHY (after `lockstep sync`); the
// dashboard's System Health card leading to the health page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, cliCheckSeen, colourOf, drift, lockstep, openHealth, shot, useDashboard,
} from './lib.mjs';

let ctx, token, p;
// Checks every 10 minutes: the empty state names that, and none runs during the tests.
useDashboard('states', { env: { LOCKSTEP_CHECK_INTERVAL: '600' } }, (d) => ({ ctx, token, page: p } = d));

const metric = (key) => p.locator(`[data-metric="${key}"]`).textContent();
const rgb = { healthy: 'rgb(16, 185, 129)', degraded: 'rgb(245, 158, 11)', critical: 'rgb(239, 68, 68)', unknown: 'rgb(156, 163, 175)' };

/** The badge, its description, the gauge and the metrics agree on one state. */
async function assertState({ key, label, description, rate, attention }) {
  const badge = p.getByTestId('status-badge');
  assert.equal(await badge.getAttribute('data-status'), key);
  assert.equal((await badge.textContent()).trim(), `${key === 'healthy' ? '✓' : key === 'degraded' ? '!' : key === 'critical' ? '✕' : '?'}${label}`);
  assert.equal(await colourOf(badge), rgb[key]);
  assert.equal(await p.getByTestId('status-description').textContent(), description);
  const gauge = p.getByTestId('gauge');
  assert.equal(await gauge.locator('.gauge-number').textContent(), rate);
  assert.equal(await gauge.getAttribute('data-status'), key);
  if (key !== 'unknown') {
    assert.equal(await gauge.locator('.gauge-value').getAttribute('stroke'), { healthy: '#10b981', degraded: '#f59e0b', critical: '#ef4444' }[key]);
    assert.match(await gauge.locator('svg').getAttribute('aria-label'), new RegExp(`${rate.replace('.', '\\.')}, ${key}`));
  }
  assert.equal(await metric('rate'), rate);
  const pill = p.getByTestId('attention');
  assert.equal(await pill.textContent(), attention);
  assert.equal(await colourOf(pill, 'color'), attention === 'YES' ? 'rgb(153, 27, 27)' : 'rgb(6, 95, 70)');
}

test('before the first check: UNKNOWN, the empty state with the API message, and a button that runs the first check', async () => {
  await openHealth(p, ctx);
  const latest = await api(ctx, token, 'GET', '/api/v1/health/latest-report');
  assert.equal(latest.status, 404);
  assert.equal(await p.getByTestId('empty-message').textContent(), latest.body.detail);
  assert.match(latest.body.detail, /^No health reports available yet\. The first check runs in \d+ minutes?\.$/);
  await assertState({ key: 'unknown', label: 'UNKNOWN', description: 'Status unavailable', rate: 'N/A', attention: 'NO' });
  assert.equal(await p.getByTestId('violations').isVisible(), false, 'no violations table before a check');
  assert.equal(await p.getByTestId('trend').isVisible(), false);
  await p.getByTestId('scheduler').locator('tr[data-job="coupling_health_check"]').waitFor();
  await shot(p, 'state-unknown');

  await p.getByRole('button', { name: 'Run first check now' }).click();
  await p.getByTestId('status-badge').and(p.locator('[data-status="degraded"]')).waitFor();
  assert.equal(await p.getByTestId('empty-state').isVisible(), false);
  assert.equal((await api(ctx, token, 'GET', '/api/v1/health/history')).body.length, 1);
});

test('DEGRADED: amber, 98.67 %, attention YES, the two drifted pairs listed', async () => {
  await openHealth(p, ctx);
  await assertState({
    key: 'degraded', label: 'DEGRADED', description: 'Minor issues detected (95-99% consistency)', rate: '98.67%', attention: 'YES',
  });
  assert.equal(await metric('users'), '150');
  assert.equal(await metric('violations'), '2');
  assert.equal(await p.locator('#violations-title').textContent(), 'Active Violations (2)');
  const rows = p.locator('.violations-table tbody tr');
  assert.equal(await rows.count(), 2);
  const first = rows.first();
  const status = (await api(ctx, token, 'GET', '/api/v1/health/status')).body;
  const id = Number(await first.getAttribute('data-user-id'));
  const expected = status.violations.find((x) => x.user_id === id);
  const user = (await api(ctx, token, 'GET', `/api/v1/users/${id}`)).body;
  await first.locator('.user-name', { hasText: user.name }).waitFor(); // the same name as /users/{id} (read from /users/{id}/progress)
  const cells = await first.locator('td').allTextContents();
  assert.equal(cells[1], expected.user_email);
  assert.equal(cells[2], expected.specialization);
  assert.equal(cells[3], String(expected.progress_level));
  assert.equal(cells[4], String(expected.license_level));
  const delta = expected.delta > 0 ? `+${expected.delta}` : `\u2212${-expected.delta}`;
  assert.ok(cells[5].startsWith(delta), `${cells[5]} shows ${delta}`);
  assert.equal(await colourOf(first.locator('.delta'), 'color'), expected.delta > 0 ? 'rgb(4, 120, 87)' : 'rgb(185, 28, 28)');
  assert.equal(cells[6], 'Level mismatch');
  assert.equal(cells[8], 'Set license to progress level');
  await shot(p, 'state-degraded');
});

test('CRITICAL: red, below 95 %, after more drift and a check from the CLI', async () => {
  drift(ctx.dir, 20);
  await cliCheckSeen(ctx, token);
  await openHealth(p, ctx);
  const status = (await api(ctx, token, 'GET', '/api/v1/health/status')).body;
  assert.equal(status.status, 'critical');
  const rate = `${status.consistency_rate.toFixed(2)}%`;
  await assertState({
    key: 'critical', label: 'CRITICAL', description: 'Immediate attention required (<95% consistency)', rate, attention: 'YES',
  });
  assert.equal(await p.locator('#violations-title').textContent(), `Active Violations (${status.total_violations})`);
  assert.equal(await metric('violations'), String(status.total_violations));
  await shot(p, 'state-critical');
});

test('HEALTHY: green, 100.00 %, attention NO, the "System Healthy" banner instead of a table', async () => {
  lockstep(ctx.dir, ['sync']);
  await cliCheckSeen(ctx, token);
  await openHealth(p, ctx);
  await assertState({
    key: 'healthy', label: 'HEALTHY', description: 'System operating normally (≥99% consistency)', rate: '100.00%', attention: 'NO',
  });
  const banner = p.getByTestId('healthy-banner');
  assert.equal(await banner.isVisible(), true);
  assert.equal((await banner.textContent()).replace('✓', '').trim(), 'System Healthy — no consistency violations detected');
  assert.equal(await p.locator('#violations-title').textContent(), 'Active Violations (0)');
  assert.equal(await p.locator('.violations-table tbody tr').count(), 0);
  await shot(p, 'state-healthy');
});

test('the dashboard: a System Health card with the status colour and rate, leading to the health page', async () => {
  await p.goto(`${ctx.url}/admin/dashboard`);
  const card = p.getByTestId('system-health');
  await card.waitFor();
  assert.equal(await card.getByTestId('status-badge').getAttribute('data-status'), 'healthy');
  assert.equal(await colourOf(card.getByTestId('status-badge')), rgb.healthy);
  assert.equal((await card.getByTestId('health-rate').textContent()).trim(), '100.00% consistency');
  await shot(p, 'dashboard');
  await card.getByRole('link', { name: 'Open the Health Monitor' }).click();
  await p.waitForURL(`${ctx.url}/admin/health`);
  await p.locator('#last-updated time').waitFor();
  assert.equal(await p.getByRole('link', { name: 'Health Monitor', exact: true }).getAttribute('aria-current'), 'page');
});
