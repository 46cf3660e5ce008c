// attached.test.mjs — the dashboard over an attached SQLite academy
// (attach.md): Lockstep's own SQLite store with the reference academy's file
// (tests/fixtures/academy/sqlite-*.sql, with the duplicates variant, so every
// manual_review type is there) attached read-only. The status badge and the
// rate are the SQL oracle's; the violations table shows the academy's e-mails
// and the three manual_review types with their labels and no Sync button; the
// scheduler panel shows the auto-sync as disabled (repairs are off); Run check
// now runs a check over the academy; the academy's file is unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, api, colourOf, openHealth, shot, until, useDashboard } from './lib.mjs';

const FIXTURE = fileURLToPath(new URL('../fixtures/academy/', import.meta.url));
const LEVELS = { PLAYER: 8, COACH: 8, INTERNSHIP: 3, GK_A: 4, GKB: 4 };
const REPAIRS_OFF = 'repairs are off for the attached database (domain.repair = off)';
const EMAIL = 'Dash.Admin@Lockstep.test';
const PASSWORD = 'attached-dashboard-password-1';
const LABELS = { invalid_level: 'Invalid level', unknown_specialization: 'Unknown specialization', duplicate_rows: 'Duplicate rows' };

const sq = (file, query, { write = false, cmd } = {}) => execFileSync('sqlite3',
  ['-batch', ...(write ? [] : ['-readonly']), ...(cmd ? ['-cmd', cmd] : []), file], { input: query, maxBuffer: 64 << 20 }).toString().trim();
const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const fixture = (f) => fs.readFileSync(path.join(FIXTURE, f), 'utf8');

/** The oracle (sqlite-expected.sql): the summary and the inconsistent pairs. */
function oracle(file) {
  const values = Object.entries(LEVELS).map(([s, m]) => `('${s}', ${m})`).join(', ');
  const out = sq(file, fixture('sqlite-expected.sql'),
    { cmd: `CREATE TEMP TABLE levels (spec TEXT PRIMARY KEY, max_level INTEGER NOT NULL); INSERT INTO levels VALUES ${values};` });
  const summary = {};
  const pairs = [];
  for (const line of out.split('\n')) {
    const f = line.split('|');
    if (f[0] === 'pair') pairs.push({ user_id: Number(f[1]), specialization: f[2], issue_type: f[3] });
    else summary[f[0]] = Number(f[1]);
  }
  summary.consistency_rate = Math.round((summary.consistent / summary.total_checked) * 10000) / 100;
  return { summary, pairs };
}

let academy;
let hash;
let expected;
let emails;
let ctx, token, p;

useDashboard('attached', {
  async setup(dir) {
    const where = path.join(dir, 'academy');
    fs.mkdirSync(where);
    academy = path.join(where, 'academy.db');
    sq(academy, fixture('sqlite-schema.sql') + fixture('sqlite-seed.sql') + fixture('sqlite-duplicates.sql'), { write: true });
    expected = oracle(academy);
    emails = new Map(sq(academy, 'SELECT id, email FROM users').split('\n').map((l) => l.split('|')).map(([id, e]) => [Number(id), e]));
    hash = sha256(academy);
    const cfg = path.join(dir, 'lockstep.ini');
    fs.writeFileSync(cfg, [`db = sqlite:${path.join(dir, 'lockstep.db')}`, `data_dir = ${dir}`,
      '[domain]', 'source = attached', `database = ${academy}`,
      '[levels]', ...Object.entries(LEVELS).map(([s, m]) => `${s} = ${m}`), ''].join('\n'), { mode: 0o600 });
    const run = (args, input) => execFileSync(BIN, ['--config', cfg, ...args], { input, stdio: ['pipe', 'pipe', 'pipe'] });
    run(['migrate']);
    run(['user', 'add', '--email', EMAIL, '--role', 'admin', '--name', 'Dash Admin', '--password-stdin'], `${PASSWORD}\n`);
    return { env: { LOCKSTEP_CONFIG: cfg, LOCKSTEP_CHECK_INTERVAL: '600' }, email: EMAIL.toLowerCase(), password: PASSWORD };
  },
}, (d) => ({ ctx, token, page: p } = d));

test('the fixture: the three manual_review types are there, and the rate is critical', () => {
  assert.deepEqual([expected.summary.invalid_level, expected.summary.unknown_specialization, expected.summary.duplicate_rows], [6, 6, 4]);
  assert.equal(expected.summary.consistency_rate, 92.96);
});

test('before the first check: UNKNOWN; the auto-sync shown as disabled; Run first check now checks the academy', async () => {
  await openHealth(p, ctx);
  const badge = p.getByTestId('status-badge');
  assert.equal(await badge.getAttribute('data-status'), 'unknown');
  const autoSync = p.getByTestId('scheduler').locator('tr[data-job="progress_license_sync"]');
  await autoSync.waitFor();
  const disabled = autoSync.getByTestId('job-disabled');
  assert.equal(await disabled.textContent(), 'disabled');
  assert.equal(await disabled.getAttribute('title'), REPAIRS_OFF);
  const check = p.getByTestId('scheduler').locator('tr[data-job="coupling_health_check"]');
  assert.equal(await check.getByTestId('job-disabled').count(), 0, 'the health check is scheduled');

  await p.getByRole('button', { name: 'Run first check now' }).click();
  await p.getByTestId('status-badge').and(p.locator('[data-status="critical"]')).waitFor();
  const history = (await api(ctx, token, 'GET', '/api/v1/health/history')).body;
  assert.equal(history.length, 1);
  assert.equal(history[0].total_checked, expected.summary.total_checked);
});

test('the badge, the gauge and the figures are the oracle\'s', async () => {
  await openHealth(p, ctx);
  const rate = `${expected.summary.consistency_rate.toFixed(2)}%`;
  const badge = p.getByTestId('status-badge');
  assert.equal(await badge.getAttribute('data-status'), 'critical');
  assert.equal((await badge.textContent()).trim(), '✕CRITICAL');
  assert.equal(await colourOf(badge), 'rgb(239, 68, 68)');
  assert.equal(await p.getByTestId('gauge').locator('.gauge-number').textContent(), rate);
  assert.equal(await p.locator('[data-metric="rate"]').textContent(), rate);
  assert.equal(await p.locator('[data-metric="violations"]').textContent(), expected.summary.inconsistent.toLocaleString('en-US'));
  assert.equal(await p.locator('#violations-title').textContent(), `Active Violations (${expected.summary.inconsistent.toLocaleString('en-US')})`);
  await shot(p, 'attached-sqlite-health');
});

test('the violations table: the academy\'s e-mails, the three manual_review types with their labels and no Sync button', async () => {
  await openHealth(p, ctx);
  const rows = p.getByTestId('violations').locator('tbody tr');
  for (const [type, label] of Object.entries(LABELS)) {
    await p.locator('#violations-issue').selectOption(type);
    const want = expected.pairs.filter((x) => x.issue_type === type);
    assert.equal(await rows.count(), want.length, `${type}: the oracle's ${want.length} pairs`);
    const keys = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.key));
    assert.deepEqual(keys.sort(), want.map((x) => `${x.user_id}|${x.specialization}|${type}`).sort(), type);
    for (let i = 0; i < want.length; i++) {
      const row = rows.nth(i);
      const id = Number(await row.getAttribute('data-user-id'));
      assert.equal(await row.locator('.pill-issue').textContent(), label);
      assert.equal(await row.locator('.sync-button').count(), 0, `${type}: no sync repairs it`);
      assert.equal(await row.locator('.review-note').textContent(), 'Needs review');
      assert.equal((await row.locator('td').nth(1).textContent()).replace(/\u200b/g, ''), emails.get(id), `the academy's e-mail of user ${id}, as stored`);
    }
  }
  // A repairable pair: its e-mail in mixed case, as the academy keeps it, and a search finds it in any case.
  await p.locator('#violations-issue').selectOption('level_mismatch');
  const mixed = expected.pairs.find((x) => x.issue_type === 'level_mismatch' && emails.get(x.user_id) !== emails.get(x.user_id).toLowerCase());
  await p.locator('#violations-search').fill(emails.get(mixed.user_id).toUpperCase());
  await until(async () => (await rows.count()) >= 1, { what: 'the search result' });
  const row = p.locator(`tr[data-key="${mixed.user_id}|${mixed.specialization}|level_mismatch"]`);
  assert.equal((await row.locator('td').nth(1).textContent()).replace(/\u200b/g, ''), emails.get(mixed.user_id));
  assert.equal(await row.locator('.pill-issue').textContent(), 'Level mismatch');
  await shot(p, 'attached-sqlite-violations');
});

test('Run check now: a new check over the academy, the same figures; the academy\'s file unchanged', async () => {
  await openHealth(p, ctx);
  const before = (await api(ctx, token, 'GET', '/api/v1/health/history')).body.length;
  await p.getByRole('button', { name: /Run Check Now/i }).click();
  await until(async () => (await api(ctx, token, 'GET', '/api/v1/health/history')).body.length === before + 1, { what: 'a new check' });
  const status = (await api(ctx, token, 'GET', '/api/v1/health/status')).body;
  assert.equal(status.consistency_rate, expected.summary.consistency_rate);
  assert.equal(status.total_violations, expected.summary.inconsistent);
  await p.locator('#violations-title', { hasText: `(${expected.summary.inconsistent})` }).waitFor();
  assert.equal(sha256(academy), hash, 'the academy\'s file is byte-for-byte what it was');
  assert.deepEqual(fs.readdirSync(path.dirname(academy)), ['academy.db'], 'no journal beside it');
});

test('the violations table names each student as the academy does (attach.md: the attached users table is read for names)', async () => {
  await openHealth(p, ctx);
  const pair = expected.pairs.find((x) => x.issue_type === 'invalid_level');
  const name = sq(academy, `SELECT name FROM users WHERE id = ${pair.user_id}`);
  await p.locator('#violations-issue').selectOption('invalid_level');
  const row = p.locator(`tr[data-key="${pair.user_id}|${pair.specialization}|invalid_level"]`);
  await row.waitFor();
  await row.locator('.user-name', { hasText: name }).waitFor({ timeout: 5000 });
});
