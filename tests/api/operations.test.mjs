// operations.test.mjs — running Lockstep as a service: SIGHUP reopens the logs
// under load, every verb answers --help, the journal's line format under
// systemd, and the modes of every file under the data dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BIN, JWT_SECRET, PG, dbArgs, freshDir, lockstep, login, request, sleep, spawnChild, startServe, stopServe, waitFor,
} from './lib.mjs';

const today = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');
const read = (p) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '');

test('every verb answers --help and -h with its own help on stdout, exit 0; -V is --version', async () => {
  const cwd = freshDir('help');
  // Each run is a process start (slow on a loaded machine): run them at once.
  const run = (args) => new Promise((resolve) => {
    execFile(BIN, args, { cwd, env: { ...process.env, LOCKSTEP_CONFIG: '' } }, (err, stdout, stderr) =>
      resolve({ status: err ? err.code : 0, stdout, stderr }));
  });
  const all = await run(['help']);
  assert.equal(all.status, 0);
  // The verbs are read from the help itself, so a new verb cannot be left out.
  const verbs = [...new Set([...all.stdout.matchAll(/^lockstep (\w+)/gm)].map((m) => m[1]))];
  assert.ok(verbs.length >= 13, `verbs found in 'lockstep help': ${verbs}`);
  await Promise.all(verbs.map(async (verb) => {
    const want = await run(['help', verb]);
    assert.equal(want.status, 0, verb);
    const variants = [[verb, '--help'], [verb, '-h']];
    // Wherever it is among the options, global ones included.
    if (verb === 'check') variants.push([verb, '--json', '--help'], ['--data-dir', cwd, verb, '--dry-run', '-h']);
    for (const r of await Promise.all(variants.map(run))) {
      assert.equal(r.status, 0, `${verb}: ${r.stderr}`);
      assert.equal(r.stdout, want.stdout, verb);
      assert.equal(r.stderr, '', verb);
    }
  }));
  for (const flag of ['--help', '-h']) {
    const r = await run([flag]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, all.stdout);
  }
  const version = (await run(['version'])).stdout;
  assert.match(version, /^lockstep \d+\.\d+\.\d+/);
  for (const flag of ['-V', '--version']) {
    const r = await run([flag]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, version);
  }
  // Asking for help ran nothing: no store, no data dir.
  assert.deepEqual(fs.readdirSync(cwd), []);
  // After "--", -h is an argument, not a request for help.
  assert.equal((await run(['check', '--', '-h'])).status, 2);
});

test('SIGHUP under load reopens the day log and log_file: no failed request, no exit, new lines in new files', async () => {
  const dir = freshDir('hup');
  const logFile = path.join(dir, 'lockstep.log');
  const { password } = lockstep(dir, ['demo', '--users', '20']);
  const srv = await startServe(dir, {
    LOCKSTEP_JWT_SECRET: JWT_SECRET, LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_LOG_FILE: logFile,
  });
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    let stop = false;
    let ok = 0;
    const failed = [];
    const loop = async (p, auth) => {
      while (!stop) {
        try {
          const res = await fetch(`${srv.url}${p}`, { headers: auth ? { Authorization: `Bearer ${auth}` } : {} });
          await res.arrayBuffer();
          if (res.status === 200) ok++;
          else failed.push(`${p}: ${res.status}`);
        } catch (e) {
          failed.push(`${p}: ${e.cause?.code || e.message}`);
        }
      }
    };
    const load = [];
    for (let i = 0; i < 3; i++) load.push(loop('/healthz'), loop('/api/v1/health/status', token));

    const dayDir = path.join(dir, 'logs/sync_jobs');
    for (let round = 1; round <= 3; round++) {
      const day = path.join(dayDir, `scheduler_${today()}.log`);
      await waitFor(() => read(day).includes('Health check complete'), 15000);
      await waitFor(() => /GET \/api\/v1\/health\/status 200/.test(read(logFile)), 5000);
      // What logrotate does: rename, then HUP.
      fs.renameSync(day, `${day}.${round}`);
      fs.renameSync(logFile, `${logFile}.${round}`);
      const answeredBefore = ok;
      srv.proc.kill('SIGHUP');
      const canonical = path.join(dayDir, `scheduler_${today()}.log`);
      // New lines go to a new file of the canonical name at once, not after midnight.
      await waitFor(() => read(canonical).includes('Health check complete'), 5000);
      await waitFor(() => /GET \/api\/v1\/health\/status 200/.test(read(logFile)), 5000);
      assert.match(read(logFile), /serve - INFO - received SIGHUP; reopened the log files/);
      // The load goes on being answered after the reopening (how many depends on
      // the machine, not on Lockstep: one more from each of the six loops).
      await waitFor(() => ok >= answeredBefore + 6, 10000);
      assert.equal(srv.proc.exitCode, null, 'serve still runs');
      assert.equal(srv.proc.signalCode, null, 'serve still runs');
    }
    stop = true;
    await Promise.all(load);
    assert.deepEqual(failed.slice(0, 10), [], `${failed.length} failed requests`);
    assert.ok(ok >= 18, `only ${ok} requests answered`);
    // The day log format is the operators' (grep) format, also after reopening.
    for (const line of read(path.join(dayDir, `scheduler_${today()}.log`)).trim().split('\n'))
      assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - \w+ - (INFO|WARNING|ERROR) - /);
    assert.equal(fs.statSync(logFile).mode & 0o777, 0o640);
    // Nothing went to stderr while log_file is set.
    assert.equal(srv.stderr(), '');
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
  assert.match(read(logFile), /serve - INFO - stopped/);
});

test('a log_file that cannot be opened stops serve at start with the reason', () => {
  const dir = freshDir('logfile-bad');
  lockstep(dir, ['migrate']);
  const r = spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'serve', '--listen', '127.0.0.1:0'],
    { env: { ...process.env, LOCKSTEP_LOG_FILE: path.join(dir, 'no/such/dir/lockstep.log') }, timeout: 10000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr.toString(), /cannot open log_file .*no\/such\/dir\/lockstep\.log: No such file or directory/);
});

/** serve with stderr in a file; JOURNAL_STREAM names it when `journal` (or anything else, when a string). */
async function serveToFile(dir, name, env, journal) {
  const errPath = path.join(dir, name);
  const fd = fs.openSync(errPath, 'w');
  const st = fs.fstatSync(fd, { bigint: true });
  const stream = journal === true ? `${st.dev}:${st.ino}` : journal;
  const proc = spawnChild(BIN, ['--data-dir', dir, ...dbArgs(dir), 'serve', '--listen', '127.0.0.1:0'], {
    env: { ...process.env, JOURNAL_STREAM: stream, ...env },
    stdio: ['ignore', 'pipe', fd],
  });
  fs.closeSync(fd);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`serve did not start: ${read(errPath)}`)); }, 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', () => { clearTimeout(timer); reject(new Error(`serve exited: ${read(errPath)}`)); });
  });
  return { proc, url, exited, errPath, text: () => read(errPath) };
}

const PRIORITY = { DEBUG: '7', INFO: '6', WARNING: '4', ERROR: '3' };

test('under systemd (JOURNAL_STREAM names stderr) lines carry <N> priorities and no timestamp; probes are not INFO', async () => {
  const dir = freshDir('journal');
  lockstep(dir, ['demo', '--users', '20']);
  // The integrity-check directory is a file: every check logs an ERROR.
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'logs/integrity_checks'), '');
  const srv = await serveToFile(dir, 'journal.txt', { LOCKSTEP_CHECK_INTERVAL: '1' }, true);
  try {
    for (const p of ['/healthz', '/readyz', '/metrics', '/api/v1/auth/me']) await request(srv.url, 'GET', p);
    await waitFor(() => / - ERROR - /.test(srv.text()) && /GET \/api\/v1\/auth\/me 401/.test(srv.text()), 15000);
  } finally {
    srv.proc.kill('SIGTERM');
    assert.equal(await srv.exited, 0);
  }
  const lines = srv.text().trim().split('\n');
  for (const line of lines) {
    const m = /^<(\d)>[\w-]+ - (DEBUG|INFO|WARNING|ERROR) - /.exec(line);
    assert.ok(m, `not a journal line: ${line}`);
    assert.equal(m[1], PRIORITY[m[2]], line);
  }
  const text = srv.text();
  assert.match(text, /^<6>serve - INFO - Lockstep listening on http:\/\/127\.0\.0\.1:\d+ /m);
  assert.match(text, /^<3>\w+ - ERROR - .*integrity_checks/m);
  assert.match(text, /^<6>http - INFO - GET \/api\/v1\/auth\/me 401 /m);
  assert.doesNotMatch(text, /GET \/(healthz|readyz|metrics) /);
  assert.doesNotMatch(text, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  // The day log keeps its own format (operators grep it), ERROR lines too.
  const day = read(path.join(dir, `logs/sync_jobs/scheduler_${today()}.log`));
  assert.match(day, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - \w+ - ERROR - /m);
  for (const line of day.trim().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - /);

  // A CLI error under the journal is an error there too.
  const errPath = path.join(dir, 'cli.txt');
  const fd = fs.openSync(errPath, 'w');
  const st = fs.fstatSync(fd, { bigint: true });
  const r = spawnSync(BIN, ['--data-dir', dir, 'check', '--bogus'], {
    env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` }, stdio: ['ignore', 'pipe', fd],
  });
  fs.closeSync(fd);
  assert.equal(r.status, 2);
  assert.match(read(errPath), /^<3>lockstep: check: unknown option '--bogus'/);
});

test('JOURNAL_STREAM naming another stream changes nothing; access_log_probes logs the probes at INFO', async () => {
  const dir = freshDir('nojournal');
  lockstep(dir, ['migrate']);
  // systemd set it, but stderr was redirected since: not the journal.
  const srv = await serveToFile(dir, 'stderr.txt', { LOCKSTEP_ACCESS_LOG_PROBES: 'true' }, '1:1');
  try {
    for (const p of ['/healthz', '/readyz', '/metrics']) await request(srv.url, 'GET', p);
    await waitFor(() => /GET \/metrics 200/.test(srv.text()), 5000);
  } finally {
    srv.proc.kill('SIGTERM');
    assert.equal(await srv.exited, 0);
  }
  const text = srv.text();
  for (const p of ['healthz', 'readyz', 'metrics'])
    assert.match(text, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d - http - INFO - GET /${p} \\d{3} `, 'm'));
  assert.doesNotMatch(text, /^</m);
});

test('probes are not access-logged at INFO by default, other requests are', async () => {
  const dir = freshDir('probes');
  lockstep(dir, ['migrate']);
  const srv = await startServe(dir);
  try {
    for (const p of ['/healthz', '/readyz', '/metrics', '/api/v1/auth/me']) await request(srv.url, 'GET', p);
    await waitFor(() => /GET \/api\/v1\/auth\/me 401/.test(srv.stderr()), 5000);
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
  assert.doesNotMatch(srv.stderr(), /GET \/(healthz|readyz|metrics) /);
});

/** Every file and directory under `dir`, with its mode. */
function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push({ p, dir: e.isDirectory(), mode: fs.lstatSync(p).mode & 0o777 });
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

function assertPrivate(root) {
  const entries = walk(root);
  for (const { p, dir, mode } of entries) {
    const rel = path.relative(root, p);
    if (rel === 'secret.key') assert.equal(mode, 0o600, rel);
    else assert.equal(mode & 0o027, 0, `${rel} is ${mode.toString(8)}${dir ? ' (directory)' : ''}`);
  }
  return entries.map((e) => path.relative(root, e.p));
}

test('files under the data dir are 0640 or tighter and secret.key 0600, whatever the umask', async () => {
  const old = process.umask(0o002); // a lax umask: Lockstep's own decides
  try {
    const root = freshDir('modes');
    const dir = path.join(root, 'data'); // created by Lockstep
    const run = (args) => spawnSync(BIN, ['--data-dir', dir, ...dbArgs(root), ...args], { timeout: 60000 });
    assert.equal(run(['demo', '--users', '40', '--drift', '10']).status, 0);
    // A baseline while there are violations (KNOWN_VIOLATIONS.md); serve's sync repairs them.
    assert.equal(run(['baseline', 'create']).status, 0);
    const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '2', ...(dbArgs(root).length ? { LOCKSTEP_DB: dbArgs(root)[1] } : {}) });
    const seen = new Set();
    try {
      await waitFor(() => fs.existsSync(path.join(dir, 'logs/sync_jobs'))
        && fs.readdirSync(path.join(dir, 'logs/sync_jobs')).some((f) => f.endsWith('_sync.log')), 20000);
      // While serve runs, the store's -wal and -shm files exist too.
      for (const f of assertPrivate(dir)) seen.add(f);
    } finally {
      assert.equal(await stopServe(srv), 0);
    }
    assert.ok([0, 3, 4].includes(run(['check']).status));
    run(['sync']);
    run(['report', 'stabilization']);
    run(['trend', '--svg', path.join(dir, 'trend.svg')]);
    for (const f of assertPrivate(dir)) seen.add(f);
    const names = [...seen].join('\n');
    if (!dbArgs(root).length) {
      assert.match(names, /^lockstep\.db$/m);
      assert.match(names, /^lockstep\.db-wal$/m);
      assert.match(names, /^lockstep\.db-shm$/m);
    }
    for (const re of [/^secret\.key$/m, /^logs\/integrity_checks\/\d{8}_\d{6}(_\d+)?_violations\.json$/m,
      /^logs\/sync_jobs\/scheduler_\d{8}\.log$/m, /^logs\/sync_jobs\/\d{8}_\d{6}(_\d+)?_sync\.log$/m,
      /^logs\/baselines\/baseline_\d{8}_\d{6}\.json$/m, /^logs\/baselines\/BASELINE_README\.md$/m,
      /^logs\/baselines\/KNOWN_VIOLATIONS\.md$/m, /^logs\/reports\/stabilization_report_\d{8}\.md$/m,
      /^logs\/reports\/consistency_trend_24h_\d{8}\.txt$/m, /^trend\.svg$/m])
      assert.match(names, re);
  } finally {
    process.umask(old);
  }
});

test('serve warns at start when the store is readable by other users', { skip: PG ? 'a PostgreSQL store has no file' : false }, async () => {
  const dir = freshDir('open-store');
  lockstep(dir, ['migrate']);
  const db = path.join(dir, 'lockstep.db');
  fs.chmodSync(db, 0o644); // what an older version created
  let srv = await startServe(dir);
  assert.equal(await stopServe(srv), 0);
  assert.ok(srv.stderr().includes(` - serve - WARNING - the store ${db} is readable by other users (mode 644); run: chmod o-rwx ${db}*`), srv.stderr());
  fs.chmodSync(db, 0o640);
  srv = await startServe(dir);
  assert.equal(await stopServe(srv), 0);
  assert.doesNotMatch(srv.stderr(), /readable by other users/);
});

test('other verbs keep the default SIGHUP: a hangup ends them', async () => {
  // Only serve takes SIGHUP as "reopen the logs"; a CLI verb on a closed
  // terminal must still end. `user passwd` waits on stdin: hang it up there.
  const dir = freshDir('hup-cli');
  lockstep(dir, ['demo', '--users', '1']);
  const proc = spawnChild(BIN, ['--data-dir', dir, ...dbArgs(dir), 'user', 'passwd', '--email', 'admin@lockstep.local'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  await sleep(300);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(signal ?? code)));
  proc.kill('SIGHUP');
  assert.equal(await exited, 'SIGHUP');
});
