// readiness.test.mjs — /readyz tells the truth about the store: damaged pages,
// a read-only file and a store emptied behind Lockstep's back answer 503 with
// the reason, and recovery brings 200 back without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { freshDir, lockstep, startServe, stopServe, sql, waitFor, PG } from './lib.mjs';

const QUIET = { LOCKSTEP_CHECK_INTERVAL: '3600', LOCKSTEP_SYNC_INTERVAL: '3600' };

async function readyz(url) {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.json() };
}

// Wait until /readyz answers `status`; returns the last answer.
async function readyzBecomes(url, status, timeoutMs = 20000) {
  let last;
  await waitFor(async () => (last = await readyz(url)).status === status, timeoutMs, 200)
    .catch(() => assert.fail(`/readyz did not answer ${status} within ${timeoutMs} ms: ${JSON.stringify(last)}`));
  return last;
}

test('damaged pages: /readyz 503 with the reason; repaired: 200 again', { skip: PG ? 'a SQLite file' : false }, async () => {
  const dir = freshDir('ready-corrupt');
  lockstep(dir, ['demo']);
  const db = path.join(dir, 'lockstep.db');
  const srv = await startServe(dir, QUIET);
  try {
    assert.equal((await readyzBecomes(srv.url, 200)).body.status, 'ready');
    // Everything in the main file, then damage the middle third of its pages.
    sql(dir, 'PRAGMA wal_checkpoint(TRUNCATE)');
    const good = fs.readFileSync(db);
    const page = good.readUInt16BE(16) === 1 ? 65536 : good.readUInt16BE(16);
    const pages = good.length / page;
    assert.ok(pages >= 6, `a store of ${pages} pages`);
    const fd = fs.openSync(db, 'r+');
    const junk = Buffer.alloc(page, 0xa5);
    for (let p = Math.floor(pages / 3); p < Math.floor((2 * pages) / 3); p++) fs.writeSync(fd, junk, 0, page, p * page);
    fs.closeSync(fd);
    const sick = await readyzBecomes(srv.url, 503);
    assert.equal(sick.body.status, 'not_ready');
    assert.equal(sick.body.check, 'store_unreadable');
    assert.match(sick.body.reason, /cannot be read/);
    // Put the pages back: ready again, same process.
    const fd2 = fs.openSync(db, 'r+');
    fs.writeSync(fd2, good, 0, good.length, 0);
    fs.closeSync(fd2);
    assert.equal((await readyzBecomes(srv.url, 200)).body.status, 'ready');
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
});

// Root ignores file modes: make the file immutable instead (chattr +i).
function makeReadOnly(file, on) {
  if (process.getuid && process.getuid() === 0) {
    execFileSync('chattr', [on ? '+i' : '-i', file], { stdio: 'ignore' });
  } else {
    fs.chmodSync(file, on ? 0o444 : 0o644);
  }
}

function canMakeReadOnly(dir) {
  const probe = path.join(dir, 'ro-probe');
  fs.writeFileSync(probe, 'x');
  try {
    makeReadOnly(probe, true);
    let blocked = false;
    try { fs.appendFileSync(probe, 'y'); } catch { blocked = true; }
    makeReadOnly(probe, false);
    return blocked;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

test('a read-only store file: /readyz 503 with the reason; writable again: 200', { skip: PG ? 'a SQLite file' : false }, async (t) => {
  const dir = freshDir('ready-readonly');
  if (!canMakeReadOnly(dir)) return t.skip('cannot make a file read-only here (chattr +i / chmod)');
  lockstep(dir, ['demo']);
  const db = path.join(dir, 'lockstep.db');
  const srv = await startServe(dir, QUIET);
  try {
    await readyzBecomes(srv.url, 200);
    makeReadOnly(db, true);
    const sick = await readyzBecomes(srv.url, 503);
    assert.equal(sick.body.status, 'not_ready');
    assert.match(sick.body.check, /^store_un(writable|readable)$/);
    assert.match(sick.body.reason, /read-only|readonly/i);
    makeReadOnly(db, false);
    assert.equal((await readyzBecomes(srv.url, 200)).body.status, 'ready');
  } finally {
    try { makeReadOnly(db, false); } catch { /* already writable */ }
    assert.equal(await stopServe(srv), 0);
  }
});

test('pairs emptied behind Lockstep after a check counted them: /readyz 503 store_empty', async () => {
  const dir = freshDir('ready-empty');
  lockstep(dir, ['demo']);
  try { lockstep(dir, ['check']); } catch { /* exit 1: the demo has violations */ }
  assert.ok(Number(sql(dir, 'SELECT total_checked FROM check_runs ORDER BY id DESC LIMIT 1')) > 0);
  const srv = await startServe(dir, QUIET, ['--no-scheduler']);
  try {
    await readyzBecomes(srv.url, 200);
    sql(dir, 'DELETE FROM license_progressions; DELETE FROM user_licenses; DELETE FROM specialization_progress');
    const sick = await readyzBecomes(srv.url, 503);
    assert.equal(sick.body.check, 'store_empty');
    assert.match(sick.body.reason, /no progress or license rows, while the last recorded check counted \d+ pairs/);
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
});

test('users emptied behind Lockstep, pairs left: /readyz 503 store_empty (no users)', async () => {
  const dir = freshDir('ready-no-users');
  lockstep(dir, ['demo']);
  try { lockstep(dir, ['check']); } catch { /* exit 1: the demo has violations */ }
  const srv = await startServe(dir, QUIET, ['--no-scheduler']);
  try {
    await readyzBecomes(srv.url, 200);
    // Behind the foreign keys' back, as a restore or a hand edit can: sqlite3
    // does not enforce them unless asked; PostgreSQL skips them as a replica.
    sql(dir, `${PG ? 'SET session_replication_role = replica; ' : ''}DELETE FROM users`);
    const sick = await readyzBecomes(srv.url, 503);
    assert.equal(sick.body.check, 'store_empty');
    assert.match(sick.body.reason, /no users, while the last recorded check counted \d+ pairs/);
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
});
