// sync_runs.test.mjs — a sync is recorded in sync_runs and its log before the
// first repair: killed midway (CLI or API), the row and the log show exactly
// the repairs that committed, and the next start marks the run interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freshDir, lockstep, startServe, stopServe, sql, waitFor, login, BIN, dbArgs, SCALE, dayLog, spawnChild } from './lib.mjs';

const repaired = (dir) => Number(sql(dir, 'SELECT count(*) FROM license_progressions'));

function checkInterrupted(dir, users) {
  const rows = sql(dir, 'SELECT status, synced_count, log_file FROM sync_runs');
  const [status, synced, logFile] = rows.split('|');
  assert.equal(status, 'interrupted', rows);
  const done = repaired(dir);
  assert.ok(done > 0 && done < users, `killed midway (${done} of ${users} repaired)`);
  assert.equal(Number(synced), done, 'the run counts exactly the repairs that committed');
  // The log: a line for the run, one per committed repair, and the interruption.
  const lines = fs.readFileSync(path.join(dir, logFile), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].status, 'running');
  const items = lines.filter((l) => l.action);
  assert.ok(items.length === done || items.length === done - 1, `${items.length} logged of ${done} committed`);
  assert.deepEqual(lines.at(-1), { status: 'interrupted', synced_count: done });
}

test('kill -9 of a CLI sync: the run is recorded, counted per repair, and interrupted at the next start', async () => {
  const dir = freshDir('sync-kill-cli');
  const users = Math.round(20000 * SCALE);
  lockstep(dir, ['demo', '--users', String(users), '--drift', '100']);
  const proc = spawnChild(BIN, ['--data-dir', dir, ...dbArgs(dir), 'sync'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  await waitFor(() => repaired(dir) > 100, 20000, 5);
  proc.kill('SIGKILL');
  await exited;
  // While no one has looked, the run shows as running with its committed count.
  assert.equal(sql(dir, "SELECT status FROM sync_runs"), 'running');
  assert.equal(Number(sql(dir, 'SELECT synced_count FROM sync_runs')), repaired(dir));
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '3600' });
  await stopServe(srv);
  checkInterrupted(dir, users);
  assert.match(dayLog(dir), /Marked 1 sync run\(s\) left running by a stopped process as interrupted/);
});

test('kill -9 of the server during an API sync: the same, found by the next sync', async () => {
  const dir = freshDir('sync-kill-api');
  const users = Math.round(20000 * SCALE);
  const { password } = lockstep(dir, ['demo', '--users', String(users), '--drift', '100']);
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '3600' });
  const token = await login(srv.url, 'admin@lockstep.local', password);
  fetch(`${srv.url}/api/v1/licenses/admin/sync/all`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{"dry_run": false}',
  }).catch(() => {});
  await waitFor(() => repaired(dir) > 100, 20000, 5);
  srv.proc.kill('SIGKILL');
  await srv.exited;
  assert.equal(sql(dir, "SELECT trigger || '|' || status FROM sync_runs"), 'api|running');
  lockstep(dir, ['sync', '--dry-run', '--user', '1']); // any sync looks first
  checkInterrupted(dir, users);
});

test('a finished sync: one row, finished, its log the whole result', async () => {
  const dir = freshDir('sync-finished');
  lockstep(dir, ['demo', '--users', '50', '--drift', '100']);
  lockstep(dir, ['sync']);
  const [status, synced, logFile] = sql(dir, 'SELECT status, synced_count, log_file FROM sync_runs').split('|');
  assert.equal(status, 'finished');
  const log = JSON.parse(fs.readFileSync(path.join(dir, logFile), 'utf8'));
  assert.equal(log.synced_count, Number(synced));
  assert.equal(Number(synced), repaired(dir));
});
