// hardening.test.mjs — smaller limits an operator relies on: instructors change
// the progress of students only; --web-dir serves regular files below it and
// nothing else (no symbolic link, no FIFO that would block a thread); an
// unknown LOCKSTEP_* variable and a key set twice in the INI file stop the start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setupServer, request, login, startServe, stopServe, freshDir, BIN, dbArgs } from './lib.mjs';

test('instructors change the progress of students only; admins of anyone', async () => {
  const ctx = await setupServer('hardening-roles');
  try {
    const coachId = ctx.addUser('coach@example.com', 'instructor', 'coach-pass-1');
    const otherCoachId = ctx.addUser('coach.two@example.com', 'instructor', 'coach-pass-2');
    const kidId = ctx.addUser('kid@example.com', 'student', 'kid-pass-111');
    const coach = await login(ctx.url, 'coach@example.com', 'coach-pass-1');
    const as = (token, id, what, body) => request(ctx.url, 'POST', `/api/v1/users/${id}/progress/PLAYER/${what}`, { token, body });
    for (const [who, id] of [['an admin', 1], ['another instructor', otherCoachId], ['the instructor', coachId]]) {
      const level = await as(coach, id, 'level', { new_level: 2 });
      assert.equal(level.status, 403, `level of ${who}`);
      assert.equal(level.body.detail, 'Instructors can change the progress of students only');
      assert.equal((await as(coach, id, 'xp', { xp_gained: 500 })).status, 403, `xp of ${who}`);
    }
    assert.equal((await as(coach, kidId, 'level', { new_level: 2 })).status, 200);
    assert.equal((await as(coach, kidId, 'xp', { xp_gained: 10 })).status, 200);
    assert.equal((await as(ctx.adminToken, otherCoachId, 'level', { new_level: 2 })).status, 200);
    assert.equal((await as(coach, 999999, 'level', { new_level: 1 })).status, 404);
  } finally {
    await ctx.stop();
  }
});

test('--web-dir serves regular files below it: no symbolic link, no FIFO', async () => {
  const dir = freshDir('hardening-web');
  const web = path.join(dir, 'web');
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(path.join(web, 'assets'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>dev</title>');
  fs.writeFileSync(path.join(web, 'assets', 'app.js'), 'console.log(1);');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'not for the web');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(web, 'secret.txt'));
  fs.symlinkSync(outside, path.join(web, 'linked'));
  execFileSync('mkfifo', [path.join(web, 'pipe.js')]);
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '3600' }, ['--web-dir', web]);
  try {
    const get = (p) => request(srv.url, 'GET', p);
    assert.equal((await get('/index.html')).status, 200);
    assert.equal((await get('/assets/app.js')).text, 'console.log(1);');
    assert.equal((await get('/secret.txt')).status, 404);
    assert.equal((await get('/linked/secret.txt')).status, 404);
    const fifo = await Promise.race([get('/pipe.js'), new Promise((resolve) => setTimeout(() => resolve({ status: 'hung' }), 3000))]);
    assert.equal(fifo.status, 404, 'a FIFO must be refused at once');
    assert.equal((await get('/healthz')).status, 200);
  } finally {
    srv.proc.kill('SIGKILL');
    await srv.exited;
  }
});

function run(dir, args, env) {
  return spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
}

test('an unknown LOCKSTEP_* variable stops the start and is named; harness variables are not settings', async () => {
  const dir = freshDir('hardening-env');
  const typo = run(dir, ['user', 'list'], { LOCKSTEP_JWT_SECRE: 'x'.repeat(40) });
  assert.notEqual(typo.status, 0);
  assert.match(typo.stderr, /unknown environment variable LOCKSTEP_JWT_SECRE \(did you mean LOCKSTEP_JWT_SECRET\?\)/);
  assert.equal(fs.existsSync(path.join(dir, 'secret.key')), false);
  await assert.rejects(startServe(dir, { LOCKSTEP_NO_SUCH_SETTING: '1' }), /unknown environment variable LOCKSTEP_NO_SUCH_SETTING/);
  assert.equal(fs.existsSync(path.join(dir, 'secret.key')), false, 'a server started with a generated secret');
  // The variables of the test and packaging harnesses are not settings.
  // (migrate: no other verb creates a store.)
  const ok = run(dir, ['migrate'], { LOCKSTEP_BIN: BIN, LOCKSTEP_TEST_ANYTHING: '1', LOCKSTEP_CONFIG: '' });
  assert.equal(ok.status, 0, ok.stderr);
});

test('a key set twice in the INI file is an error naming file and line', async () => {
  const dir = freshDir('hardening-ini');
  const ini = path.join(dir, 'lockstep.ini');
  fs.writeFileSync(ini, '# settings\ncheck_interval = 60\n[lockstep]\nsync_interval = 600\ncheck_interval = 30\n');
  const r = run(dir, ['--config', ini, 'user', 'list'], {});
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`${ini.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: duplicate key check_interval \\(first set on line 2\\)`));
  fs.writeFileSync(ini, '[lockstep]\ncheck_interval = 60\nsync_interval = 600\n');
  const fine = run(dir, ['--config', ini, 'migrate'], {});
  assert.equal(fine.status, 0, fine.stderr);
});
