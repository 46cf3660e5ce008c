// scheduler.test.mjs — the scheduled jobs of `lockstep serve`, black-box:
// checks every interval with their files and day-log lines, the auto-sync
// repairing drift made behind its back, kill -9 during a job, unwritable and
// full log directories, downtime recorded as missed runs, graceful stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { freshDir, lockstep, startServe, stopServe, sql, login, api, waitFor, sleep, dayLog, SCALE } from './lib.mjs';

const FAST = { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600' };

test('every interval: one recorded check, one file, one day-log line', async () => {
  const dir = freshDir('sched-count');
  lockstep(dir, ['demo']);
  const srv = await startServe(dir, FAST);
  await sleep(4500);
  assert.equal(await stopServe(srv), 0);

  const runs = sql(dir, "SELECT count(*) FROM job_runs WHERE job_id = 'coupling_health_check' AND status = 'success'");
  const n = Number(runs);
  assert.ok(n >= 3 && n <= 5, `about 4 checks in 4.5 s, got ${n}`);
  assert.equal(Number(sql(dir, "SELECT count(*) FROM check_runs WHERE trigger = 'scheduled'")), n);
  // Two checks that start within one second (a late run and the next, on a
  // loaded machine) are named …_violations.json and …_violations_2.json.
  const files = fs.readdirSync(path.join(dir, 'logs/integrity_checks')).filter((f) => /_violations(_\d+)?\.json$/.test(f));
  assert.equal(files.length, n, 'one integrity file per recorded check');
  for (const f of files) {
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'logs/integrity_checks', f), 'utf8'));
    assert.equal(report.total_checked, 150);
    assert.equal(report.consistent, 148);
    // An unchanged list is written once; later files refer to that file.
    const list = report.violations_unchanged
      ? JSON.parse(fs.readFileSync(path.join(dir, 'logs/integrity_checks', report.violations_file), 'utf8')).violations
      : report.violations;
    assert.equal(list.length, 2);
  }
  const log = dayLog(dir);
  for (const line of [
    'Starting background scheduler...',
    'Background scheduler started successfully',
    'Scheduled jobs:',
    '  - Progress-License Auto-Sync (ID: progress_license_sync): interval[1:00:00]',
    '  - Coupling Enforcer Health Check (ID: coupling_health_check): interval[0:00:01]',
  ]) {
    assert.match(log, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d - \\w+ - INFO - ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  }
  // The grep | awk of operations.md yields one rate per check.
  const rates = execFileSync('sh', ['-c', `grep -h "Health check complete" ${dir}/logs/sync_jobs/scheduler_*.log | awk -F'[()]' '{print $2}'`]).toString().trim().split('\n');
  assert.equal(rates.length, n);
  for (const r of rates) assert.equal(r, '98.67%');
  assert.equal((log.match(/ - WARNING - Found 2 inconsistencies$/gm) || []).length, n);
  assert.equal((log.match(/ - INFO - Violations logged to logs\/integrity_checks\/\d{8}_\d{6}_violations(_\d+)?\.json$/gm) || []).length, n);
  assert.equal((log.match(/ - INFO - Job coupling_health_check executed successfully$/gm) || []).length, n);
});

test('the auto-sync repairs drift made behind its back, and the next check shows it', async () => {
  const dir = freshDir('sched-sync');
  const { password } = lockstep(dir, ['demo']);
  sql(dir, 'UPDATE user_licenses SET current_level = CASE WHEN current_level > 1 THEN current_level - 1 ELSE 2 END WHERE user_id IN (20, 21, 22)');
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '2' });
  try {
    await waitFor(() => /Auto-sync complete: 5 synced, 0 failed/.test(dayLog(dir)), 8000);
    await waitFor(() => /Health check complete: 150\/150 consistent \(100\.00%\)/.test(dayLog(dir)), 8000);
    const token = await login(srv.url, 'admin@lockstep.local', password);
    const status = await api(srv.url, token, 'GET', '/api/v1/health/status');
    assert.equal(status.body.status, 'healthy');
    assert.deepEqual(status.body.violations, []);
    const jobs = await api(srv.url, token, 'GET', '/api/v1/health/jobs');
    const sync = jobs.body.find((j) => j.id === 'progress_license_sync');
    assert.equal(sync.last_status, 'success');
    assert.ok(sync.runs_ok >= 1);
  } finally {
    await stopServe(srv);
  }
  assert.match(dayLog(dir), / - INFO - Job progress_license_sync executed successfully$/m);
});

test('kill -9 during a sync: the run shows interrupted and every pair is whole', async () => {
  const dir = freshDir('sched-kill');
  const users = Math.round(20000 * SCALE);
  lockstep(dir, ['demo', '--users', String(users), '--drift', '100']);
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '1' });
  await waitFor(() => sql(dir, "SELECT count(*) FROM job_runs WHERE status = 'running'") === '1', 10000, 5);
  // Let it repair some pairs, then kill it mid-way.
  await waitFor(() => Number(sql(dir, 'SELECT count(*) FROM license_progressions')) > 100, 10000, 5);
  srv.proc.kill('SIGKILL');
  await srv.exited;
  const repaired = Number(sql(dir, 'SELECT count(*) FROM license_progressions'));
  assert.ok(repaired > 0 && repaired < users, `killed mid-way (${repaired} of ${users} repaired)`);
  // Each pair is either fully repaired (levels equal, one progression) or untouched.
  const torn = sql(dir, `SELECT count(*) FROM user_licenses l
      JOIN specialization_progress p ON p.student_id = l.user_id AND p.specialization_id = l.specialization_type
      LEFT JOIN (SELECT user_license_id, count(*) AS c FROM license_progressions GROUP BY 1) g ON g.user_license_id = l.id
      WHERE (l.current_level = p.current_level) <> (coalesce(g.c, 0) = 1)`);
  assert.equal(torn, '0');

  const again = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '3600' });
  await stopServe(again);
  assert.equal(sql(dir, "SELECT count(*) FROM job_runs WHERE status = 'running'"), '0');
  assert.equal(sql(dir, "SELECT count(*) FROM job_runs WHERE job_id = 'progress_license_sync' AND status = 'interrupted'"), '1');
  assert.match(dayLog(dir), /Marked 1 job run\(s\) left running by a stopped process as interrupted/);
  for (const sub of ['logs/integrity_checks', 'logs/sync_jobs']) {
    const d = path.join(dir, sub);
    if (fs.existsSync(d)) assert.deepEqual(fs.readdirSync(d).filter((f) => f.startsWith('.tmp.')), []);
  }
});

test('an unwritable log directory: checks are still recorded and the server stays up', async () => {
  const dir = freshDir('sched-rofs');
  const { password } = lockstep(dir, ['demo']);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'logs/integrity_checks'), 'not a directory');
  const srv = await startServe(dir, FAST);
  try {
    await waitFor(() => Number(sql(dir, 'SELECT count(*) FROM check_runs')) >= 2, 8000);
    const res = await fetch(`${srv.url}/healthz`);
    assert.equal(res.status, 200);
    const token = await login(srv.url, 'admin@lockstep.local', password);
    const status = await api(srv.url, token, 'GET', '/api/v1/health/status');
    assert.equal(status.body.status, 'degraded');
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.ok(Number(/^lockstep_file_write_failures_total (\d+)$/m.exec(metrics)[1]) >= 2);
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
  assert.ok(Number(sql(dir, "SELECT count(*) FROM check_runs WHERE file_error <> '' AND report_file = ''")) >= 2);
  assert.match(dayLog(dir), / - ERROR - Cannot write the integrity check file \(check #\d+ is recorded\): /);
  assert.equal(sql(dir, "SELECT count(*) FROM job_runs WHERE status = 'failed'"), '0');
});

test('a full disk under logs/: checks are still recorded', async (t) => {
  const dir = freshDir('sched-full');
  lockstep(dir, ['demo']);
  const mnt = path.join(dir, 'logs/integrity_checks');
  fs.mkdirSync(mnt, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    t.skip('mounting a tmpfs needs root; the unwritable-directory test covers the same path');
    return;
  }
  try {
    try { execFileSync('dd', ['if=/dev/zero', `of=${mnt}/filler`, 'bs=1k', 'count=64'], { stdio: 'ignore' }); } catch { /* full */ }
    const srv = await startServe(dir, FAST);
    await waitFor(() => Number(sql(dir, 'SELECT count(*) FROM check_runs')) >= 2, 8000);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    assert.equal(await stopServe(srv), 0);
    assert.ok(Number(sql(dir, "SELECT count(*) FROM check_runs WHERE file_error LIKE '%No space left on device%'")) >= 2);
    assert.match(dayLog(dir), /Cannot write the integrity check file .*No space left on device/);
    assert.deepEqual(fs.readdirSync(mnt).filter((f) => f.startsWith('.tmp.')), []);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test('downtime shows as missed runs, not as a burst of catch-up runs', async () => {
  const dir = freshDir('sched-gap');
  const { password } = lockstep(dir, ['demo']);
  const env = { ...FAST, LOCKSTEP_CHECK_MISFIRE_GRACE: '1' };
  let srv = await startServe(dir, env);
  await sleep(2500);
  await stopServe(srv);
  await sleep(4000);
  const before = Number(sql(dir, "SELECT count(*) FROM job_runs WHERE job_id = 'coupling_health_check' AND status = 'success'"));
  const restarted = Date.now();
  srv = await startServe(dir, env);
  try {
    const missed = Number(sql(dir, "SELECT count(*) FROM job_runs WHERE job_id = 'coupling_health_check' AND status = 'missed'"));
    assert.ok(missed >= 3, `the stopped seconds are missed runs (${missed})`);
    await sleep(1600);
    const after = Number(sql(dir, "SELECT count(*) FROM job_runs WHERE job_id = 'coupling_health_check' AND status = 'success'"));
    // One run per 1-s interval since the restart (a slow start on a loaded
    // machine makes that longer than the 1.6 s slept), never the 4+ stopped
    // seconds caught up at once.
    const elapsed = (Date.now() - restarted) / 1000;
    assert.ok(after - before <= Math.floor(elapsed) + 1,
      `no catch-up burst: ${after - before} runs in ${elapsed.toFixed(1)} s since the restart`);
    const token = await login(srv.url, 'admin@lockstep.local', password);
    const jobs = await api(srv.url, token, 'GET', '/api/v1/health/jobs?window=1h');
    const check = jobs.body.find((j) => j.id === 'coupling_health_check');
    assert.ok(check.runs_missed >= 3);
    assert.ok(check.runs_expected >= check.runs_ok + check.runs_missed - 1);
    assert.ok(check.success_rate < 100);
  } finally {
    await stopServe(srv);
  }
});

test('SIGTERM lets a running job finish, then exits 0', async () => {
  const dir = freshDir('sched-term');
  const users = Math.round(15000 * SCALE);
  lockstep(dir, ['demo', '--users', String(users), '--drift', '100']);
  // The job must finish within the shutdown timeout (30 s by default), which a
  // loaded machine running the sanitizer build can exceed: this test is about
  // waiting for the job, not about the timeout.
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '1',
    LOCKSTEP_SHUTDOWN_TIMEOUT: '600' });
  await waitFor(() => sql(dir, "SELECT count(*) FROM job_runs WHERE status = 'running'") === '1', 10000, 5);
  assert.equal(await stopServe(srv), 0);
  assert.equal(sql(dir, "SELECT status FROM job_runs WHERE job_id = 'progress_license_sync'"), 'success');
  assert.equal(sql(dir, 'SELECT count(*) FROM license_progressions'), String(users));
  assert.match(dayLog(dir), new RegExp(`Auto-sync complete: ${users} synced, 0 failed`));
});

test('SIGTERM with a job overrunning shutdown_timeout: exits 0 at once, the run is interrupted at the next start', async () => {
  const dir = freshDir('sched-overrun');
  const users = Math.round(15000 * SCALE);
  lockstep(dir, ['demo', '--users', String(users), '--drift', '100']);
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '1',
    LOCKSTEP_SHUTDOWN_TIMEOUT: '0' });
  await waitFor(() => sql(dir, "SELECT count(*) FROM job_runs WHERE status = 'running'") === '1', 10000, 5);
  const t0 = Date.now();
  // Exit 0, not a crash: the job keeps the pool and the monitor it uses to the end.
  assert.equal(await stopServe(srv), 0);
  assert.ok(Date.now() - t0 < 5000, `exited after ${Date.now() - t0} ms`);
  assert.match(srv.stderr(), /stopped with a job still running/);
  assert.equal(sql(dir, "SELECT status FROM job_runs WHERE job_id = 'progress_license_sync'"), 'running');
  const repaired = Number(sql(dir, 'SELECT count(*) FROM license_progressions'));
  assert.ok(repaired < users, `the sync was cut short (${repaired} of ${users})`);
  const again = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '3600' });
  await stopServe(again);
  assert.equal(sql(dir, "SELECT status FROM job_runs WHERE job_id = 'progress_license_sync' ORDER BY id LIMIT 1"), 'interrupted');
});

test('readyz: ready while the scheduler runs; "disabled" with --no-scheduler', async () => {
  const dir = freshDir('sched-ready');
  lockstep(dir, ['demo']);
  let srv = await startServe(dir, FAST);
  let body = await (await fetch(`${srv.url}/readyz`)).json();
  assert.equal(body.status, 'ready');
  assert.equal(body.scheduler, 'running');
  await stopServe(srv);
  srv = await startServe(dir, FAST, ['--no-scheduler']);
  body = await (await fetch(`${srv.url}/readyz`)).json();
  assert.equal(body.scheduler, 'disabled');
  await sleep(1500);
  await stopServe(srv);
  // One start with the scheduler, and one recorded as running without it.
  assert.equal(sql(dir, 'SELECT count(*) FROM scheduler_starts WHERE scheduler'), '1');
  assert.equal(sql(dir, 'SELECT count(*) FROM scheduler_starts WHERE NOT scheduler'), '1');
});

test('two serve processes on one store: one leads; kill -9 it and the other takes over', async () => {
  const dir = freshDir('sched-two');
  const { password } = lockstep(dir, ['demo']);
  const a = await startServe(dir, FAST);
  await sleep(300);
  const b = await startServe(dir, FAST);
  try {
    await sleep(2500);
    const token = await login(b.url, 'admin@lockstep.local', password);
    let jobs = await api(b.url, token, 'GET', '/api/v1/health/jobs');
    const leader = jobs.body[0].leader;
    assert.ok(leader, 'the leader is named');
    assert.equal(jobs.body[0].led_by_this_process, false);
    a.proc.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    await waitFor(async () => {
      jobs = await api(b.url, token, 'GET', '/api/v1/health/jobs');
      return jobs.body[0].led_by_this_process;
    }, 3000, 50);
    assert.ok(Date.now() - killedAt < 2500, 'taken over within one check interval (+ the 1 s leadership poll)');
    assert.notEqual(jobs.body[0].leader, leader);
    await sleep(2500);
  } finally {
    await stopServe(b);
  }
  // No due time ran twice, and the checks went on after the takeover.
  assert.equal(sql(dir, 'SELECT count(*) FROM (SELECT job_id, due_at FROM job_runs GROUP BY 1, 2 HAVING count(*) > 1) AS twice'), '0');
  const owners = sql(dir, "SELECT count(DISTINCT owner) FROM job_runs WHERE job_id = 'coupling_health_check' AND status = 'success'");
  assert.equal(owners, '2');
  assert.match(dayLog(dir), /now leads the scheduled jobs, taking over from /);
});
