// store-lookup.test.mjs — where Lockstep finds its config and its store, and
// who may create one (operations.md, "Where things are found"), black-box:
// a cron job in a directory without a store fails with one line and creates
// nothing; an empty SQLite file is no store for any verb; a PostgreSQL
// database without Lockstep's schema is no store either; --config >
// LOCKSTEP_CONFIG > the system file (a build of the binary whose system path
// lies inside the build tree); a report after `serve` ran with other
// intervals judges the schedule by what serve recorded, not by its own
// defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, PG, freshDir, dbArgs, lockstep, startServe, stopServe, login, api, sql, sleep } from './lib.mjs';

/** The caller's environment without any Lockstep setting (LOCKSTEP_BIN and the test's own stay). */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('LOCKSTEP_') || k === 'LOCKSTEP_BIN' || k.startsWith('LOCKSTEP_TEST')) env[k] = v;
  // No system config file either: this test names every file it means.
  return { ...env, LOCKSTEP_CONFIG: '', ...extra };
}

/** Run a binary in `cwd` with exactly `env`; status, stdout, stderr. */
function run(bin, args, { cwd, env = cleanEnv() } = {}) {
  const r = spawnSync(bin, args, { cwd, env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tmp(name) {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `lockstep-lookup-${name}-`)));
}

const ADVICE = '; run `lockstep migrate` or pass --db/--data-dir';
const NON_CREATING = [['check'], ['check', '--dry-run'], ['sync'], ['user', 'list'], ['baseline', 'create'],
  ['report', 'stabilization'], ['trend'], ['spec', 'list']];

test('a cron job in a directory without a store: exit 1, one line, nothing created', () => {
  const cwd = tmp('cron');
  try {
    for (const args of NON_CREATING) {
      const r = run(BIN, args, { cwd });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.err, `lockstep: no Lockstep store at ${cwd}/var/lockstep.db${ADVICE}\n`, args.join(' '));
      assert.equal(r.out, '', args.join(' '));
      assert.deepEqual(fs.readdirSync(cwd), [], `${args.join(' ')} created nothing`);
    }
    // --data-dir naming a place without a store: the same, and no directory appears.
    const r = run(BIN, ['--data-dir', `${cwd}/elsewhere`, 'check'], { cwd });
    assert.equal(r.code, 1);
    assert.equal(r.err, `lockstep: no Lockstep store at ${cwd}/elsewhere/lockstep.db${ADVICE}\n`);
    assert.deepEqual(fs.readdirSync(cwd), []);
    // migrate creates it; then check works on it.
    const m = run(BIN, ['migrate'], { cwd });
    assert.equal(m.code, 0, m.err);
    assert.match(m.out, /^Database schema is at version \d+ \(sqlite store\)/);
    const c = run(BIN, ['check'], { cwd });
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /^Status: HEALTHY/);
    assert.ok(fs.existsSync(`${cwd}/var/lockstep.db`));
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

test('demo and serve create the store they are pointed at', async () => {
  const cwd = tmp('creators');
  try {
    const d = run(BIN, ['--data-dir', 'a', 'demo', '--users', '10'], { cwd });
    assert.equal(d.code, 0, d.err);
    assert.equal(run(BIN, ['--data-dir', 'a', 'check'], { cwd }).code, 0);
    const srv = await startServe(`${cwd}/b`, { LOCKSTEP_CONFIG: '' });
    assert.equal(await stopServe(srv), 0);
    assert.equal(run(BIN, ['--data-dir', 'b', 'user', 'list'], { cwd }).code, 0);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

test('an empty lockstep.db is no store: check, serve and migrate refuse it and leave it alone', () => {
  const cwd = tmp('empty');
  try {
    fs.mkdirSync(`${cwd}/var`);
    fs.writeFileSync(`${cwd}/var/lockstep.db`, '');
    const want = `no Lockstep store at ${cwd}/var/lockstep.db (an empty file; remove it to start a new store)${ADVICE}\n`;
    for (const [args, prefix] of [[['check'], 'lockstep: '], [['migrate'], 'lockstep: '],
      [['serve', '--listen', '127.0.0.1:0'], 'lockstep: serve: '], [['demo'], 'lockstep: ']]) {
      const r = run(BIN, args, { cwd });
      assert.equal(r.code, 1, `${args[0]}: ${r.err}`);
      assert.equal(r.err, prefix + want, args[0]);
      assert.deepEqual(fs.readdirSync(`${cwd}/var`), ['lockstep.db'], `${args[0]} created nothing beside it`);
      assert.equal(fs.statSync(`${cwd}/var/lockstep.db`).size, 0);
    }
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

test('another program\'s SQLite database is no store, and is left as it is', () => {
  const cwd = tmp('foreign');
  try {
    execFileSync('sqlite3', [`${cwd}/other.db`, 'CREATE TABLE t(x); INSERT INTO t VALUES (1);']);
    const before = fs.readFileSync(`${cwd}/other.db`);
    const r = run(BIN, ['--db', `sqlite:${cwd}/other.db`, 'check'], { cwd });
    assert.equal(r.code, 1);
    assert.equal(r.err, `lockstep: no Lockstep store at ${cwd}/other.db${ADVICE}\n`);
    assert.ok(before.equals(fs.readFileSync(`${cwd}/other.db`)), 'not a byte changed (no WAL switch, no tables)');
    assert.deepEqual(fs.readdirSync(cwd), ['other.db']);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

test('a PostgreSQL database without Lockstep\'s schema is no store', { skip: !PG }, () => {
  const dir = freshDir('pg-noschema');
  const url = dbArgs(dir)[1];
  const db = new URL(url).pathname.slice(1);
  for (const args of NON_CREATING) {
    const r = run(BIN, ['--data-dir', dir, '--db', url, ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], new RegExp(`^lockstep: no Lockstep store at postgresql://\\S+/${db}(\\?\\S*)?; run \`lockstep migrate\` or pass --db/--data-dir$`), args.join(' '));
  }
  const tables = () => execFileSync('psql', ['-X', '-q', '-A', '-t', url, '-c',
    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"]).toString().trim();
  assert.equal(tables(), '0', 'nothing was created in the database');
  assert.deepEqual(fs.readdirSync(dir), [], 'nor in the data dir');
  const m = run(BIN, ['--data-dir', dir, '--db', url, 'migrate']);
  assert.equal(m.code, 0, m.err);
  const c = run(BIN, ['--data-dir', dir, '--db', url, 'check']);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^Status: HEALTHY/);
});

test('config lookup: --config > LOCKSTEP_CONFIG > the system file > ./var', () => {
  // The same binary built with its system path inside the build tree (CMake
  // target lockstep-test-sysconfig), so that nothing is written into /etc.
  const sysBin = path.join(path.dirname(BIN), 'lockstep-test-sysconfig');
  const sysIni = path.join(path.dirname(BIN), 'test-sysconfig', 'lockstep.ini');
  assert.ok(fs.existsSync(sysBin), `${sysBin} is built with lockstep`);
  const base = tmp('config');
  const env = (extra = {}) => {
    const e = cleanEnv(extra);
    if (!('LOCKSTEP_CONFIG' in extra)) delete e.LOCKSTEP_CONFIG;
    return e;
  };
  try {
    fs.mkdirSync(path.dirname(sysIni), { recursive: true });
    fs.mkdirSync(`${base}/cwd`);
    for (const n of ['sys', 'env', 'flag']) fs.writeFileSync(`${base}/${n}.ini`, `[lockstep]\ndata_dir = ${base}/${n}\n`);
    fs.copyFileSync(`${base}/sys.ini`, sysIni);
    const cwd = `${base}/cwd`;
    const migrated = (where) => fs.existsSync(`${base}/${where}/lockstep.db`);

    // The system file, when nothing else names one.
    let r = run(sysBin, ['migrate'], { cwd, env: env() });
    assert.equal(r.code, 0, r.err);
    assert.ok(migrated('sys'));
    // LOCKSTEP_CONFIG beats it.
    r = run(sysBin, ['migrate'], { cwd, env: env({ LOCKSTEP_CONFIG: `${base}/env.ini` }) });
    assert.equal(r.code, 0, r.err);
    assert.ok(migrated('env'));
    // --config beats both.
    r = run(sysBin, ['--config', `${base}/flag.ini`, 'migrate'], { cwd, env: env({ LOCKSTEP_CONFIG: `${base}/env.ini` }) });
    assert.equal(r.code, 0, r.err);
    assert.ok(migrated('flag'));
    // The environment's data dir beats the system file's; the flag beats both.
    r = run(sysBin, ['migrate'], { cwd, env: env({ LOCKSTEP_DATA_DIR: `${base}/envdir` }) });
    assert.equal(r.code, 0, r.err);
    assert.ok(migrated('envdir'));
    r = run(sysBin, ['--data-dir', `${base}/flagdir`, 'migrate'], { cwd, env: env({ LOCKSTEP_DATA_DIR: `${base}/envdir` }) });
    assert.equal(r.code, 0, r.err);
    assert.ok(migrated('flagdir'));
    // A check now lands in the system file's data dir.
    r = run(sysBin, ['check'], { cwd, env: env() });
    assert.equal(r.code, 0, r.err);
    assert.equal(fs.readdirSync(`${base}/sys/logs/integrity_checks`).filter((f) => f.endsWith('_violations.json')).length, 1);
    assert.deepEqual(fs.readdirSync(cwd), []);

    // A file named but missing is an error (exit 1), also when the system file exists.
    for (const [args, e] of [[['--config', `${base}/missing.ini`, 'check'], env()],
      [['check'], env({ LOCKSTEP_CONFIG: `${base}/missing.ini` })]]) {
      r = run(sysBin, args, { cwd, env: e });
      assert.equal(r.code, 1);
      assert.equal(r.err, `lockstep: cannot read config file ${base}/missing.ini: No such file or directory\n`);
    }
    // LOCKSTEP_CONFIG set but empty: no file at all, not even the system one.
    r = run(sysBin, ['check'], { cwd, env: env({ LOCKSTEP_CONFIG: '' }) });
    assert.equal(r.code, 1);
    assert.equal(r.err, `lockstep: no Lockstep store at ${cwd}/var/lockstep.db${ADVICE}\n`);
    // No system file: ./var.
    fs.rmSync(sysIni);
    r = run(sysBin, ['check'], { cwd, env: env() });
    assert.equal(r.code, 1);
    assert.equal(r.err, `lockstep: no Lockstep store at ${cwd}/var/lockstep.db${ADVICE}\n`);
    assert.equal(run(sysBin, ['migrate'], { cwd, env: env() }).code, 0);
    assert.ok(fs.existsSync(`${cwd}/var/lockstep.db`));
    // A system file that is bad is an error, not ignored.
    fs.writeFileSync(sysIni, 'who = me\n');
    r = run(sysBin, ['check'], { cwd, env: env() });
    assert.equal(r.code, 1);
    assert.equal(r.err, `lockstep: ${sysIni}:1: unknown key 'who'\n`);
  } finally {
    fs.rmSync(sysIni, { force: true });
    fs.rmSync(base, { recursive: true, force: true });
  }
});

/** `report stabilization --format json` with the default intervals (none of serve's). */
function reportJson(dir) {
  const r = spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'report', 'stabilization', '--format', 'json'],
    { env: cleanEnv(), encoding: 'utf8' });
  assert.ok([0, 3, 4, 5, 6].includes(r.status), r.stderr);
  return JSON.parse(r.stdout);
}

/** The recorded scheduler starts, oldest first: [{at (ms), check, sync, scheduler}]. */
function starts(dir) {
  const rows = sql(dir, 'SELECT started_at, check_interval, sync_interval, scheduler FROM scheduler_starts ORDER BY id');
  return rows.split('\n').filter(Boolean).map((l) => {
    const [at, check, sync, on] = l.split('|');
    return { at: Date.parse(at.replace(' ', 'T').replace(/\+00$/, 'Z')), check: Number(check), sync: Number(sync), scheduler: on === '1' || on === 't' };
  });
}

test('report after serve with other intervals: judged by what serve recorded', async () => {
  const dir = freshDir('recorded');
  const { password } = lockstep(dir, ['demo', '--drift', '0']);
  // Before any serve: nothing recorded, the report says n/a instead of inventing.
  const none = reportJson(dir);
  assert.equal(none.scheduler.checks_expected, null);
  assert.equal(none.scheduler.interval_seconds, null);
  assert.equal(none.scheduler.started, false);
  const md = spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'report', 'stabilization'], { env: cleanEnv(), encoding: 'utf8' });
  assert.match(md.stdout, /\| Health checks run \/ expected \| 0 \/ n\/a \(no scheduler start with its settings is recorded in the store\) \|/);

  const FAST = { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '2' };
  const srv = await startServe(dir, FAST);
  let jobs, stab, seen;
  try {
    await sleep(14000);
    const token = await login(srv.url, 'admin@lockstep.local', password);
    [jobs, stab] = await Promise.all([api(srv.url, token, 'GET', '/api/v1/health/jobs?window=72h'),
      api(srv.url, token, 'GET', '/api/v1/health/stabilization-report?window=72h')]);
    seen = Date.now();
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
  const check = jobs.body.find((j) => j.id === 'coupling_health_check');
  const sync = jobs.body.find((j) => j.id === 'progress_license_sync');
  assert.equal(check.interval_seconds, 1);
  assert.equal(check.misfire_grace_seconds, 60);
  assert.equal(sync.interval_seconds, 2);
  assert.ok(check.runs_expected >= 12, `about 14 checks expected while serving, got ${check.runs_expected}`);
  assert.ok(Math.abs(stab.body.scheduler.checks_expected - check.runs_expected) <= 1);
  assert.equal(stab.body.scheduler.interval_seconds, 1);

  // The CLI, without serve's variables: the same intervals, from the store.
  const rep = reportJson(dir);
  const late = (Date.parse(rep.until) - seen) / 1000;
  assert.equal(rep.scheduler.interval_seconds, 1);
  assert.equal(rep.sync.job.interval_seconds, 2);
  assert.equal(rep.scheduler.started, true);
  // Time since the capture counts too (downtime shows as missed runs).
  assert.ok(rep.scheduler.checks_expected >= stab.body.scheduler.checks_expected &&
    rep.scheduler.checks_expected <= stab.body.scheduler.checks_expected + late + 2,
  `CLI ${rep.scheduler.checks_expected} expected, API ${stab.body.scheduler.checks_expected} ${late.toFixed(1)} s earlier`);
  assert.ok(rep.sync.job.runs_expected >= sync.runs_expected && rep.sync.job.runs_expected <= sync.runs_expected + late / 2 + 2);
  assert.ok(rep.scheduler.runs_ok >= 10, `checks ran every second: ${rep.scheduler.runs_ok}`);

  // Serve again with a 2-second interval: each start is judged by its own.
  const srv2 = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '2', LOCKSTEP_SYNC_INTERVAL: '3600' });
  await sleep(6000);
  assert.equal(await stopServe(srv2), 0);
  const rep2 = reportJson(dir);
  const st = starts(dir).filter((s) => s.scheduler);
  assert.equal(st.length, 2);
  assert.deepEqual(st.map((s) => [s.check, s.sync]), [[1, 2], [2, 3600]]);
  const until = Date.parse(rep2.until);
  const want = Math.floor((st[1].at - st[0].at) / 1000) + Math.floor((until - st[1].at) / 2000);
  assert.ok(Math.abs(rep2.scheduler.checks_expected - want) <= 2, `expected ${want}, got ${rep2.scheduler.checks_expected}`);
  assert.equal(rep2.scheduler.interval_seconds, 2);
  assert.equal(rep2.sync.job.interval_seconds, 3600);
  // Judged at 300 s (the CLI's own default) it would be 0.
  assert.ok(rep2.scheduler.checks_expected >= 14, `${rep2.scheduler.checks_expected} expected`);

  // A baseline made from the CLI states the schedule serve recorded, too.
  const b = spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'baseline', 'create'], { env: cleanEnv(), encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  const readme = fs.readFileSync(path.join(dir, 'logs/baselines/BASELINE_README.md'), 'utf8');
  assert.match(readme, /Automated checks every 0:00:02 /);
  assert.match(readme, /Auto-sync every 1:00:00 /);
});

test('serve --no-scheduler records that the jobs do not run, and expects nothing from it', async () => {
  const dir = freshDir('noscheduler');
  const { password } = lockstep(dir, ['demo']);
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '7' }, ['--no-scheduler']);
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    const jobs = await api(srv.url, token, 'GET', '/api/v1/health/jobs');
    for (const j of jobs.body) {
      assert.equal(j.interval_seconds, null, j.id);
      assert.equal(j.runs_expected, null, j.id);
      assert.equal(j.success_rate, null, j.id);
    }
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
  const st = starts(dir);
  assert.equal(st.length, 1);
  assert.deepEqual([st[0].scheduler, st[0].check], [false, 7]);
  const rep = reportJson(dir);
  assert.equal(rep.scheduler.started, false);
  assert.equal(rep.scheduler.checks_expected, null);
});
