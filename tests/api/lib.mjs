// lib.mjs — helpers of the black-box tests: fresh data dirs (and, under
// LOCKSTEP_TEST_PG, fresh PostgreSQL databases), the lockstep binary, `serve` on
// a free port, SQL on the store, HTTP with a token.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export const BIN = process.env.LOCKSTEP_BIN || path.resolve('../build/lockstep');
/** A throwaway PostgreSQL server's URL: then every test gets its own database there. */
export const PG = process.env.LOCKSTEP_TEST_PG || '';
/** Scale heavy data sets down on PostgreSQL, where each row is a round trip. */
export const SCALE = PG ? 0.2 : 1;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

/** Run a lockstep verb on `dir` (with `input` on stdin); returns stdout and, for `demo`, the admin password. */
export function lockstep(dir, args, env = {}, input = undefined) {
  const out = execFileSync(BIN, ['--data-dir', dir, ...dbArgs(dir), ...args], {
    env: { ...process.env, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    input,
  }).toString();
  const m = /password: (\S+)/.exec(out);
  return { out, password: m ? m[1] : null };
}

/** Start `lockstep serve` on a free port; resolves once it listens. */
export function startServe(dir, env = {}, extra = []) {
  const proc = spawn(BIN, ['--data-dir', dir, ...dbArgs(dir), 'serve', '--listen', '127.0.0.1:0', ...extra], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    // Under a sanitizer build (make api-asan) any report fails the run.
    const report = /(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer)|runtime error:/.exec(stderr);
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
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], exited, stderr: () => stderr });
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

/** Run SQL on the data dir's store (sqlite3 or psql); rows as `a|b` lines. */
export function sql(dir, query) {
  if (databases.has(dir))
    return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', databases.get(dir), '-c', query]).toString().trim();
  return execFileSync('sqlite3', [path.join(dir, 'lockstep.db'), query]).toString().trim();
}

export async function login(url, email, password) {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

export async function api(url, token, method, p, body) {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export async function waitFor(cond, timeoutMs = 5000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** All day-log files of the data dir, concatenated in date order. */
export function dayLog(dir) {
  const d = path.join(dir, 'logs/sync_jobs');
  if (!fs.existsSync(d)) return '';
  return fs.readdirSync(d).filter((f) => /^scheduler_\d{8}\.log$/.test(f)).sort()
    .map((f) => fs.readFileSync(path.join(d, f), 'utf8')).join('');
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
    r = await requestFrom(url, from, method, p, h, payload);
  } else {
    const res = await fetch(`${url}${p}`, { method, headers: h, body: payload });
    r = { status: res.status, headers: res.headers, text: await res.text() };
  }
  r.ms = performance.now() - t0;
  r.body = null;
  try { r.body = r.text ? JSON.parse(r.text) : null; } catch { /* not JSON */ }
  return r;
}

/** An HS256 JWT signed with `secret` (or unsigned with alg none). */
export function makeJwt(secret, payload, header = { alg: 'HS256', typ: 'JWT' }) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64(header)}.${b64(payload)}`;
  if (header.alg === 'none') return `${head}.`;
  return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

export const JWT_SECRET = 'test-signing-secret-0123456789abcdef-lockstep';

/**
 * A demo store served on a free port with a known signing secret; the admin
 * token, and a helper to add users with a password. Stop with ctx.stop().
 */
export async function setupServer(name, env = {}, demoArgs = []) {
  const dir = freshDir(name);
  const { password } = lockstep(dir, ['demo', ...demoArgs]);
  const srv = await startServe(dir, { LOCKSTEP_JWT_SECRET: JWT_SECRET, LOCKSTEP_CHECK_INTERVAL: '3600', ...env });
  const adminToken = await login(srv.url, 'admin@lockstep.local', password);
  const ctx = {
    dir, srv, url: srv.url, adminPassword: password, adminToken,
    addUser(email, role, pw = 'password-123', nameArg = 'Test User') {
      const out = execFileSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'user', 'add', '--email', email,
        '--role', role, '--name', nameArg, '--password-stdin'], { input: `${pw}\n` }).toString();
      return Number(/\(id (\d+)\)/.exec(out)[1]);
    },
    stop: () => stopServe(srv),
  };
  return ctx;
}
