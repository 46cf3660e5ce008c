// lib.mjs — helpers of the browser tests: a fresh data dir and `lockstep serve`
// on a free port, SQL and CLI verbs on its store, Chromium through
// playwright-core, signing in through the page, screenshots under
// tests/output/e2e/, and a watch on CSP violations and page errors.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.LOCKSTEP_BIN || path.resolve(here, '../../build/lockstep');
export const CHROMIUM = process.env.LOCKSTEP_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.resolve(here, '../output/e2e');
export const WEB_DIR = path.resolve(here, '../../web');
export const ADMIN = 'admin@lockstep.local';

/** Run a lockstep verb on `dir`; returns stdout. `input` goes to stdin. */
export function lockstep(dir, args, { env = {}, input } = {}) {
  return execFileSync(BIN, ['--data-dir', dir, ...args], {
    env: { ...process.env, ...env },
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  }).toString();
}

/** `lockstep check` may exit 3 (degraded) or 4 (critical): those are results, not failures. */
export function cliCheck(dir) {
  try {
    return lockstep(dir, ['check']);
  } catch (e) {
    if (e.status === 3 || e.status === 4) return e.stdout.toString();
    throw e;
  }
}

/** SQL on the data dir's SQLite store; rows as `a|b` lines. */
export function sql(dir, query) {
  return execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(dir, 'lockstep.db'), query]).toString().trim();
}

/** Add a user with a password; returns the id. */
export function addUser(dir, { email, role = 'student', name = 'Test User', password = 'password-123' }) {
  const out = lockstep(dir, ['user', 'add', '--email', email, '--role', role, '--name', name, '--password-stdin'],
    { input: `${password}\n` });
  return Number(/\(id (\d+)\)/.exec(out)[1]);
}

function spawnServe(dir, listen, env) {
  const proc = spawn(BIN, ['--data-dir', dir, 'serve', '--listen', listen], {
    env: { ...process.env, LOCKSTEP_CHECK_INTERVAL: '3600', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`serve did not start: ${stderr}`)); }, 30000);
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

/**
 * A demo store (`lockstep demo` with `demoArgs`) served on a free port. Returns
 * {dir, url, password, stop(), restart()}; scheduled checks are an hour apart
 * unless `env` says otherwise, so every check in a test is one it ran.
 */
export async function startLockstep(name, { demoArgs = [], env = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lockstep-e2e-${name}-`));
  const out = lockstep(dir, ['demo', ...demoArgs]);
  const password = /password:\s+(\S+)/.exec(out)[1];
  let srv = await spawnServe(dir, '127.0.0.1:0', env);
  const ctx = {
    dir, url: srv.url, port: srv.port, password,
    serverLog: () => srv.stderr(),
    /** Stop serving (SIGTERM) and wait for the exit. */
    async stop() {
      if (!srv) return;
      srv.proc.kill('SIGTERM');
      await srv.exited;
      srv = null;
    },
    /** Serve again on the same port and data dir. */
    async restart() {
      srv = await spawnServe(dir, `127.0.0.1:${ctx.port}`, env);
    },
    async close() {
      await ctx.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return ctx;
}

/** The admin's access token through the API (for arranging data). */
export async function apiToken(ctx, email = ADMIN, password = ctx.password) {
  const res = await fetch(`${ctx.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/** An API call from the test (not the page). */
export async function api(ctx, token, method, p, body) {
  const res = await fetch(`${ctx.url}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * A new page in its own context (its own cookies), with a fixed locale and
 * zone. `problems` collects CSP violations, uncaught errors and console
 * errors; tests assert it stays empty.
 */
export async function newPage(browser, { viewport = { width: 1360, height: 900 }, allow = [] } = {}) {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const problems = [];
  // The browser logs every non-2xx answer ("Failed to load resource"); the
  // dashboard expects some (401 from /auth/refresh when signed out, 404 from
  // latest-report before the first check), so those are not problems.
  const allowed = (text) => /^Failed to load resource/.test(text) || allow.some((re) => re.test(text));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !allowed(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on('dialog', (d) => { problems.push(`unexpected dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.problems = problems;
  return page;
}

/** Sign in through the login page; waits for the dashboard. */
export async function signIn(page, ctx, { email = ADMIN, password = ctx.password, to = '/admin/dashboard' } = {}) {
  await page.goto(`${ctx.url}/login${to === '/admin/dashboard' ? '' : `?next=${encodeURIComponent(to)}`}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${ctx.url}${to}`);
}

/** Open the health page and wait for its first data. */
export async function openHealth(page, ctx) {
  await page.goto(`${ctx.url}/admin/health`);
  await page.locator('#last-updated time').waitFor();
}

/** Run `lockstep check` and wait until the server's status shows that check
 * (another process's check is seen within a second). Returns its timestamp. */
export async function cliCheckSeen(ctx, token) {
  const out = cliCheck(ctx.dir);
  const at = /Checked at (\S+)/.exec(out)[1];
  await until(async () => (await api(ctx, token, 'GET', '/api/v1/health/status')).body.last_check === at,
    { what: `status showing the check of ${at}` });
  return at;
}

/** Save a screenshot under tests/output/e2e/ (full page unless told). */
export async function shot(page, name, { fullPage = true } = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

/** Poll `fn` (sync or async) until it returns a truthy value or time runs out. */
export async function until(fn, { timeout = 10000, every = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Make `count` pairs of the demo store drift (license level off by one). */
export function drift(dir, count) {
  sql(dir, `UPDATE user_licenses SET current_level = CASE WHEN current_level > 1 THEN current_level - 1 ELSE current_level + 1 END
    WHERE id IN (SELECT l.id FROM user_licenses l JOIN specialization_progress p
      ON p.student_id = l.user_id AND p.specialization_id = l.specialization_type
      WHERE p.current_level = l.current_level ORDER BY l.id LIMIT ${count})`);
}

/** The page's status-badge colour as rgb(). */
export async function colourOf(locator, property = 'background-color') {
  return locator.evaluate((el, prop) => getComputedStyle(el).getPropertyValue(prop), property);
}
