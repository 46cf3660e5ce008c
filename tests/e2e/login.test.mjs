// login.test.mjs — signing in and out of the dashboard in Chromium: the API's
// error in the form, the session kept across a reload and renewed before the
// access token expires, no token where a script or a URL could leak it,
// logout, a non-admin, an unknown page, the login throttle's message.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, addUser, assertNoProblems, closeDashboard, launch, newPage, shot, signIn, startLockstep } from './lib.mjs';

let ctx;
let browser;
const pages = [];
async function page(opts) {
  const p = await newPage(browser, opts);
  pages.push(p);
  return p;
}

before(async () => {
  ctx = await startLockstep('login');
  browser = await launch();
});
after(() => closeDashboard({ browser, ctx }));
afterEach(async () => {
  for (const p of pages.splice(0)) {
    assertNoProblems(p);
    await p.context().close();
  }
});

test('a wrong password shows the API message in the form; the right one opens the page asked for', async () => {
  const p = await page();
  await p.goto(`${ctx.url}/admin/health`);
  await p.waitForURL(`${ctx.url}/login?next=%2Fadmin%2Fhealth`);
  assert.equal(await p.title(), 'Sign in · Lockstep');
  await p.getByLabel('Email').fill(ADMIN);
  await p.getByLabel('Password').fill('not-the-password');
  await p.getByRole('button', { name: 'Sign in' }).click();
  const error = p.getByRole('alert');
  await error.waitFor();
  assert.equal(await error.textContent(), 'Incorrect email or password');
  assert.equal(await p.getByLabel('Password').inputValue(), '', 'the wrong password is cleared');
  assert.equal(await p.getByLabel('Password').getAttribute('aria-invalid'), 'true');
  assert.match(p.url(), /\/login/);
  await shot(p, 'login-error');

  await p.getByLabel('Password').fill(ctx.password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(`${ctx.url}/admin/health`);
  await p.getByRole('heading', { level: 1, name: 'Progress-License Health Monitor' }).waitFor();
  assert.equal(await p.locator('.account-email').textContent(), `Signed in as ${ADMIN}`);
});

test('the session survives a reload, and the tokens stay out of storage, URLs and script-readable cookies', async () => {
  const p = await page();
  const urls = [];
  p.on('request', (r) => urls.push(r.url()));
  await signIn(p, ctx);
  await p.getByTestId('system-health').waitFor();
  await p.reload();
  await p.getByTestId('system-health').waitFor();
  assert.equal(p.url(), `${ctx.url}/admin/dashboard`, 'still signed in after a reload');

  const seen = await p.evaluate(() => ({
    cookie: document.cookie,
    local: Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`),
    session: Object.keys(sessionStorage).map((k) => `${k}=${sessionStorage.getItem(k)}`),
    globals: Object.keys(window).filter((k) => /token/i.test(k)),
  }));
  assert.equal(seen.cookie, '', 'the refresh cookie is HttpOnly');
  assert.ok(!seen.local.some((v) => /eyJ/.test(v)), `no token in localStorage: ${seen.local}`);
  assert.ok(!seen.session.some((v) => /eyJ/.test(v)), `no token in sessionStorage: ${seen.session}`);
  assert.deepEqual(seen.globals, []);
  assert.ok(!urls.some((u) => /eyJ|token=/i.test(u)), 'no token in any URL');

  const [cookie] = (await p.context().cookies()).filter((c) => c.name === 'lockstep_refresh');
  assert.ok(cookie, 'the refresh cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/api/v1/auth');
});

test('the access token is renewed through the cookie before it expires', async () => {
  const p = await page();
  await p.clock.install();
  const used = [];
  p.on('request', (r) => {
    const a = r.headers().authorization;
    if (a && r.url().includes('/api/v1/health/')) used.push(a);
  });
  await signIn(p, ctx);
  await p.getByTestId('system-health').waitFor();
  const before = used.at(-1);
  assert.ok(before);
  const renewed = p.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh') && r.request().method() === 'POST');
  // Access tokens live 30 minutes: the renewal is due within them.
  await p.clock.fastForward('29:00');
  assert.equal((await renewed).status(), 200);
  used.length = 0;
  await p.getByRole('link', { name: 'Health Monitor', exact: true }).click();
  await p.locator('#last-updated time').waitFor();
  assert.ok(used.length > 0);
  assert.ok(used.every((a) => a !== before), 'the health page used the renewed token');
  assert.equal(new Set(used).size, 1);
});

test('logging out ends the session: a reload stays on the sign-in page', async () => {
  const p = await page();
  await signIn(p, ctx);
  await p.getByRole('button', { name: 'Log out' }).click();
  await p.waitForURL(`${ctx.url}/login`);
  assert.equal(await p.getByRole('status').textContent(), 'You have been signed out.');
  const [cookie] = (await p.context().cookies()).filter((c) => c.name === 'lockstep_refresh');
  assert.ok(!cookie || cookie.value === '', 'the refresh cookie is cleared');
  await p.goto(`${ctx.url}/admin/dashboard`);
  await p.waitForURL(/\/login\?next=/);
  await p.getByRole('button', { name: 'Sign in' }).waitFor();
});

test('a student who signs in is told the dashboard is for administrators', async () => {
  addUser(ctx.dir, { email: 'student@example.com', role: 'student', name: 'Stu Dent' });
  const p = await page();
  await signIn(p, ctx, { email: 'student@example.com', password: 'password-123' });
  const box = p.getByTestId('not-admin');
  await box.waitFor();
  assert.equal(await p.getByRole('heading', { level: 1 }).textContent(), 'This dashboard is for administrators');
  assert.match(await box.textContent(), /student@example\.com \(student\)/);
  assert.equal(await p.getByRole('link', { name: 'Health Monitor' }).count(), 0, 'no admin navigation');
  await shot(p, 'login-not-admin');
  await p.goto(`${ctx.url}/admin/health`);
  await box.waitFor();
  await p.getByRole('button', { name: 'Sign out' }).click();
  await p.waitForURL(`${ctx.url}/login`);
});

test('an unknown page shows a 404 page with a way back', async () => {
  const p = await page();
  await signIn(p, ctx);
  await p.goto(`${ctx.url}/admin/no-such-page`);
  await p.getByRole('heading', { name: 'Page not found' }).waitFor();
  assert.match(await p.locator('.message-page').textContent(), /\/admin\/no-such-page/);
  await shot(p, 'not-found');
  await p.getByRole('link', { name: 'Go to the dashboard' }).click();
  await p.waitForURL(`${ctx.url}/admin/dashboard`);
});

// Last: the throttle then refuses every sign-in from this address for minutes.
test('the login throttle answers with its message in the form', async () => {
  const p = await page();
  await p.goto(`${ctx.url}/login`);
  const error = p.getByRole('alert');
  for (let i = 0; i < 6; i++) {
    await p.getByLabel('Email').fill('nobody@example.com');
    await p.getByLabel('Password').fill(`wrong-${i}`);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('button', { name: 'Sign in' }).waitFor();
    await error.waitFor();
  }
  assert.match(await error.textContent(), /^Too many failed login attempts; retry in \d+ seconds$/);
});
