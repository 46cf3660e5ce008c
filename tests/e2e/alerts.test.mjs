// alerts.test.mjs — the Alerts panel of the health page: quiet on a healthy
// store; after drift and a check, the critical status and the inconsistent
// pairs alerts firing with their severities; a silence shown beside them;
// after a repair and a check, quiet again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, cliCheckSeen, colourOf, drift, lockstep, openHealth, shot, until, useDashboard,
} from './lib.mjs';

let ctx, token, p;
useDashboard('alerts', { demoArgs: ['--drift', '0'], env: { LOCKSTEP_ALERT_CRITICAL_FOR: '0' } },
  (d) => ({ ctx, token, page: p } = d));

const firingRules = async () => (await api(ctx, token, 'GET', '/api/v1/health/alerts')).body.firing.map((a) => a.rule).sort();

test('a healthy store: the panel says no alerts are firing', async () => {
  await cliCheckSeen(ctx, token);
  await openHealth(p, ctx);
  const quiet = p.getByTestId('no-alerts');
  await quiet.waitFor();
  assert.equal((await quiet.textContent()).trim(), '✓No alerts firing or pending.');
});

test('drift and a check: the critical status and the inconsistent pairs alerts, each with its severity', async () => {
  drift(ctx.dir, 15); // 135 of 150 consistent: 90.00 %, critical; 15 > 10 inconsistent
  await cliCheckSeen(ctx, token);
  await until(async () => (await firingRules()).join() === 'inconsistent_pairs,status_critical',
    { what: 'both alerts firing' });
  await openHealth(p, ctx);
  const critical = p.locator('tr[data-alert="status_critical"]');
  await critical.waitFor();
  assert.equal(await critical.getAttribute('data-state'), 'firing');
  assert.match(await critical.textContent(), /Coupling status is critical \(90\.00% consistent\)/);
  const critPill = critical.locator('.pill').first();
  assert.equal(await critPill.textContent(), 'Critical');
  assert.equal(await colourOf(critPill, 'color'), 'rgb(153, 27, 27)');
  const warning = p.locator('tr[data-alert="inconsistent_pairs"]');
  assert.equal(await warning.locator('.pill').first().textContent(), 'Warning');
  assert.match(await warning.textContent(), /15 inconsistent pairs \(more than 10\)/);
  await shot(p, 'alerts-firing');
});

test('the link of an alert (generatorURL, the mail) opens the health page at that alert', async () => {
  await p.goto(`${ctx.url}/admin/health#alert-inconsistent_pairs`);
  const linked = p.locator('tr#alert-inconsistent_pairs[data-linked]');
  await linked.waitFor();
  assert.equal(await p.locator('[data-linked]').count(), 1);
  assert.equal(await linked.isVisible(), true);
  // An alert that is over: the Alerts panel instead.
  await p.goto(`${ctx.url}/admin/health#alert-check_slow`);
  await p.locator('[data-testid="alerts"][data-linked]').waitFor();
});

test('a silence shows beside the alert it silences', async () => {
  const created = await api(ctx, token, 'POST', '/api/v1/health/alerts/silences',
    { rule: 'inconsistent_pairs', minutes: 60, comment: 'known drift, repair planned' });
  assert.equal(created.status, 201);
  await p.reload();
  const warning = p.locator('tr[data-alert="inconsistent_pairs"]');
  await warning.waitFor();
  await until(async () => /silenced/.test(await warning.textContent()), { what: 'the silenced tag' });
  assert.match(await p.getByTestId('silences').textContent(), /1 silence in force: inconsistent_pairs until /);
  assert.doesNotMatch(await p.locator('tr[data-alert="status_critical"]').textContent(), /silenced/);
});

test('repair and a check: the alerts resolve and the panel is quiet again', async () => {
  lockstep(ctx.dir, ['sync']);
  await cliCheckSeen(ctx, token);
  await until(async () => (await firingRules()).length === 0, { what: 'the alerts resolved' });
  await p.reload();
  await p.getByTestId('no-alerts').waitFor();
  const history = (await api(ctx, token, 'GET', '/api/v1/health/alerts')).body.history;
  assert.ok(history.filter((a) => a.state === 'resolved').length >= 2);
});
