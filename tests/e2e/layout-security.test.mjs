// layout-security.test.mjs — the health page on a tablet (768 px) and a phone
// (one column, nothing wider than the screen), by keyboard alone (skip link,
// focus outlines, sorting, Run Check Now, the Sync dialog), values from the API
// inserted as text (a user name and a specialization name full of markup), and
// the security headers and the no-inline-code rules the CSP depends on.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  WEB_DIR, addUser, api, assertNoProblems, lockstep, newPage, openHealth, shot, signIn, sql, until, useDashboard,
} from './lib.mjs';

let ctx, browser, token, p;
const MARKUP_NAME = '<img src=x onerror="window.__injected=1"><script>window.__injected=2</script><b>Eve</b> & "Mallory"';
const MARKUP_SPEC = '<i onmouseover="window.__injected=3">Goalkeeper</i>';
let markupUser;

useDashboard('layout', {
  signedIn: false,
  async prepare(c, t) {
    lockstep(c.dir, ['spec', 'add', 'GOALIE', '--name', MARKUP_SPEC, '--max-levels', '5']);
    markupUser = addUser(c.dir, { email: 'eve@example.com', name: MARKUP_NAME });
    const now = new Date().toISOString();
    sql(c.dir, `INSERT INTO specialization_progress (student_id, specialization_id, current_level, created_at, updated_at)
      VALUES (${markupUser}, 'GOALIE', 3, '${now}', '${now}')`);
    assert.equal((await api(c, t, 'POST', '/api/v1/health/check-now')).status, 200);
  },
}, (d) => ({ ctx, token, browser } = d));
afterEach(async () => {
  assertNoProblems(p);
  await p.context().close();
});

async function layout() {
  return p.evaluate(() => {
    const box = (sel) => {
      const r = document.querySelector(sel).getBoundingClientRect();
      return { x: Math.round(r.left), y: Math.round(r.top), w: Math.round(r.width) };
    };
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      cards: ['#status-card', '#gauge-card', '#metrics-card', '#violations-card', '#trend-card', '#jobs-card'].map(box),
      // Clipped screen-reader-only parts (a card table's header row) do not count.
      widest: Math.max(...[...document.querySelectorAll('main *')].filter((e) => !e.closest('thead, .sr-only'))
        .map((e) => e.getBoundingClientRect().right)),
    };
  });
}

test('wide screens put status, gauge and metrics side by side', async () => {
  p = await newPage(browser, { viewport: { width: 1360, height: 900 } });
  await signIn(p, ctx, { to: '/admin/health' });
  await p.locator('#last-updated time').waitFor();
  const l = await layout();
  assert.equal(new Set(l.cards.slice(0, 3).map((c) => c.y)).size, 1, 'one row');
  assert.ok(l.scrollWidth <= l.innerWidth);
});

for (const [name, viewport] of [['768', { width: 768, height: 1024 }], ['phone', { width: 390, height: 844 }]]) {
  test(`${name}: one column, nothing wider than the screen, rows readable as cards`, async () => {
    p = await newPage(browser, { viewport });
    await signIn(p, ctx, { to: '/admin/health' });
    await p.locator('#last-updated time').waitFor();
    await p.locator('.violations-table tbody tr').first().waitFor();
    const l = await layout();
    assert.ok(l.scrollWidth <= l.innerWidth, `no horizontal scrolling (${l.scrollWidth} > ${l.innerWidth})`);
    assert.ok(l.widest <= l.innerWidth + 0.5, `nothing sticks out (${l.widest})`);
    assert.equal(new Set(l.cards.map((c) => c.x)).size, 1, 'every card starts at the same x');
    assert.equal(new Set(l.cards.map((c) => c.w)).size, 1, 'every card is as wide as the column');
    for (let i = 1; i < l.cards.length; i++) assert.ok(l.cards[i].y > l.cards[i - 1].y, 'stacked in order');
    // The table's header row is kept for screen readers only; each cell is labelled.
    const row = p.locator('.violations-table tbody tr').first();
    const label = await row.locator('td').nth(1).evaluate((td) => getComputedStyle(td, '::before').content);
    assert.equal(label, '"Email"');
    const sync = row.getByRole('button', { name: /^Sync / });
    const box = await sync.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= viewport.width && box.height >= 36, 'a Sync button a thumb can hit');
    await shot(p, `health-${name}`);
    await p.goto(`${ctx.url}/admin/dashboard`);
    await p.getByTestId('system-health').waitFor();
    assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    await shot(p, `dashboard-${name}`);
  });
}

test('by keyboard: skip link, visible focus, sorting, Run Check Now, and the Sync dialog', async () => {
  p = await newPage(browser);
  await signIn(p, ctx, { to: '/admin/health' });
  await p.locator('#last-updated time').waitFor();
  await p.locator('.violations-table tbody tr').first().waitFor();
  await p.reload(); // focus starts at the top of a freshly loaded page
  await p.locator('.violations-table tbody tr').first().waitFor();
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.textContent), 'Skip to main content');
  await p.keyboard.press('Enter');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'main');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'stabilization-link');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'run-check');
  const outline = await p.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return `${s.outlineStyle} ${s.outlineWidth}`;
  });
  assert.equal(outline, 'solid 3px', 'a visible focus outline');
  const checks = (await api(ctx, token, 'GET', '/api/v1/health/history')).body.length;
  await p.keyboard.press('Enter');
  await until(async () => (await api(ctx, token, 'GET', '/api/v1/health/history')).body.length === checks + 1);
  await until(async () => (await p.locator('#run-check').textContent()) === 'Run Check Now');

  // Sort by user with the keyboard.
  const sortUser = p.locator('button.sort[data-sort="user"]');
  await sortUser.focus();
  await p.keyboard.press('Enter');
  assert.equal(await p.locator('th', { has: p.locator('button.sort[data-sort="user"]') }).getAttribute('aria-sort'), 'ascending');
  const ids = (await p.locator('.violations-table tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.userId))));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));

  // The Sync dialog: focus starts on Cancel, Escape closes it, focus comes back.
  const sync = p.locator('.violations-table tbody tr').first().getByRole('button', { name: /^Sync / });
  await sync.focus();
  await p.keyboard.press('Enter');
  const dialog = p.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await p.evaluate(() => document.activeElement.textContent), 'Cancel');
  await p.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.match(await p.evaluate(() => document.activeElement.getAttribute('aria-label')), /^Sync /);
});

test('names full of markup are shown as text, never run or rendered', async () => {
  p = await newPage(browser);
  await signIn(p, ctx, { to: '/admin/health' });
  await p.locator('#last-updated time').waitFor();
  const row = p.locator(`.violations-table tbody tr[data-user-id="${markupUser}"]`);
  await row.locator('.user-name', { hasText: 'Mallory' }).waitFor();
  assert.equal(await row.locator('.user-name').textContent(), MARKUP_NAME);
  assert.equal(await row.locator('img, script, b, i').count(), 0);
  const option = p.locator('#violations-spec option[value="GOALIE"]');
  assert.equal(await option.textContent(), `${MARKUP_SPEC} (GOALIE) — 1`);
  await shot(p, 'markup-as-text');
  await row.getByRole('button', { name: /^Sync / }).click();
  const dialog = p.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /<img src=x onerror="window.__injected=1">/);
  assert.equal(await dialog.locator('img, script, b').count(), 0);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await p.locator('#violations-spec').selectOption('GOALIE');
  assert.equal(await p.evaluate(() => window.__injected), undefined, 'no injected code ran');
  assert.equal(await p.locator('main img').count(), 0);
});

test('security headers on every page, and no inline script, style or handler anywhere in web/', async () => {
  p = await newPage(browser);
  const res = await p.goto(`${ctx.url}/admin/health`);
  const h = res.headers();
  const csp = h['content-security-policy'];
  for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"])
    assert.ok(csp.includes(directive), `CSP has ${directive}`);
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp));
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.equal(h['referrer-policy'], 'no-referrer');
  assert.equal(h['x-frame-options'], 'DENY');
  for (const [asset, type] of [['/css/app.css', 'text/css'], ['/js/app.js', 'text/javascript'], ['/favicon.svg', 'image/svg+xml']]) {
    const r = await fetch(`${ctx.url}${asset}`);
    assert.equal(r.status, 200, asset);
    assert.ok(r.headers.get('content-type').startsWith(type), `${asset}: ${r.headers.get('content-type')}`);
    assert.ok(r.headers.get('etag'), `${asset} has an ETag`);
  }

  const files = fs.readdirSync(WEB_DIR, { recursive: true }).map(String).filter((f) => /\.(html|js|css)$/.test(f));
  for (const f of files) {
    const body = fs.readFileSync(path.join(WEB_DIR, f), 'utf8');
    if (f.endsWith('.html')) {
      assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(body), `${f}: no inline <script>`);
      assert.ok(!/<style/i.test(body) && !/\sstyle=/i.test(body), `${f}: no inline style`);
      assert.ok(!/\son[a-z]+=/i.test(body), `${f}: no inline handler`);
    }
    if (f.endsWith('.js')) {
      assert.ok(!/\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/.test(body), `${f}: no HTML parsing or eval`);
      assert.ok(!/localStorage/.test(body), `${f}: nothing in localStorage`);
      assert.ok(!/setAttribute\(\s*['"]style['"]/.test(body), `${f}: no style attribute`);
    }
  }
});
