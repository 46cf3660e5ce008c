// lease.test.mjs — leadership of the scheduled jobs by lease, black-box, on
// SQLite and (under LOCKSTEP_TEST_PG) PostgreSQL: a leader frozen with SIGSTOP
// loses the lead within its lease and a follower takes over; woken with
// SIGCONT it runs no job and follows, and a sync it was running when frozen
// repairs no further pair; the dead-man rule is raised by the
// followers of a frozen leader, once however many they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PG, freshDir, lockstep, startServe, stopServe, sql, login, api, waitFor, sleep, dayLog, SCALE } from './lib.mjs';

/**
 * Run a request again when it failed on a keep-alive connection the server
 * closed as it idled (keepalive_timeout; a loaded machine stretches the gaps
 * between this test's requests).
 */
async function again(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e.message !== 'fetch failed') throw e;
    return fn();
  }
}

async function leaderGauge(srv) {
  const text = await again(async () => (await fetch(`${srv.url}/metrics`)).text());
  const m = /^lockstep_scheduler_leader (\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** job_runs rows of one process (owner host:pid). */
const runsOf = (srv) => `owner LIKE '%:${srv.proc.pid}'`;

/**
 * SIGSTOP a process between two of its write transactions. A process stopped
 * inside one holds SQLite's only write lock, and then no process can write —
 * take over the lease included — until it resumes: SQLite's single writer,
 * not the lease's to fix. PostgreSQL locks rows, not the database.
 */
async function freezeOutsideWrite(dir, proc) {
  for (const end = Date.now() + 30000; Date.now() < end;) {
    proc.kill('SIGSTOP');
    await sleep(20);
    if (PG) return;
    try {
      execFileSync('sqlite3', [path.join(dir, 'lockstep.db'), 'BEGIN IMMEDIATE; ROLLBACK;'], { stdio: 'ignore' });
      return;
    } catch { /* stopped inside a write transaction: let it finish */ }
    proc.kill('SIGCONT');
    await sleep(5 + Math.floor(Math.random() * 20));
  }
  throw new Error('could not stop the process outside a write transaction');
}

/** SIGCONT whatever is still stopped, then SIGTERM each and wait. */
async function stopAll(...srvs) {
  for (const s of srvs) s.proc.kill('SIGCONT');
  for (const s of srvs) await stopServe(s);
}

test('a frozen leader loses the lead within its lease; woken, it runs no job and follows', async () => {
  const dir = freshDir('lease-freeze');
  const { password } = lockstep(dir, ['demo']);
  const lease = 3;
  const env = { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600', LOCKSTEP_LEADER_LEASE: String(lease) };
  const a = await startServe(dir, env);
  const b = await startServe(dir, env);
  try {
    assert.equal(await leaderGauge(a), 1, 'the first process leads');
    assert.equal(await leaderGauge(b), 0, 'the second follows');
    await waitFor(() => Number(sql(dir, `SELECT count(*) FROM job_runs WHERE status = 'success' AND ${runsOf(a)}`)) >= 2, 8000);

    a.proc.kill('SIGSTOP');
    const frozenAt = Date.now();
    await waitFor(async () => (await leaderGauge(b)) === 1, (lease + 6) * 1000, 100);
    const took = Date.now() - frozenAt;
    // The lease runs out at most `lease` s after the last renewal, and a
    // follower looks once a second (plus slack for a loaded machine).
    assert.ok(took <= (lease + 4) * 1000, `taken over in ${took} ms (lease ${lease} s)`);
    await waitFor(() => Number(sql(dir, `SELECT count(*) FROM job_runs WHERE status = 'success' AND ${runsOf(b)}`)) >= 2, 8000);
    const readyB = await again(() => fetch(`${b.url}/readyz`));
    assert.equal(readyB.status, 200);

    a.proc.kill('SIGCONT');
    await waitFor(async () => (await leaderGauge(a)) === 0, 5000, 100);
    await sleep(2500);
    assert.equal(await leaderGauge(a), 0, 'the woken process follows');
    assert.equal(await leaderGauge(b), 1, 'the new leader keeps the lead');
    const token = await again(() => login(a.url, 'admin@lockstep.local', password));
    const jobsA = await again(() => api(a.url, token, 'GET', '/api/v1/health/jobs'));
    assert.equal(jobsA.body[0].led_by_this_process, false);
    assert.match(jobsA.body[0].leader, new RegExp(`:${b.proc.pid}$`), 'the jobs name the new leader');
    const jobsB = await again(() => api(b.url, token, 'GET', '/api/v1/health/jobs'));
    assert.equal(jobsB.body[0].led_by_this_process, true);
    assert.equal((await again(() => fetch(`${a.url}/readyz`))).status, 200);
  } finally {
    await stopAll(a, b);
  }
  // Never two leaders: after the new leader's first run the old one started none.
  assert.equal(sql(dir, `SELECT count(*) FROM job_runs WHERE ${runsOf(a)} AND started_at >= `
    + `(SELECT min(started_at) FROM job_runs WHERE ${runsOf(b)})`), '0');
  assert.equal(sql(dir, 'SELECT count(*) FROM (SELECT job_id, due_at FROM job_runs GROUP BY 1, 2 HAVING count(*) > 1) AS twice'), '0');
  // Every scheduled check recorded belongs to a run that succeeded: none was
  // committed by a process that had lost the lead. One exception is allowed:
  // the frozen process's run in flight, when the signal stopped it after its
  // check was recorded (while it led) but before the run was marked done;
  // woken past its lease, that run ends `interrupted` (a loaded machine makes
  // this likely: the check takes longer).
  const checks = Number(sql(dir, "SELECT count(*) FROM check_runs WHERE trigger = 'scheduled'"));
  const succeeded = Number(sql(dir, "SELECT count(*) FROM job_runs WHERE job_id = 'coupling_health_check' AND status = 'success'"));
  const cutShort = Number(sql(dir, `SELECT count(*) FROM job_runs WHERE job_id = 'coupling_health_check' AND status = 'interrupted' AND ${runsOf(a)}`));
  assert.ok(cutShort <= 1, `${cutShort} runs of the frozen process interrupted`);
  assert.ok(checks >= succeeded && checks <= succeeded + cutShort,
    `${checks} scheduled checks recorded, ${succeeded} runs succeeded, ${cutShort} interrupted`);
  const log = dayLog(dir);
  assert.match(log, /now leads the scheduled jobs, taking over from /);
  assert.match(log, /Lost the lead of the scheduled jobs: its lease ran out or another process took it over/);
});

test('the followers of a frozen leader raise the dead-man alert, once', async () => {
  const dir = freshDir('lease-deadman');
  const { password } = lockstep(dir, ['demo']);
  // The default lease (10 s) outlasts the dead-man limit of 2 x 1 s: the
  // followers see it before one of them takes over.
  const env = { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600',
    LOCKSTEP_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook' };
  const a = await startServe(dir, env);
  const b = await startServe(dir, env);
  const c = await startServe(dir, env);
  const deadman = "rule = 'job_not_succeeding' AND subject = 'coupling_health_check'";
  const ofDeadman = `alert_id IN (SELECT id FROM alerts WHERE ${deadman})`;
  try {
    await waitFor(() => Number(sql(dir, `SELECT count(*) FROM job_runs WHERE status = 'success' AND ${runsOf(a)}`)) >= 1, 8000);
    const token = await again(() => login(b.url, 'admin@lockstep.local', password));
    a.proc.kill('SIGSTOP');
    await waitFor(() => sql(dir, `SELECT count(*) FROM alerts WHERE ${deadman} AND fired_at IS NOT NULL`) === '1', 8000, 100);
    // Raised before any follower took the lead: the frozen leader's start is
    // the only one recorded up to then.
    assert.equal(sql(dir, `SELECT count(*) FROM scheduler_starts WHERE scheduler AND started_at <= (SELECT fired_at FROM alerts WHERE ${deadman})`), '1');
    const view = await again(() => api(b.url, token, 'GET', '/api/v1/health/alerts?limit=10'));
    assert.ok([...view.body.firing, ...view.body.history].some((x) => x.rule === 'job_not_succeeding' && x.job === 'coupling_health_check'),
      'the follower shows it');
    await sleep(2500); // both followers evaluate every second meanwhile
  } finally {
    await stopAll(a, b, c);
  }
  assert.equal(sql(dir, `SELECT count(*) FROM alerts WHERE ${deadman}`), '1', 'one alert from two followers');
  assert.equal(sql(dir, `SELECT count(*) FROM alert_deliveries WHERE ${ofDeadman} AND event = 'firing'`), '1', 'notified once');
  assert.equal((dayLog(dir).match(/Alert job_not_succeeding coupling_health_check \(critical\) firing/g) || []).length, 1);
  assert.doesNotMatch(dayLog(dir), /Cannot evaluate the alert rules/);
});

test('a leader frozen during a sync repairs no further pair once woken after a takeover', async () => {
  const dir = freshDir('lease-sync');
  const users = Math.round(20000 * SCALE);
  lockstep(dir, ['demo', '--users', String(users), '--drift', '100']);
  const lease = 3;
  const a = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '1', LOCKSTEP_LEADER_LEASE: String(lease) });
  // The follower would not sync for an hour: whatever is repaired after the
  // takeover is the old leader's doing.
  const b = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '3600', LOCKSTEP_LEADER_LEASE: String(lease) });
  let repaired;
  try {
    await waitFor(() => sql(dir, "SELECT count(*) FROM job_runs WHERE status = 'running'") === '1', 10000, 5);
    await waitFor(() => Number(sql(dir, 'SELECT count(*) FROM license_progressions')) > 100, 10000, 5);
    await freezeOutsideWrite(dir, a.proc);
    await waitFor(async () => (await leaderGauge(b)) === 1, (lease + 6) * 1000, 100);
    repaired = Number(sql(dir, 'SELECT count(*) FROM license_progressions'));
    assert.ok(repaired < users, `frozen mid-way (${repaired} of ${users} repaired)`);
    a.proc.kill('SIGCONT');
    const firstRun = "FROM sync_runs WHERE id = (SELECT min(id) FROM sync_runs WHERE trigger = 'scheduled')";
    await waitFor(() => sql(dir, `SELECT status ${firstRun}`) === 'finished', 10000);
    await sleep(1000);
    // On PostgreSQL the process may have been stopped inside a repair's
    // transaction, which then commits as it wakes; no repair starts after.
    const after = Number(sql(dir, 'SELECT count(*) FROM license_progressions'));
    assert.ok(after - repaired <= (PG ? 1 : 0), `${after - repaired} pair(s) repaired after the lead was lost`);
  } finally {
    await stopAll(a, b);
  }
  assert.equal(sql(dir, "SELECT count(*) FROM sync_runs WHERE trigger = 'scheduled'"), '1', 'the old leader ran no other sync');
  assert.match(sql(dir, "SELECT error FROM sync_runs WHERE trigger = 'scheduled'"), /this process no longer leads the scheduled jobs; stopped after/);
  // The run (the others were skipped while it ran) ends interrupted, not a success.
  assert.equal(sql(dir, "SELECT status FROM job_runs WHERE job_id = 'progress_license_sync' AND status <> 'skipped'"), 'interrupted');
  assert.match(dayLog(dir), /Job progress_license_sync interrupted: this process lost the lead of the scheduled jobs while it ran/);
  // The two run with other sync intervals: both judge the dead-man rule by the
  // leader's recorded ones, so the alert does not flap between them.
  const fired = (dayLog(dir).match(/Alert job_not_succeeding progress_license_sync \(critical\) firing/g) || []).length;
  assert.ok(fired <= 1, `the dead-man alert fired ${fired} times`);
});
