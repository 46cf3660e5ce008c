// metrics.test.mjs — /metrics is valid Prometheus text format 0.0.4 with the
// series operations.md asks for, and its optional bearer token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, dbArgs, freshDir, lockstep, startServe, stopServe, login, api } from './lib.mjs';

/** A strict parser of the exposition format: families with their type and samples. */
export function parseExposition(text) {
  const families = new Map();
  const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  assert.ok(text.endsWith('\n'), 'the page ends with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const [, name, help] = /^# HELP (\S+) (.*)$/.exec(line) || [];
      assert.match(name, nameRe);
      assert.ok(help && help.length > 0, `HELP of ${name} says something`);
      const f = families.get(name) || { samples: [] };
      assert.equal(f.help, undefined, `one HELP for ${name}`);
      assert.equal(f.samples.length, 0, `HELP of ${name} before its samples`);
      families.set(name, { ...f, help });
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, name, type] = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line) || [];
      assert.ok(name, `valid TYPE line: ${line}`);
      const f = families.get(name) || { samples: [] };
      assert.equal(f.type, undefined, `one TYPE for ${name}`);
      assert.equal(f.samples.length, 0, `TYPE of ${name} before its samples`);
      families.set(name, { ...f, type });
      continue;
    }
    assert.ok(!line.startsWith('#'), `no other comments: ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `valid sample line: ${line}`);
    const [, name, , labelText, value] = m;
    assert.ok(!Number.isNaN(Number(value)) || ['+Inf', '-Inf', 'NaN'].includes(value), `numeric value: ${line}`);
    const labels = {};
    if (labelText) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let pos = 0;
      while (pos < labelText.length) {
        re.lastIndex = pos;
        const lm = re.exec(labelText);
        assert.ok(lm, `valid labels: ${labelText}`);
        labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
        pos = re.lastIndex;
      }
    }
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const family = families.get(name) || families.get(base);
    assert.ok(family && family.type, `${name} has a TYPE before its samples`);
    family.samples.push({ name, labels, value: Number(value === '+Inf' ? Infinity : value) });
  }
  return families;
}

test('/metrics: Prometheus text format with the series of operations.md', async () => {
  const dir = freshDir('metrics');
  const { password } = lockstep(dir, ['demo']);
  try { lockstep(dir, ['check']); } catch { /* exit 3: degraded */ } // a recorded check
  const started = Date.now();
  const srv = await startServe(dir, { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600' });
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    // A check-now that arrives while a scheduled check runs (every second
    // here) shares that check's result and records no manual one: ask again.
    for (let i = 0; i < 10; i++) {
      const now = await api(srv.url, token, 'POST', '/api/v1/health/check-now');
      assert.equal(now.status, 200, JSON.stringify(now.body));
      const text = await (await fetch(`${srv.url}/metrics`)).text();
      if (/lockstep_checks_total\{[^}]*trigger="manual"[^}]*\} [1-9]/.test(text)) break;
    }
    await api(srv.url, token, 'GET', '/api/v1/health/status');
    const users = await api(srv.url, token, 'GET', '/api/v1/users');
    await api(srv.url, token, 'GET', `/api/v1/users/${users.body[0].id}`);
    await fetch(`${srv.url}/api/v1/no-such-thing`);
    await fetch(`${srv.url}/api/v1/users/1/nothing/here`);
    await fetch(`${srv.url}/api/v1/users/1`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    await fetch(`${srv.url}/`);
    await new Promise((r) => setTimeout(r, 1500));
    const res = await fetch(`${srv.url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const f = parseExposition(await res.text());
    const type = (n) => f.get(n)?.type;
    const value = (n) => f.get(n).samples[0].value;
    assert.equal(type('lockstep_consistency_ratio'), 'gauge');
    assert.equal(value('lockstep_consistency_ratio'), 0.9867);
    assert.equal(type('lockstep_pairs'), 'gauge');
    assert.equal(value('lockstep_pairs'), 150);
    assert.equal(value('lockstep_inconsistent_pairs'), 2);
    assert.equal(type('lockstep_violations'), 'gauge');
    const byIssue = Object.fromEntries(f.get('lockstep_violations').samples.map((s) => [s.labels.issue_type, s.value]));
    assert.deepEqual(byIssue, {
      level_mismatch: 2, missing_license: 0, missing_progress: 0, invalid_level: 0, unknown_specialization: 0, duplicate_rows: 0,
    });
    assert.equal(type('lockstep_last_check_timestamp_seconds'), 'gauge');
    assert.ok(Math.abs(value('lockstep_last_check_timestamp_seconds') - Date.now() / 1000) < 60);
    assert.ok(value('lockstep_last_check_duration_seconds') > 0);
    const status = Object.fromEntries(f.get('lockstep_health_status').samples.map((s) => [s.labels.status, s.value]));
    assert.deepEqual(status, { healthy: 0, degraded: 1, critical: 0 });
    assert.equal(type('lockstep_checks_total'), 'counter');
    const checks = f.get('lockstep_checks_total').samples;
    const manual = checks.find((s) => s.labels.trigger === 'manual' && s.labels.status === 'degraded');
    assert.equal(manual.value, 1);
    const scheduled = checks.find((s) => s.labels.trigger === 'scheduled' && s.labels.status === 'degraded');
    assert.ok(scheduled.value >= 1);
    assert.equal(type('lockstep_check_duration_seconds'), 'histogram');
    const h = f.get('lockstep_check_duration_seconds').samples;
    const buckets = h.filter((s) => s.name.endsWith('_bucket'));
    let prev = 0;
    for (const b of buckets) {
      assert.ok(b.value >= prev, 'cumulative buckets');
      prev = b.value;
    }
    // From 0.5 ms (a small store's check) to 10 min (check_slow territory).
    assert.equal(buckets[0].labels.le, '0.0005');
    assert.equal(buckets.at(-2).labels.le, '600');
    assert.equal(buckets.at(-1).labels.le, '+Inf');
    const count = h.find((s) => s.name.endsWith('_count')).value;
    assert.equal(buckets.at(-1).value, count);
    assert.equal(count, manual.value + scheduled.value);
    assert.ok(h.find((s) => s.name.endsWith('_sum')).value > 0);
    assert.equal(type('lockstep_job_runs_total'), 'counter');
    const jobs = f.get('lockstep_job_runs_total').samples;
    assert.ok(jobs.every((s) => !('job' in s.labels) && !('instance' in s.labels)), 'no label Prometheus owns');
    assert.ok(jobs.find((s) => s.labels.job_id === 'coupling_health_check' && s.labels.status === 'success').value >= 1);
    const interval = Object.fromEntries(f.get('lockstep_job_interval_seconds').samples.map((s) => [s.labels.job_id, s.value]));
    assert.deepEqual(interval, { coupling_health_check: 1, progress_license_sync: 3600 });
    const lastOk = f.get('lockstep_job_last_success_timestamp_seconds').samples;
    assert.deepEqual(lastOk.map((s) => s.labels.job_id), ['coupling_health_check'], 'only a job that has succeeded');
    assert.ok(Math.abs(lastOk[0].value - Date.now() / 1000) < 60);
    assert.deepEqual(f.get('lockstep_job_last_run_failed').samples.map((s) => s.value), [0, 0]);
    assert.ok(Math.abs(value('lockstep_scheduler_last_start_timestamp_seconds') - Date.now() / 1000) < 60);
    assert.equal(f.get('lockstep_baseline_consistency_ratio'), undefined, 'no baseline yet');
    assert.equal(type('lockstep_http_requests_total'), 'counter');
    const http = f.get('lockstep_http_requests_total').samples;
    const req = (method, route, code) => http.find((s) => s.labels.method === method && s.labels.route === route && s.labels.code === code);
    assert.ok(req('GET', '/api/v1/health/status', '200').value >= 1);
    assert.ok(req('POST', '/api/v1/auth/login', '200'));
    assert.equal(req('GET', '/api/v1/users/{id}', '200').value, 1, 'the pattern, not the path');
    assert.equal(req('GET', '/api/v1/no-such-thing', '404'), undefined);
    assert.equal(req('GET', 'other', '404').value, 2, 'unknown paths share one value');
    assert.equal(req('DELETE', '/api/v1/users/{id}', '405').value, 1);
    assert.ok(req('GET', 'dashboard', '200').value >= 1);
    assert.equal(type('lockstep_http_request_duration_seconds'), 'histogram');
    const d = f.get('lockstep_http_request_duration_seconds').samples
      .filter((s) => s.labels.method === 'GET' && s.labels.route === '/api/v1/health/status');
    const dCount = d.find((s) => s.name.endsWith('_count')).value;
    assert.equal(dCount, http.filter((s) => s.labels.method === 'GET' && s.labels.route === '/api/v1/health/status')
      .reduce((a, s) => a + s.value, 0), 'one observation per answered request');
    assert.equal(d.find((s) => s.labels.le === '+Inf').value, dCount);
    assert.equal(d.find((s) => s.labels.le === '0.0001').name, 'lockstep_http_request_duration_seconds_bucket');
    assert.ok(d.find((s) => s.name.endsWith('_sum')).value > 0);
    assert.equal(f.get('lockstep_build_info').samples[0].labels.version, lockstep(dir, ['version']).out.trim().split(' ').at(-1));
    assert.equal(value('lockstep_build_info'), 1);
    for (const n of ['process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_open_fds', 'process_max_fds'])
      assert.ok(value(n) > 0, n);
    assert.equal(type('process_cpu_seconds_total'), 'counter');
    assert.ok(Math.abs(value('process_start_time_seconds') - started / 1000) < 5, 'the start time of serve');
    // The names of earlier versions, one release more, marked in HELP.
    assert.equal(value('lockstep_consistency_rate'), 98.67);
    assert.equal(value('lockstep_pairs_total'), 150);
    assert.equal(value('lockstep_process_start_time_seconds'), value('process_start_time_seconds'));
    assert.match(f.get('lockstep_consistency_rate').help, /^Deprecated: use lockstep_consistency_ratio\b/);
    assert.match(f.get('lockstep_pairs_total').help, /^Deprecated: use lockstep_pairs\b/);
    assert.match(f.get('lockstep_process_start_time_seconds').help, /^Deprecated: use process_start_time_seconds\b/);
  } finally {
    await stopServe(srv);
  }
});

test('/metrics with metrics_token wants that bearer token', async () => {
  const dir = freshDir('metrics-token');
  lockstep(dir, ['demo']);
  const srv = await startServe(dir, { LOCKSTEP_METRICS_TOKEN: 'scrape-secret-0123456789' });
  try {
    let res = await fetch(`${srv.url}/metrics`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    res = await fetch(`${srv.url}/metrics`, { headers: { Authorization: 'Bearer wrong' } });
    assert.equal(res.status, 401);
    res = await fetch(`${srv.url}/metrics`, { headers: { Authorization: 'Bearer scrape-secret-0123456789' } });
    assert.equal(res.status, 200);
    parseExposition(await res.text());
  } finally {
    await stopServe(srv);
  }
});

test('metrics_deprecated takes true or false, and nothing else', () => {
  const dir = freshDir('metrics-deprecated');
  lockstep(dir, ['demo']);
  const r = spawnSync(BIN, ['--data-dir', dir, ...dbArgs(dir), 'check'], { env: { ...process.env, LOCKSTEP_METRICS_DEPRECATED: 'maybe' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr.toString(), /LOCKSTEP_METRICS_DEPRECATED: invalid metrics_deprecated 'maybe' \(expected true or false\)/);
});
