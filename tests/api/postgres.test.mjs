// postgres.test.mjs — PostgreSQL faults, black-box: a wrong password or an
// unreachable host at start, and the database restarting under a running
// server (503 while it is down, answers again after, no restart of Lockstep).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { BIN, PG, dbArgs, freshDir, lockstep, sql, startServe, stopServe, login, api, waitFor } from './lib.mjs';

test('wrong password or unreachable host: one clear line, exit 1', () => {
  for (const url of ['postgres://lockstep:not-the-password@127.0.0.1:1/lockstep?connect_timeout=2',
    'postgres://lockstep@203.0.113.1:5432/lockstep?connect_timeout=1']) {
    const r = spawnSync(BIN, ['--db', url, '--data-dir', freshDir('pg-bad'), 'serve', '--listen', '127.0.0.1:0'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^lockstep: serve: cannot connect to PostgreSQL: /);
    assert.doesNotMatch(r.stderr, /not-the-password/);
  }
});

test('an upgrade says what it applied and nothing else: no server notice on stderr', { skip: !PG }, () => {
  const dir = freshDir('pg-upgrade');
  lockstep(dir, ['migrate']);
  // The newest migration undone by hand: running it again meets an index
  // that is there and one that is not (IF EXISTS / IF NOT EXISTS notices).
  const latest = Number(sql(dir, 'SELECT max(version) FROM schema_migrations'));
  sql(dir, `DELETE FROM schema_migrations WHERE version = ${latest}`);
  const r = spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'migrate'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, new RegExp(`^Database schema is at version ${latest} \\(postgres store\\); 1 migration applied now\n$`));
});

test('the database restarts under a running server: 503 while down, 200 after', { skip: !PG || !process.env.LOCKSTEP_TEST_PGDATA }, async () => {
  const dir = freshDir('pg-restart');
  const { password } = lockstep(dir, ['demo']);
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600' });
  const pgctl = (...args) => execFileSync('runuser', ['-u', 'postgres', '--', `${process.env.LOCKSTEP_TEST_PGBIN}/pg_ctl`,
    '-D', process.env.LOCKSTEP_TEST_PGDATA, ...args], { stdio: 'ignore' });
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    assert.equal((await api(srv.url, token, 'GET', '/api/v1/users?limit=1')).status, 200);
    pgctl('-m', 'fast', '-w', 'stop');
    let down;
    try {
      down = await api(srv.url, token, 'GET', '/api/v1/users?limit=1');
      assert.equal(down.status, 503);
      assert.match(down.body.detail, /database is unavailable/);
      const ready = await fetch(`${srv.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    } finally {
      pgctl('-w', '-l', `${process.env.LOCKSTEP_TEST_PGDATA}/../server.log`, '-o', process.env.LOCKSTEP_TEST_PGOPTS || '', 'start');
    }
    await waitFor(async () => (await api(srv.url, token, 'GET', '/api/v1/users?limit=1')).status === 200, 10000, 100);
    const check = await api(srv.url, token, 'POST', '/api/v1/health/check-now');
    assert.equal(check.status, 200);
    assert.equal(check.body.total_checked, 150);
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
});
