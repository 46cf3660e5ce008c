// watch_pg.test.mjs — the watcher against a PostgreSQL server of this file's
// own (watch.md): the server restarted under a running serve, and two serve
// processes whose leader is killed with -9. PostgreSQL only
// (LOCKSTEP_TEST_PGBIN, set by scripts/pg-test).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, api, dayLog, freePort, login, sleep, startServe, stopServe, waitFor } from './lib.mjs';

const PGBIN = process.env.LOCKSTEP_TEST_PGBIN;
const skip = !PGBIN && 'PostgreSQL only (LOCKSTEP_TEST_PGBIN, set by scripts/pg-test)';
const root = process.getuid && process.getuid() === 0;
let work, port, url;

function asPg(tool, args) {
  const cmd = path.join(PGBIN, tool);
  return root ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' })
    : execFileSync(cmd, args, { stdio: 'pipe' });
}
const pgOpts = () => `-c listen_addresses=127.0.0.1 -p ${port} -k ${work} -c fsync=off -c max_connections=60`;
const psql = (query) => execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, '-c', query])
  .toString().trim();

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-watchpg-'));
  if (root) execFileSync('chown', ['postgres', work]);
  port = await freePort();
  asPg('initdb', ['-D', `${work}/pg`, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  asPg('pg_ctl', ['-D', `${work}/pg`, '-l', `${work}/pg.log`, '-w', 'start', '-o', pgOpts()]);
});

after(() => {
  if (skip || !work) return;
  try { asPg('pg_ctl', ['-D', `${work}/pg`, '-m', 'immediate', 'stop']); } catch { /* not running */ }
  if (!process.exitCode) fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh database with demo data; its data dir and admin password. */
function freshStore(name) {
  execFileSync('psql', ['-X', '-q', `postgres://postgres@127.0.0.1:${port}/postgres`, '-c', `CREATE DATABASE ${name}`]);
  url = `postgres://postgres@127.0.0.1:${port}/${name}`;
  const dir = path.join(work, `data-${name}`);
  fs.mkdirSync(dir);
  const r = spawnSync(BIN, ['--data-dir', dir, 'demo'], { env: { ...process.env, LOCKSTEP_DB: url }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { dir, password: /password: (\S+)/.exec(r.stdout)[1] };
}

const env = (extra = {}) => ({ LOCKSTEP_DB: url, LOCKSTEP_WATCH_MODE: 'triggers', LOCKSTEP_CHECK_INTERVAL: '3600', ...extra });

async function statusOf(srv, token) {
  const r = await api(srv.url, token, 'GET', '/api/v1/health/status');
  assert.equal(r.status, 200);
  return r.body;
}

const consistentPair = () => {
  const [u, spec, level] = psql('SELECT p.student_id, p.specialization_id, p.current_level FROM specialization_progress p '
    + 'JOIN user_licenses l ON l.user_id = p.student_id AND l.specialization_type = p.specialization_id '
    + 'AND l.current_level = p.current_level ORDER BY random() LIMIT 1').split('|');
  return { user: Number(u), spec, level: Number(level) };
};
const drift = (p) => psql(`UPDATE user_licenses SET current_level = ${p.level + 1} WHERE user_id = ${p.user} AND specialization_type = '${p.spec}'`);
const open = (s, p) => s.violations.some((v) => v.user_id === p.user && v.specialization === p.spec);

test('PostgreSQL restarted under the watcher: it resumes without a restart of serve', { skip }, async () => {
  const { dir, password } = freshStore('watch_restart');
  const srv = await startServe(dir, env());
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    await waitFor(async () => (await statusOf(srv, token)).watch?.last_full_sweep, 15000);
    const a = consistentPair();
    drift(a);
    await waitFor(async () => open(await statusOf(srv, token), a), 3000);

    asPg('pg_ctl', ['-D', `${work}/pg`, '-l', `${work}/pg.log`, '-w', '-m', 'fast', 'restart', '-o', pgOpts()]);
    let b;
    do b = consistentPair(); while (b.user === a.user && b.spec === a.spec);
    drift(b); // written while the watcher's session is gone
    await waitFor(async () => {
      try { return open(await statusOf(srv, token), b); } catch { return false; }
    }, 10000);
    assert.equal(srv.proc.exitCode, null, 'serve kept running');
    const log = dayLog(dir);
    assert.match(log, /ERROR - watcher: .*the watcher retries every second/);
    assert.match(log, /INFO - The watcher is applying changes again/);
    const full = await api(srv.url, token, 'POST', '/api/v1/health/check-now?full=true');
    assert.equal(full.status, 200);
    assert.equal(full.body.divergences, 0);
  } finally {
    await stopServe(srv);
  }
});

test('two serve processes, the leader killed with -9: the follower continues from the same position', { skip }, async () => {
  const { dir, password } = freshStore('watch_leader');
  const lease = { LOCKSTEP_LEADER_LEASE: '3' };
  const first = await startServe(dir, env(lease));
  const token = await login(first.url, 'admin@lockstep.local', password);
  await waitFor(async () => (await statusOf(first, token)).watch?.last_full_sweep, 15000);
  const dir2 = path.join(work, 'data-watch_leader-2');
  fs.mkdirSync(dir2);
  fs.copyFileSync(path.join(dir, 'secret.key'), path.join(dir2, 'secret.key'));
  fs.chmodSync(path.join(dir2, 'secret.key'), 0o600);
  const second = await startServe(dir2, env(lease));
  try {
    const a = consistentPair();
    drift(a);
    await waitFor(async () => open(await statusOf(first, token), a), 3000);
    first.proc.kill('SIGKILL');
    await first.exited;
    // Pending while nobody leads; the follower takes the lease, sweeps and applies.
    let b;
    do b = consistentPair(); while (b.user === a.user && b.spec === a.spec);
    drift(b);
    psql(`DELETE FROM user_licenses WHERE user_id = ${b.user + 1}`);
    await waitFor(async () => {
      const s = await statusOf(second, token);
      return open(s, a) && open(s, b) && s.watch.pending_changes === 0;
    }, 20000);
    const full = await api(second.url, token, 'POST', '/api/v1/health/check-now?full=true');
    assert.equal(full.body.divergences, 0, dayLog(dir2));
    assert.equal(Number(psql('SELECT count(*) FROM pair_changes')), 0);
  } finally {
    if (first.proc.exitCode === null) await stopServe(first);
    await stopServe(second);
  }
});
