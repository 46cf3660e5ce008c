// harness.mjs — the one harness of the black-box tests (tests/api and
// tests/e2e; their lib.mjs files add only what is their own): the lockstep
// binary, fresh data dirs and, under LOCKSTEP_TEST_PG, fresh PostgreSQL
// databases; CLI verbs and SQL on a store; `serve` on a free port; logging in
// and HTTP; a webhook receiver; Chromium.
//
// Every process it starts (serve, Chromium, other children through spawnChild)
// and every receiver is tracked: whatever a test file leaves running — a test
// that failed or timed out before its own cleanup — is stopped once the
// file's tests are done, and killed if the test process itself ends or is
// signalled. A sanitizer report on a serve's stderr fails the test file.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository's top directory. */
export const ROOT = path.resolve(here, '../..');
export const BIN = process.env.LOCKSTEP_BIN || path.join(ROOT, 'build/lockstep');
/** A throwaway PostgreSQL server's URL: then every data dir gets its own database there. */
export const PG = process.env.LOCKSTEP_TEST_PG || '';
/** Scale heavy data sets down on PostgreSQL, where each row is a round trip. */
export const SCALE = PG ? 0.2 : 1;
export const CHROMIUM = process.env.LOCKSTEP_CHROMIUM || '/usr/bin/chromium';
/** The login `lockstep demo` creates. */
export const ADMIN = 'admin@lockstep.local';
/** The signing secret of setupServer's serve (tests sign their own tokens with it). */
export const JWT_SECRET = 'test-signing-secret-0123456789abcdef-lockstep';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The synchronous helpers (execFileSync: the CLI, sqlite3, psql) block the
// event loop; a kept-alive connection that serve closed meanwhile (its idle
// timeout, keepalive_timeout: 5 s by default) is seen closed only once the
// loop turns, and a fetch made before that reuses it and fails ("fetch
// failed", no request sent). Every fetch (the tests' own too) first lets the
// loop turn a few times (its I/O, then undici's handling of the close), so
// such a connection is dropped instead of reused.
const fetchNow = globalThis.fetch;
globalThis.fetch = async (...args) => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  return fetchNow(...args);
};

// ---------------------------------------------------------------------------
// What is still running: stopped after the file's tests, killed at exit.

const children = new Set(); // child processes
const closers = new Set(); // receivers and browsers: async close functions

/** Track a child process until it exits. */
export function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** spawn(), tracked: the process is stopped when the file's tests are done. */
export function spawnChild(cmd, args, options) {
  return track(spawn(cmd, args, options));
}

function killAll() {
  for (const proc of children) {
    try { proc.kill('SIGKILL'); } catch { /* gone */ }
  }
}

// The test process ending (or being told to end) takes its children with it.
process.on('exit', killAll);
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    killAll();
    process.exit(128 + n);
  });
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
async function terminate(proc, graceMs = 10000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

// Once every test of the file has run (and failed or not): close what is
// left, so a forgotten serve, browser or receiver neither hangs the run nor
// outlives it.
after(async () => {
  for (const close of [...closers]) {
    try { await close(); } catch { /* already closed */ }
  }
  await Promise.all([...children].map((p) => terminate(p)));
});

// ---------------------------------------------------------------------------
// Data dirs and stores.

const databases = new Map();
const dirs = new Set();

function pgUrl(db) {
  const u = new URL(PG);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * A fresh data dir under the system temp dir, and the store of every lockstep
 * run on it: the embedded SQLite file inside it, or, under LOCKSTEP_TEST_PG,
 * a fresh database on that server (see dbArgs and sql). The only place that
 * decides which store a test uses.
 */
export function freshDir(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lockstep-${name}-`));
  dirs.add(dir);
  if (PG) {
    const db = `lockstep_api_${path.basename(dir).replace(/[^a-zA-Z0-9]/g, '_').toLowerCase()}`;
    execFileSync('psql', ['-X', '-q', PG, '-c', `CREATE DATABASE ${db}`], { stdio: 'ignore' });
    databases.set(dir, pgUrl(db));
  }
  return dir;
}

// When every test of the file passed, its data dirs (and databases) go; after a
// failure, or with LOCKSTEP_TEST_KEEP=1, they stay for a look.
process.on('exit', (code) => {
  if (code || process.exitCode || process.env.LOCKSTEP_TEST_KEEP) return;
  for (const dir of dirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* a mount left behind: keep it */ }
    if (databases.has(dir)) {
      const db = new URL(databases.get(dir)).pathname.slice(1);
      try { execFileSync('psql', ['-X', '-q', PG, '-c', `DROP DATABASE IF EXISTS ${db}`], { stdio: 'ignore' }); } catch { /* still in use */ }
    }
  }
});

/** The --db option of a data dir's store (none for the embedded default). */
export function dbArgs(dir) {
  return databases.has(dir) ? ['--db', databases.get(dir)] : [];
}

/** The store's URL for a client of its own (psql), or the SQLite file's path. */
export function storeUrl(dir) {
  return databases.get(dir) || path.join(dir, 'lockstep.db');
}

/** Run a lockstep verb on `dir`'s store (with `input` on stdin); returns stdout. */
export function cli(dir, args, { env = {}, input } = {}) {
  return execFileSync(BIN, ['--data-dir', dir, ...dbArgs(dir), ...args], {
    env: { ...process.env, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    input,
  }).toString();
}

/** Add a user with a password (`lockstep user add`); returns the id. */
export function addUser(dir, { email, role = 'student', name = 'Test User', password = 'password-123' }) {
  const out = cli(dir, ['user', 'add', '--email', email, '--role', role, '--name', name, '--password-stdin'],
    { input: `${password}\n` });
  return Number(/\(id (\d+)\)/.exec(out)[1]);
}

/** Run SQL on the data dir's store (sqlite3 or psql); rows as `a|b` lines. */
export function sql(dir, query) {
  if (databases.has(dir))
    return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', databases.get(dir), '-c', query]).toString().trim();
  // A running serve may be writing: wait for its lock rather than fail.
  return execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(dir, 'lockstep.db'), query]).toString().trim();
}

/** Drift made behind Lockstep's back: the licenses of users 1–40 one level off. */
export const DRIFT_SQL = 'UPDATE user_licenses SET current_level = CASE WHEN current_level > 1 THEN current_level - 1 ELSE 2 END WHERE user_id <= 40';
/** Its repair: every license back at its progress level. */
export const REPAIR_SQL = 'UPDATE user_licenses SET current_level = (SELECT p.current_level FROM specialization_progress p '
  + 'WHERE p.student_id = user_licenses.user_id AND p.specialization_id = user_licenses.specialization_type) '
  + 'WHERE EXISTS (SELECT 1 FROM specialization_progress p WHERE p.student_id = user_licenses.user_id '
  + 'AND p.specialization_id = user_licenses.specialization_type)';

/**
 * Hold the write lock on the progress table from another client (sqlite3's
 * BEGIN IMMEDIATE, or a PostgreSQL table lock) until release() is called.
 */
export async function holdWriteLock(dir) {
  const cmd = PG
    ? ['psql', ['-X', '-q', '-A', '-t', storeUrl(dir)]]
    : ['sqlite3', [storeUrl(dir)]];
  const proc = spawnChild(cmd[0], cmd[1], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stdin.write(PG
    ? "BEGIN; LOCK TABLE specialization_progress IN EXCLUSIVE MODE; SELECT 'locked';\n"
    : "BEGIN IMMEDIATE; SELECT 'locked';\n");
  for (let i = 0; !out.includes('locked'); i++) {
    if (i > 200) throw new Error('the lock was not taken');
    await sleep(25);
  }
  const exited = new Promise((r) => proc.on('exit', r));
  return {
    async release() {
      proc.stdin.end('ROLLBACK;\n');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------
// serve.

const SANITIZER = /(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer)|runtime error:/;

/**
 * Start `lockstep serve` (on a free port unless `listen` says otherwise);
 * resolves once it listens with {proc, url, port, exited, stderr()}.
 */
export function startServe(dir, env = {}, extra = [], { listen = '127.0.0.1:0' } = {}) {
  const proc = spawnChild(BIN, ['--data-dir', dir, ...dbArgs(dir), 'serve', '--listen', listen, ...extra], {
    // The suites written before the watcher count checks and files as the
    // scheduled jobs make them: they run with [watch] mode off (every check
    // full), and the watcher's own tests (watch.test.mjs) turn it on.
    env: { ...process.env, LOCKSTEP_WATCH_MODE: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    // Under a sanitizer build (make api-asan) any report fails the run.
    const report = SANITIZER.exec(stderr);
    if (report) {
      process.stderr.write(`lockstep serve (${dir}) reported:\n${stderr.slice(Math.max(0, report.index - 200))}\n`);
      process.exitCode = 1;
    }
    resolve(code ?? signal);
  }));
  return new Promise((resolve, reject) => {
    let out = '';
    // Generous: a loaded machine (and the ASan build) starts slowly. A serve
    // that does not start in time is killed, so it cannot keep the run alive.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`serve did not start: ${stderr}`));
    }, 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /serving on (http:\/\/127\.0\.0\.1:(\d+))\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], port: Number(m[2]), exited, stderr: () => stderr });
      }
    });
    proc.on('exit', () => { clearTimeout(timer); reject(new Error(`serve exited: ${stderr}`)); });
  });
}

/** SIGTERM and wait; resolves with the exit code. */
export async function stopServe(srv) {
  srv.proc.kill('SIGTERM');
  return srv.exited;
}

// ---------------------------------------------------------------------------
// HTTP.

/** The base URL of a url string or of anything with a .url (a setupServer or startLockstep context). */
const baseOf = (target) => (typeof target === 'string' ? target : target.url);

/** Log in through the API; resolves with the access token. */
export async function login(target, email, password) {
  const res = await fetch(`${baseOf(target)}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/** A JSON API call with a token; resolves with { status, body }. */
export async function api(target, token, method, p, body) {
  const res = await fetch(`${baseOf(target)}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** One request from a given local address (any 127.x.y.z is loopback on Linux). */
function requestFrom(url, from, method, p, headers, payload) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, method, headers, localAddress: from, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: new Headers(res.headers), text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Any request; body may be an object (sent as JSON), a string or a Buffer;
 * `from` sends it from that local address (a client address of its own).
 * Resolves with { status, headers, text, body (parsed JSON or null), ms }.
 */
export async function request(url, method, p, { token, headers = {}, body, from } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload = body;
  if (body !== undefined && typeof body === 'object' && !Buffer.isBuffer(body)) {
    payload = JSON.stringify(body);
    h['Content-Type'] = h['Content-Type'] || 'application/json';
  }
  const t0 = performance.now();
  let r;
  if (from) {
    r = await requestFrom(baseOf(url), from, method, p, h, payload);
  } else {
    const res = await fetch(`${baseOf(url)}${p}`, { method, headers: h, body: payload });
    r = { status: res.status, headers: res.headers, text: await res.text() };
  }
  r.ms = performance.now() - t0;
  r.body = null;
  try { r.body = r.text ? JSON.parse(r.text) : null; } catch { /* not JSON */ }
  return r;
}

/** Poll `fn` (sync or async) until it returns a truthy value (resolved with) or time runs out. */
export async function until(fn, { timeout = 10000, every = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${timeout} ms`);
    await sleep(every);
  }
}

/** A loopback port nothing listens on (taken and released). */
export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A webhook receiver on 127.0.0.1 (`port` 0: a free one) answering
 * `state.status` after `state.delayMs`; `posts` holds every request, `bodies`
 * their parsed JSON, `alerts(name)` the alerts of v4 bodies with that alertname.
 */
export async function webhookReceiver(port = 0) {
  const state = { status: 200, delayMs: 0, posts: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      state.posts.push({ method: req.method, path: req.url, headers: req.headers, body, at: Date.now() });
      setTimeout(() => { res.statusCode = state.status; res.end(); }, state.delayMs);
    });
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  state.port = server.address().port;
  state.url = `http://127.0.0.1:${state.port}/hook`;
  Object.defineProperty(state, 'bodies', { get: () => state.posts.map((p) => JSON.parse(p.body)) });
  state.close = () => {
    closers.delete(state.close);
    return new Promise((r) => {
      if (!server.listening) { r(); return; }
      server.closeAllConnections();
      server.close(() => r());
    });
  };
  closers.add(state.close);
  /** Alerts received with alertname `name` (from v4 bodies), each with its POST time. */
  state.alerts = (name) => state.posts.flatMap((p) => JSON.parse(p.body).alerts.map((a) => ({ ...a, at: p.at })))
    .filter((a) => a.labels.alertname === name);
  return state;
}

// ---------------------------------------------------------------------------
// Chromium (playwright-core, imported only by the tests that use a browser).

/** Headless Chromium with the project's flags; closed after the file's tests if still open. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const close = () => browser.close();
  closers.add(close);
  browser.on('disconnected', () => closers.delete(close));
  return browser;
}
