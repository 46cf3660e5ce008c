// prometheus.test.mjs — Lockstep as Prometheus sees it: `promtool check metrics`
// on a live exposition with data (with and without the deprecated names), and
// a real Prometheus scraping `serve` every second with the scrape job and
// rule_files snippets of docs/operations.md ("Wiring into Prometheus"):
// the target is up, the ratio matches /health/metrics, the HTTP histogram has
// samples, contrib/prometheus/lockstep.rules.yml loads, and drift made by SQL
// plus a check makes its alerts pending and firing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freshDir, lockstep, startServe, stopServe, login, api, sql, waitFor, sleep, spawnChild, freePort, DRIFT_SQL as DRIFT,
} from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RULES = path.join(ROOT, 'contrib/prometheus/lockstep.rules.yml');
const TOKEN = 'scrape-token-0123456789abcdef';
const have = (bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
const noPrometheus = !have('prometheus') || !have('promtool')
  ? 'the prometheus and promtool binaries are missing (scripts/bootstrap test installs Debian\'s prometheus)'
  : false;

/** `promtool check metrics` on an exposition: its complaints ('' when clean). */
function promtoolCheck(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

async function scrape(url, token = TOKEN) {
  const res = await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return res.text();
}

/** Some traffic of every kind: a login, API reads, a 404, a 405, the dashboard. */
async function traffic(url, token) {
  await api(url, token, 'GET', '/api/v1/health/status');
  await api(url, token, 'GET', '/api/v1/users/1');
  await api(url, token, 'GET', '/api/v1/specializations');
  await fetch(`${url}/api/v1/nothing`);
  await fetch(`${url}/api/v1/users/1`, { method: 'DELETE' });
  await fetch(`${url}/healthz`);
  await fetch(`${url}/`);
}

test('promtool check metrics: the live exposition is clean, with and without the deprecated names', { skip: noPrometheus }, async () => {
  const dir = freshDir('promlint');
  const { password } = lockstep(dir, ['demo']);
  try { lockstep(dir, ['check']); } catch { /* exit 3: degraded */ }
  lockstep(dir, ['baseline', 'create']);
  const env = { LOCKSTEP_METRICS_TOKEN: TOKEN, LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '2' };
  const srv = await startServe(dir, env);
  const old = await startServe(dir, { ...env, LOCKSTEP_METRICS_DEPRECATED: 'false' }, ['--no-scheduler']);
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    await api(srv.url, token, 'POST', '/api/v1/health/check-now');
    await traffic(srv.url, token);
    await traffic(old.url, token);
    // A scheduled check and sync have run (both jobs show their last success).
    await waitFor(async () => (await scrape(srv.url)).includes('lockstep_job_last_success_timestamp_seconds{job_id="progress_license_sync"}'), 20000, 250);
    const text = await scrape(srv.url);
    for (const name of ['lockstep_consistency_ratio', 'lockstep_baseline_consistency_ratio',
      'lockstep_job_last_success_timestamp_seconds{job_id="progress_license_sync"}',
      'lockstep_http_request_duration_seconds_bucket{method="GET",route="/api/v1/users/{id}"',
      'lockstep_consistency_rate ', 'lockstep_pairs_total ', 'process_open_fds'])
      assert.ok(text.includes(`\n${name}`), `${name} is on the page`);
    assert.deepEqual(promtoolCheck(text), { status: 0, out: '' });
    const without = await scrape(old.url);
    for (const name of ['lockstep_consistency_rate', 'lockstep_pairs_total', 'lockstep_process_start_time_seconds'])
      assert.ok(!without.includes(`\n${name} `) && !without.includes(`# TYPE ${name} `), `${name} is gone`);
    assert.ok(without.includes('\nlockstep_consistency_ratio '));
    assert.deepEqual(promtoolCheck(without), { status: 0, out: '' });
    // The linter is not silent: the old type of lockstep_pairs_total fails it.
    const asBefore = text.replace('# TYPE lockstep_pairs_total untyped', '# TYPE lockstep_pairs_total gauge');
    assert.match(promtoolCheck(asBefore).out, /lockstep_pairs_total non-counter metrics should not have "_total" suffix/);
  } finally {
    await stopServe(old);
    await stopServe(srv);
  }
});

test('promtool: the shipped rules are valid and their unit tests pass', { skip: noPrometheus }, () => {
  let r = spawnSync('promtool', ['check', 'rules', RULES]);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  r = spawnSync('promtool', ['test', 'rules', 'lockstep.rules.test.yml'], { cwd: path.dirname(RULES) });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

/** The ```yaml block of docs/operations.md that starts with `first`. */
function docSnippet(first) {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  const block = blocks.find((b) => b.startsWith(first));
  assert.ok(block, `docs/operations.md has a yaml block starting with ${first}`);
  return block;
}

async function startPrometheus(dir, config) {
  const port = await freePort();
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(cfg, config);
  const proc = spawnChild('prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
      try { return (await fetch(`${url}/-/ready`)).status === 200; } catch { return false; }
    }, 30000, 200);
  } catch (e) {
    proc.kill('SIGTERM');
    throw e;
  }
  return { proc, url, exited, log: () => log };
}

async function query(prom, q) {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json();
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

async function alerts(prom) {
  const body = await (await fetch(`${prom.url}/api/v1/alerts`)).json();
  return body.data.alerts;
}

test('a real Prometheus scrapes serve with the documented snippets and fires the shipped rules', { skip: noPrometheus, timeout: 180000 }, async () => {
  const dir = freshDir('prometheus');
  const { password } = lockstep(dir, ['demo']);
  try { lockstep(dir, ['check']); } catch { /* exit 3: degraded */ }
  const srv = await startServe(dir, { LOCKSTEP_METRICS_TOKEN: TOKEN });
  const tokenFile = path.join(dir, 'metrics-token');
  fs.writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const target = new URL(srv.url).host;
  const scrapeJob = docSnippet('scrape_configs:')
    .replace("'127.0.0.1:8000'", `'${target}'`)
    .replace('/etc/prometheus/lockstep-metrics-token', tokenFile);
  const ruleFiles = docSnippet('rule_files:').replace('/etc/prometheus/lockstep.rules.yml', RULES);
  assert.notEqual(scrapeJob, docSnippet('scrape_configs:'), 'the address was replaced');
  const config = `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${ruleFiles}${scrapeJob}`;
  let prom;
  try {
    prom = await startPrometheus(dir, config);
    const token = await login(srv.url, 'admin@lockstep.local', password);
    await traffic(srv.url, token);

    await waitFor(async () => (await query(prom, 'up{job="lockstep"}'))[0]?.value[1] === '1', 30000, 250);
    const [up] = await query(prom, 'up{job="lockstep"}');
    assert.equal(up.metric.instance, target);

    const rate = (await api(srv.url, token, 'GET', '/api/v1/health/metrics')).body.consistency_rate;
    assert.equal(rate, 98.67);
    const [ratio] = await query(prom, 'lockstep_consistency_ratio{job="lockstep"}');
    assert.ok(Math.abs(Number(ratio.value[1]) - rate / 100) < 1e-9, `${ratio.value[1]} vs ${rate} / 100`);

    await waitFor(async () => (await query(prom, 'sum(lockstep_http_request_duration_seconds_count{job="lockstep"}) > 0')).length === 1, 10000, 250);
    const routes = await query(prom, 'lockstep_http_request_duration_seconds_count{job="lockstep",route="/api/v1/users/{id}",method="GET"}');
    assert.equal(routes.length, 1, 'labelled by the route pattern');
    assert.equal((await query(prom, 'lockstep_job_runs_total{exported_job!=""}')).length, 0, 'no label clashes with Prometheus\'s job');

    const rules = (await (await fetch(`${prom.url}/api/v1/rules`)).json()).data.groups;
    const names = rules.flatMap((g) => g.rules.map((r) => r.name));
    for (const n of ['LockstepStatusCritical', 'LockstepJobNotSucceeding', 'LockstepDown', 'instance:lockstep_checks:rate1h'])
      assert.ok(names.includes(n), `${n} loaded`);
    await waitFor(async () => rules.every((g) => g.rules.every((r) => r.health !== 'err')), 1000);
    // The demo store is degraded (98.67 %): that rule waits for its 30 min,
    // and nothing else is pending or firing.
    await waitFor(async () => (await alerts(prom)).length > 0, 30000, 250);
    await sleep(1500); // a few more evaluations
    assert.deepEqual((await alerts(prom)).map((a) => [a.labels.alertname, a.state]),
      [['LockstepStatusDegraded', 'pending']], 'before the drift');

    // Drift 40 pairs directly in the store, then a recorded check: critical.
    sql(dir, DRIFT);
    const check = await api(srv.url, token, 'POST', '/api/v1/health/check-now');
    assert.equal(check.status, 200);
    assert.equal((await api(srv.url, token, 'GET', '/api/v1/health/status')).body.status, 'critical');
    await waitFor(async () => {
      const a = await alerts(prom);
      return a.some((x) => x.labels.alertname === 'LockstepInconsistentPairs' && x.state === 'firing')
        && a.some((x) => x.labels.alertname === 'LockstepStatusCritical' && x.state === 'pending');
    }, 30000, 250);
    const firing = (await alerts(prom)).find((x) => x.labels.alertname === 'LockstepInconsistentPairs');
    assert.equal(firing.labels.severity, 'warning');
    assert.equal(firing.labels.service, 'lockstep');
    assert.equal(firing.labels.instance, target);
    assert.equal(Number(firing.value), Number(sql(dir, 'SELECT inconsistent FROM check_runs ORDER BY id DESC LIMIT 1')));
    const pending = (await alerts(prom)).find((x) => x.labels.alertname === 'LockstepStatusCritical');
    assert.equal(pending.labels.severity, 'critical');
  } finally {
    if (prom) {
      prom.proc.kill('SIGTERM');
      await prom.exited;
    }
    await stopServe(srv);
  }
});
