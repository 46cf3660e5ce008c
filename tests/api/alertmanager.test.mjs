// alertmanager.test.mjs — Lockstep wired into a real Alertmanager, the way
// docs/alerts.md ("Wiring Lockstep into an existing Alertmanager") says: the
// test runs the lockstep.ini and alertmanager.yml blocks of that page as they
// are written there (read from the page; only the URLs and the timings are
// replaced), so the documented snippets are the tested ones.
//
// Two `serve` deployments (separate stores, the same host and instance) with
// different alert_labels send to one Alertmanager (Debian's
// prometheus-alertmanager, a throwaway instance on loopback): amtool lists two
// alerts; repairing one store resolves its alert only; the Alertmanager's own
// webhook to a local receiver shows the same, grouped by the route.
//
// LOCKSTEP_WRITE_FIXTURE=1 also saves the first firing body the receiver gets
// as fixtures/alertmanager-webhook-v4.json (the reference alerts.test.mjs holds
// the webhook channel to; see fixtures/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  freshDir, lockstep, startServe, stopServe, sql, waitFor, sleep, spawnChild, freePort, webhookReceiver,
  DRIFT_SQL as DRIFT, REPAIR_SQL as REPAIR,
} from './lib.mjs';


const DOC = fs.readFileSync(new URL('../../docs/alerts.md', import.meta.url), 'utf8');

/** The fenced block that follows the `<!-- NAME: … -->` marker in docs/alerts.md. */
function docBlock(name) {
  const m = new RegExp(`<!-- ${name.replace('.', '\\.')}:[^>]*-->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  assert.ok(m, `docs/alerts.md has the ${name} block`);
  return m[1];
}

/** A throwaway Alertmanager on loopback with the documented configuration. */
async function startAlertmanager(hookUrl) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-am-'));
  const yml = docBlock('alertmanager.yml')
    .replace('http://relay.example:8080/hook', hookUrl)
    .replace(/resolve_timeout: \S+/, 'resolve_timeout: 5s')
    .replace(/group_wait: \S+/, 'group_wait: 1s')
    .replace(/group_interval: \S+/, 'group_interval: 1s');
  fs.writeFileSync(path.join(dir, 'alertmanager.yml'), yml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnChild('prometheus-alertmanager', [
    `--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=',
    '--web.external-url=http://alertmanager.example:9093'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => proc.on('exit', r));
  await waitFor(async () => {
    try { return (await fetch(`${url}/-/ready`)).ok; } catch { return false; }
  }, 15000, 100).catch((e) => { throw new Error(`alertmanager did not start: ${e.message}\n${log}`); });
  return {
    url,
    log: () => log,
    stop: async () => { proc.kill('SIGTERM'); await exited; fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/** The alerts amtool lists (active ones), as JSON. */
function amtool(url, ...matchers) {
  return JSON.parse(execFileSync('amtool', [`--alertmanager.url=${url}`, 'alert', 'query', '-o', 'json', ...matchers]).toString());
}

/** A deployment configured with the documented lockstep.ini block. */
async function deployment(name, amUrl, labels) {
  const dir = freshDir(`am-${name}`);
  lockstep(dir, ['demo']);
  sql(dir, DRIFT);
  const ini = docBlock('lockstep.ini')
    .replace('http://alertmanager.example:9093', amUrl)
    .replace(/^alert_labels = .*$/m, `alert_labels = ${labels}`)
    .replace(/^alert_critical_for = .*$/m, 'alert_critical_for = 1');
  const file = path.join(dir, 'lockstep.ini');
  fs.writeFileSync(file, ini, { mode: 0o600 });
  const srv = await startServe(dir, {
    LOCKSTEP_CONFIG: file,
    LOCKSTEP_CHECK_INTERVAL: '1',
    LOCKSTEP_SYNC_INTERVAL: '3600',
    LOCKSTEP_ALERT_RETRY_MIN: '1',
    // The same instance on both (as two deployments on one host): only alert_labels tell them apart.
    LOCKSTEP_ALERT_INSTANCE: 'lockstep-académie',
  });
  return { dir, srv };
}

test('two deployments, one Alertmanager: two alerts; one recovering resolves only its own, in amtool and at the receiver', async () => {
  // A webhook receiver standing for the team's relay: every body Alertmanager posts.
  const hook = await webhookReceiver();
  const am = await startAlertmanager(hook.url);
  let north;
  let south;
  try {
    north = await deployment('north', am.url, 'environment=prod, academy=north');
    south = await deployment('south', am.url, 'environment=prod, academy=south');
    const critical = () => amtool(am.url, 'alertname=status_critical');
    await waitFor(() => critical().length === 2, 20000, 250);
    const both = critical();
    assert.deepEqual(both.map((a) => a.labels.academy).sort(), ['north', 'south']);
    for (const a of both) {
      assert.equal(a.labels.service, 'lockstep');
      assert.equal(a.labels.severity, 'critical');
      assert.equal(a.labels.environment, 'prod');
      assert.equal(a.labels.instance, 'lockstep-académie');
      assert.equal(a.status.state, 'active');
      assert.equal(a.generatorURL, 'https://lockstep.north.academy.example/admin/health#alert-status_critical');
    }
    assert.notEqual(both[0].fingerprint, both[1].fingerprint);

    // The receiver: one firing notification per group (alertname, environment, academy).
    const bodiesFor = (academy, status) => hook.bodies.filter((b) => b.groupLabels.alertname === 'status_critical'
      && b.groupLabels.academy === academy && b.status === status);
    await waitFor(() => bodiesFor('north', 'firing').length >= 1 && bodiesFor('south', 'firing').length >= 1, 10000);
    for (const b of [bodiesFor('north', 'firing')[0], bodiesFor('south', 'firing')[0]]) {
      assert.equal(b.version, '4');
      assert.equal(b.receiver, 'lockstep-team');
      assert.deepEqual(Object.keys(b.groupLabels).sort(), ['academy', 'alertname', 'environment']);
      assert.equal(b.alerts.length, 1);
      // Alertmanager's fingerprint of the alert is the one amtool lists.
      assert.equal(b.alerts[0].fingerprint, both.find((a) => a.labels.academy === b.groupLabels.academy).fingerprint);
    }
    if (process.env.LOCKSTEP_WRITE_FIXTURE) {
      fs.writeFileSync(new URL('./fixtures/alertmanager-webhook-v4.json', import.meta.url),
        `${JSON.stringify(bodiesFor('north', 'firing')[0], null, 2)}\n`);
    }

    // South recovers: its store is repaired and its next check is healthy.
    sql(south.dir, REPAIR);
    await waitFor(() => bodiesFor('south', 'resolved').length >= 1, 15000);
    const left = critical();
    assert.deepEqual(left.map((a) => a.labels.academy), ['north'], 'north is still firing in Alertmanager');
    await sleep(3000); // a few group intervals: nothing resolves north meanwhile
    assert.deepEqual(critical().map((a) => a.labels.academy), ['north']);
    assert.equal(bodiesFor('north', 'resolved').length, 0, 'the receiver never got north resolved');
    assert.equal(bodiesFor('south', 'resolved').length, 1, 'one resolved notification for south');
    const done = bodiesFor('south', 'resolved')[0];
    assert.equal(done.alerts[0].status, 'resolved');
    assert.ok(Date.parse(done.alerts[0].endsAt) <= Date.now());
    // Lockstep's side: the alertmanager channel delivered firing and resolved for south.
    assert.deepEqual(sql(south.dir, "SELECT d.channel || ':' || d.event || ':' || d.status FROM alert_deliveries d "
      + "JOIN alerts a ON a.id = d.alert_id WHERE a.rule = 'status_critical' ORDER BY d.id").split('\n'),
    ['alertmanager:firing:delivered', 'alertmanager:resolved:delivered']);
  } finally {
    if (north) await stopServe(north.srv);
    if (south) await stopServe(south.srv);
    await am.stop();
    await hook.close();
  }
});
