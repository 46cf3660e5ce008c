// watch.test.mjs — continuous verification (watch.md) against the real binary:
// drift written by another client (sqlite3 or psql) shows in /health/status
// within a second, and so does its repair; a serve killed with -9 leaves no
// change lost or applied twice; a trigger disabled by hand is caught by the
// full sweep as a watch_divergence and the state corrected; scheduled runs
// are incremental; the detection lag is exported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  PG, api, dayLog, freshDir, healthStatus, lockstep, login, msUntilStatus, sleep, sql, startServe,
  stopServe, sweepFindsOneDivergence, waitFor,
} from './lib.mjs';

const ADMIN = 'admin@lockstep.local';
const WATCH = { LOCKSTEP_WATCH_MODE: 'triggers', LOCKSTEP_CHECK_INTERVAL: '3600' };

async function serveDemo(name, env = {}) {
  const dir = freshDir(name);
  const { password } = lockstep(dir, ['demo']);
  const srv = await startServe(dir, { ...WATCH, ...env });
  const token = await login(srv.url, ADMIN, password);
  // The full sweep at start sets the watcher's state.
  await waitFor(async () => (await status(srv, token)).watch?.last_full_sweep, 15000);
  return { dir, srv, token, password };
}

const status = healthStatus;
const msUntil = msUntilStatus;

const pairOf = (s, user, spec) => s.violations.find((v) => v.user_id === user && v.specialization === spec);

/** A consistent pair of the demo: user, specialization and level. */
function consistentPair(dir) {
  const row = sql(dir, 'SELECT p.student_id, p.specialization_id, p.current_level FROM specialization_progress p '
    + 'JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id '
    + 'AND l.current_level = p.current_level ORDER BY p.student_id DESC LIMIT 1');
  const [u, spec, level] = row.split('|');
  return { user: Number(u), spec, level: Number(level) };
}

test('drift by another client shows in /health/status within 1 s; a deleted license too; the repair resolves it', async () => {
  // Polls 5 s apart: the watcher is woken by the other client's commit
  // (inotify on the store's directory), not by its next look.
  const { dir, srv, token } = await serveDemo('watch-drift', { LOCKSTEP_WATCH_POLL_INTERVAL: '5000' });
  try {
    // The watcher and the readiness probe run on threads named for top -H.
    const task = `/proc/${srv.proc.pid}/task`;
    const names = fs.readdirSync(task).map((t) => fs.readFileSync(path.join(task, t, 'comm'), 'utf8').trim());
    assert.ok(names.includes('lockstep-watch'), `threads: ${names.join(', ')}`);
    assert.ok(names.includes('lockstep-probe'), `threads: ${names.join(', ')}`);
    const before = await status(srv, token);
    const p = consistentPair(dir);
    const other = p.level > 1 ? p.level - 1 : p.level + 1;
    sql(dir, `UPDATE user_licenses SET current_level = ${other} WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`);
    const lag1 = await msUntil(srv, token, (s) => pairOf(s, p.user, p.spec)?.issue_type === 'level_mismatch');
    assert.ok(lag1 < 1000, `level drift seen after ${lag1} ms`);
    const s1 = await status(srv, token);
    assert.equal(s1.total_violations, before.total_violations + 1);
    assert.ok(s1.consistency_rate < before.consistency_rate);

    // The license row deleted: the pair is missing its license.
    sql(dir, `DELETE FROM user_licenses WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`);
    const lag2 = await msUntil(srv, token, (s) => pairOf(s, p.user, p.spec)?.issue_type === 'missing_license');
    assert.ok(lag2 < 1000, `deleted license seen after ${lag2} ms`);

    // Repaired by another client: resolved within a second, counts back.
    sql(dir, `INSERT INTO user_licenses(user_id, specialization_type, current_level, max_achieved_level, started_at, created_at, updated_at) `
      + `VALUES (${p.user}, '${p.spec}', ${p.level}, ${p.level}, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
    const lag3 = await msUntil(srv, token, (s) => !pairOf(s, p.user, p.spec));
    assert.ok(lag3 < 1000, `repair seen after ${lag3} ms`);
    const s3 = await status(srv, token);
    assert.equal(s3.total_violations, before.total_violations);
    assert.equal(s3.consistency_rate, before.consistency_rate);
    assert.equal(s3.watch.pairs, before.watch.pairs);
    assert.equal(s3.watch.pending_changes, 0);

    // The detection lag is exported; a full sweep agrees with the watcher.
    const m = await fetch(`${srv.url}/metrics`).then((r) => r.text());
    const count = Number(/^lockstep_detection_lag_seconds_count (\d+)/m.exec(m)[1]);
    assert.ok(count >= 3, m);
    assert.match(m, /^lockstep_watch_pending_changes 0$/m);
    const full = await api(srv.url, token, 'POST', '/api/v1/health/check-now?full=true');
    assert.equal(full.status, 200);
    assert.equal(full.body.kind, 'full');
    assert.equal(full.body.divergences, 0);
    assert.equal(full.body.inconsistent, s3.total_violations);
  } finally {
    await stopServe(srv);
  }
});

test('scheduled runs record the watcher state as kind incremental: history row, file and day-log lines', async () => {
  const { dir, srv, token } = await serveDemo('watch-incremental', { LOCKSTEP_CHECK_INTERVAL: '1' });
  try {
    const p = consistentPair(dir);
    sql(dir, `UPDATE specialization_progress SET current_level = current_level + 1 WHERE student_id = ${p.user} AND specialization_id = '${p.spec}'`);
    let latest;
    await waitFor(async () => {
      latest = await api(srv.url, token, 'GET', '/api/v1/health/latest-report');
      return latest.status === 200 && latest.body.kind === 'incremental'
        && latest.body.violations.some((v) => v.user_id === p.user && v.specialization === p.spec);
    }, 8000);
    const s = await status(srv, token);
    assert.equal(latest.body.inconsistent, latest.body.violations.length);
    assert.equal(latest.body.total_checked, s.watch.pairs);
    assert.equal(s.last_check_kind, 'incremental');
    const h = await api(srv.url, token, 'GET', '/api/v1/health/history?limit=5');
    assert.ok(h.body.length >= 2);
    // Runs of an unchanged state stream nothing: their files refer to the
    // list written by the first run of that state.
    const dirOf = path.join(dir, 'logs/integrity_checks');
    // Only finished files: a run writes ".tmp.*" and renames it, so one
    // listed here may be gone by the time it is read.
    await waitFor(() => fs.readdirSync(dirOf).some((f) => !f.startsWith('.')
      && /"violations_unchanged": true/.test(fs.readFileSync(path.join(dirOf, f), 'utf8'))), 8000);
    assert.match(dayLog(dir), /Health check complete: \d+\/\d+ consistent/);
  } finally {
    await stopServe(srv);
  }
});

/** The watch state's invariant, checked in SQL: its counts are the pairs and
 * users the rows have once the pending changes are taken back. A change row
 * applied but left pending (or deleted unapplied) breaks it. */
function watchInvariant(dir) {
  const row = sql(dir, 'WITH r AS (SELECT student_id AS u, specialization_id AS s, 1 AS n FROM specialization_progress '
    + 'UNION ALL SELECT user_id, specialization_type, 1 FROM user_licenses '
    + 'UNION ALL SELECT user_id, specialization, -delta FROM pair_changes), '
    + 'k AS (SELECT u, s, sum(n) AS n FROM r GROUP BY u, s) '
    + 'SELECT (SELECT count(*) FROM k WHERE n > 0), (SELECT count(DISTINCT u) FROM k WHERE n > 0), '
    + '(SELECT pairs FROM watch_state), (SELECT users FROM watch_state)');
  const [pairs, users, statePairs, stateUsers] = row.split('|').map(Number);
  return { pairs, users, statePairs, stateUsers };
}

test('serve killed with -9 while changes are pending: after the restart nothing is lost or applied twice', async () => {
  const { dir, srv, password } = await serveDemo('watch-kill');
  // Rows deleted and inserted (the counts move) and levels changed while
  // the watcher applies them; the process killed in the middle.
  const lic = sql(dir, 'SELECT user_id, specialization_type, current_level FROM user_licenses WHERE user_id % 9 = 1 ORDER BY user_id')
    .split('\n').map((l) => l.split('|'));
  const writer = (async () => {
    for (const [u, spec, level] of lic) {
      sql(dir, `DELETE FROM user_licenses WHERE user_id = ${u} AND specialization_type = '${spec}'`);
      if (Number(u) % 2) // every other one comes back, one level off
        sql(dir, `INSERT INTO user_licenses(user_id, specialization_type, current_level, max_achieved_level, started_at, created_at, updated_at) `
          + `VALUES (${u}, '${spec}', ${Number(level) + 1}, ${Number(level) + 1}, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
      else // the whole pair goes: both rows
        sql(dir, `DELETE FROM specialization_progress WHERE student_id = ${u} AND specialization_id = '${spec}'`);
      // A new pair: a progress row of a track the user had not started.
      sql(dir, `INSERT INTO specialization_progress(student_id, specialization_id, current_level, created_at, updated_at) `
        + `SELECT ${Number(u) + 1}, s.id, 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM specializations s `
        + `WHERE NOT EXISTS (SELECT 1 FROM specialization_progress p WHERE p.student_id = ${Number(u) + 1} AND p.specialization_id = s.id) `
        + 'ORDER BY s.id LIMIT 1');
      sql(dir, `UPDATE specialization_progress SET current_level = 1 WHERE student_id = ${Number(u) + 2}`);
      await sleep(2);
    }
  })();
  await sleep(80);
  srv.proc.kill('SIGKILL');
  await srv.exited;
  await writer;
  const pending = Number(sql(dir, 'SELECT count(*) FROM pair_changes'));
  assert.ok(pending > 0, 'changes pending across the restart');
  const inv = watchInvariant(dir);
  assert.equal(inv.statePairs, inv.pairs, 'pairs as of the applied changes');
  assert.equal(inv.stateUsers, inv.users, 'users as of the applied changes');

  const again = await startServe(dir, WATCH);
  try {
    const token = await login(again.url, ADMIN, password);
    await waitFor(async () => (await status(again, token)).watch?.pending_changes === 0, 15000);
    const latest = await api(again.url, token, 'GET', '/api/v1/health/latest-report');
    assert.equal(latest.body.kind, 'full');
    assert.equal(latest.body.divergences, 0, dayLog(dir));
    // More of the same with the watcher running, then a full sweep with
    // nothing pending compares pairs, users and every violation.
    sql(dir, 'DELETE FROM user_licenses WHERE user_id % 11 = 2');
    sql(dir, 'DELETE FROM specialization_progress WHERE student_id % 11 = 2');
    sql(dir, 'UPDATE specialization_progress SET current_level = 2 WHERE student_id % 13 = 4');
    await waitFor(async () => (await status(again, token)).watch?.pending_changes === 0, 5000);
    const full = await api(again.url, token, 'POST', '/api/v1/health/check-now?full=true');
    assert.equal(full.body.divergences, 0, dayLog(dir));
    const s = await status(again, token);
    assert.equal(s.total_violations, full.body.inconsistent);
    assert.doesNotMatch(dayLog(dir), /Watch divergence/);
  } finally {
    await stopServe(again);
  }
});

test('a trigger disabled by hand: the full sweep records the divergence with its pairs and corrects the state', async () => {
  const { dir, srv, token } = await serveDemo('watch-divergence');
  try {
    const p = consistentPair(dir);
    if (PG) sql(dir, 'ALTER TABLE user_licenses DISABLE TRIGGER USER');
    else sql(dir, 'DROP TRIGGER lockstep_license_update');
    sql(dir, `UPDATE user_licenses SET current_level = ${p.level + 1} WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`);
    await sleep(600);
    const unseen = await status(srv, token);
    assert.equal(pairOf(unseen, p.user, p.spec), undefined, 'nothing captured the change');
    await sweepFindsOneDivergence(srv, token, p.user, p.spec, 'level_mismatch');
    assert.match(dayLog(dir), new RegExp(`ERROR - Watch divergence: .*user ${p.user} ${p.spec}: watcher consistent, full level_mismatch`));
    const m = await fetch(`${srv.url}/metrics`).then((r) => r.text());
    assert.match(m, /^lockstep_watch_divergences_total 1$/m);
    // doctor names the missing capture and its fix; `watch install` puts it back.
    assert.match(lockstep(dir, ['watch', 'status']).out, /triggers\s+not installed/);
    let doctor = '';
    try { lockstep(dir, ['doctor']); } catch (e) { doctor = e.stdout.toString(); }
    assert.match(doctor, /✗ watch\s+\[watch\] mode triggers, but the capture triggers are not installed/);
    assert.match(doctor, /fix: run `lockstep watch install`/);
    assert.match(lockstep(dir, ['watch', 'install']).out, /Installed the capture triggers/);
    assert.match(lockstep(dir, ['watch', 'status']).out, /triggers\s+installed/);
    assert.match(lockstep(dir, ['doctor']).out, /✓ watch\s+\[watch\] mode triggers: the capture triggers are installed/);
    sql(dir, `UPDATE user_licenses SET current_level = ${p.level} WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`);
    await msUntil(srv, token, (st) => !pairOf(st, p.user, p.spec));
    // The alert rule: for 0, critical, firing once the evaluation ran.
    await waitFor(async () => {
      const a = await api(srv.url, token, 'GET', '/api/v1/health/alerts');
      return a.body.firing.some((x) => x.rule === 'watch_divergence' && x.severity === 'critical');
    }, 5000);
    // A recorded `lockstep check` is a full sweep too: under the watch lock, it
    // consumes the change rows it saw (never an older view over the watcher's).
    try { lockstep(dir, ['check']); } catch (e) { assert.ok([3, 4].includes(e.status), String(e)); }
    assert.equal(sql(dir, 'SELECT count(*) FROM pair_changes'), '0');
    assert.equal(sql(dir, 'SELECT divergences FROM check_runs ORDER BY id DESC LIMIT 1'), '0');
  } finally {
    await stopServe(srv);
  }
});
