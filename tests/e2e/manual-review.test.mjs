// manual-review.test.mjs — a pair no sync repairs on the health page: a
// license level 99 written by SQL shows as a red "Invalid level" pill with
// "Needs review" in place of the Sync button, and the issue filter finds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliCheckSeen, colourOf, openHealth, sql, useDashboard } from './lib.mjs';

let ctx, token, p;
useDashboard('manual-review', { env: { LOCKSTEP_CHECK_INTERVAL: '600' } }, (d) => ({ ctx, token, page: p } = d));

test('an invalid level: its label, a red pill, no Sync button, and the issue filter', async () => {
  const [user, spec] = sql(ctx.dir, `SELECT l.user_id, l.specialization_type FROM user_licenses l
    JOIN specialization_progress p ON p.student_id = l.user_id AND p.specialization_id = l.specialization_type
    WHERE p.current_level = l.current_level ORDER BY l.id LIMIT 1`).split('|');
  sql(ctx.dir, `UPDATE user_licenses SET current_level = 99 WHERE user_id = ${user} AND specialization_type = '${spec}'`);
  await cliCheckSeen(ctx, token);
  await openHealth(p, ctx);
  const row = p.locator(`tr[data-key="${user}|${spec}|invalid_level"]`);
  await row.waitFor();
  const pill = row.locator('.pill-issue');
  assert.equal(await pill.textContent(), 'Invalid level');
  assert.equal(await colourOf(pill), 'rgb(254, 226, 226)');
  assert.equal(await row.locator('.sync-button').count(), 0, 'no sync repairs it');
  assert.equal(await row.locator('.review-note').textContent(), 'Needs review');
  assert.match(await row.textContent(), /Manual review/);
  // The demo's drifted pairs have their Sync buttons; the filter keeps only this one.
  assert.ok(await p.getByTestId('violations').locator('tbody tr').count() > 1);
  await p.locator('#violations-issue').selectOption('invalid_level');
  assert.equal(await p.getByTestId('violations').locator('tbody tr').count(), 1);
  assert.deepEqual(await p.locator('#violations-issue option').allTextContents(), [
    'All issues', 'Level mismatch', 'Missing license', 'Missing progress', 'Invalid level', 'Unknown specialization', 'Duplicate rows',
  ]);
});
