// lib.mjs — the browser tests' face of the shared harness
// (tests/lib/harness.mjs): a fresh data dir and `lockstep serve` on a free
// port, SQL and CLI verbs on its store, Chromium through playwright-core; and
// what only the browser tests use: signing in through the page, screenshots
// under tests/output/e2e/, a watch on CSP violations and page errors, and
// the usual arrangement of a file (a served demo store, a browser, a
// signed-in page) in one call.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { before, after, afterEach } from 'node:test';
import {
  ADMIN, ROOT, api, cli, freshDir, launchChromium, login, sql, startServe, stopServe, until,
} from '../lib/harness.mjs';

export { BIN, CHROMIUM, ADMIN, addUser, sql, api, until } from '../lib/harness.mjs';
export const SHOTS = path.join(ROOT, 'tests/output/e2e');
export const WEB_DIR = path.join(ROOT, 'web');

/** Run a lockstep verb on `dir`; returns stdout. `input` goes to stdin. */
export const lockstep = (dir, args, { env = {}, input } = {}) => cli(dir, args, { env, input });

/** `lockstep check` may exit 3 (degraded) or 4 (critical): those are results, not failures. */
export function cliCheck(dir) {
  try {
    return lockstep(dir, ['check']);
  } catch (e) {
    if (e.status === 3 || e.status === 4) return e.stdout.toString();
    throw e;
  }
}

/**
 * A demo store (`lockstep demo` with `demoArgs`) served on a free port. Returns
 * {dir, url, password, stop(), restart()}; scheduled checks are an hour apart
 * unless `env` says otherwise, so every check in a test is one it ran.
 * `setup(dir)` replaces the demo: it arranges a store of its own in a plain
 * temp dir (its config named by the env it returns, e.g. LOCKSTEP_CONFIG,
 * whatever LOCKSTEP_TEST_PG says) and returns {env, email, password}, the login.
 */
export async function startLockstep(name, { demoArgs = [], env = {}, setup } = {}) {
  let dir;
  let password;
  let email;
  let setupEnv = {};
  if (setup) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `lockstep-e2e-${name}-`));
    ({ env: setupEnv = {}, email, password } = await setup(dir));
  } else {
    dir = freshDir(`e2e-${name}`);
    const out = lockstep(dir, ['demo', ...demoArgs]);
    password = /password:\s+(\S+)/.exec(out)[1];
  }
  const serveEnv = { LOCKSTEP_CHECK_INTERVAL: '3600', ...setupEnv, ...env };
  let srv = await startServe(dir, serveEnv);
  const ctx = {
    dir, url: srv.url, port: srv.port, password, email,
    serverLog: () => srv.stderr(),
    /** Stop serving (SIGTERM) and wait for the exit. */
    async stop() {
      if (!srv) return;
      await stopServe(srv);
      srv = null;
    },
    /** Serve again on the same port and data dir. */
    async restart() {
      srv = await startServe(dir, serveEnv, [], { listen: `127.0.0.1:${ctx.port}` });
    },
    async close() {
      await ctx.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return ctx;
}

/** The admin's access token through the API (for arranging data). */
export const apiToken = (ctx, email = ctx.email || ADMIN, password = ctx.password) => login(ctx, email, password);

/** Headless Chromium with the project's flags. */
export const launch = launchChromium;

/**
 * The arrangement most files share: a demo store served (startLockstep's
 * options), the admin's API token, a browser and, unless `signedIn` is false,
 * a page signed in as the admin. `prepare(ctx, token)` arranges data before
 * the browser starts. Whatever was started is closed again if a later step fails.
 */
export async function openDashboard(name, { signedIn = true, prepare, ...options } = {}) {
  const ctx = await startLockstep(name, options);
  let browser;
  try {
    const token = await apiToken(ctx);
    await prepare?.(ctx, token);
    browser = await launch();
    let page;
    if (signedIn) {
      page = await newPage(browser);
      await signIn(page, ctx);
    }
    return { ctx, token, browser, page };
  } catch (e) {
    await browser?.close();
    await ctx.close();
    throw e;
  }
}

/** Close what openDashboard (or startLockstep and launch) opened. */
export async function closeDashboard({ browser, ctx } = {}) {
  await browser?.close();
  await ctx?.close();
}

/**
 * openDashboard for the whole file: before its tests, `receive` gets
 * {ctx, token, browser, page}; after them all is closed; after each test
 * the signed-in page must have seen no problem.
 */
export function useDashboard(name, options, receive) {
  let d = {};
  before(async () => {
    d = await openDashboard(name, options);
    receive(d);
  });
  after(() => closeDashboard(d));
  if (options?.signedIn !== false) afterEach(() => assertNoProblems(d.page));
}

/** What every test's page must not have seen (newPage's `problems`). */
export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'no CSP violation, page error or console error');
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
export async function signIn(page, ctx, { email = ctx.email || ADMIN, password = ctx.password, to = '/admin/dashboard' } = {}) {
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
