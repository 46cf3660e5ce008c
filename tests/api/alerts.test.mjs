// alerts.test.mjs — alerts end to end, black-box: drift made by SQL turns the
// status critical, the alert goes pending then firing, a local webhook receiver
// gets the body Alertmanager sends to webhook receivers (held key by key to
// one captured from a real Alertmanager, fixtures/alertmanager-webhook-v4.json)
// with the Authorization header, and a fake SMTP server the email (parsed by
// Python's email package: display name, threading, encoded subject); the
// repair resolves it once; bad alert settings stop the start with file:line; a receiver that is down gets it when it comes back, also
// after a restart; a receiver answering 500 or never answering blocks neither
// the checks nor the API; silences through the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  BIN, PG, freshDir, lockstep, startServe, stopServe, sql, login, api, waitFor, sleep, dayLog, setupServer,
  freePort, webhookReceiver, DRIFT_SQL as DRIFT, REPAIR_SQL as REPAIR,
} from './lib.mjs';


/** A minimal SMTP server: 220, EHLO/HELO 250, MAIL/RCPT 250, DATA 354, '.' 250, QUIT 221.
 * With hang, it accepts connections and never says a word. */
async function smtpServer({ hang = false } = {}) {
  const state = { messages: [], sockets: new Set() };
  const server = net.createServer((sock) => {
    state.sockets.add(sock);
    sock.on('close', () => state.sockets.delete(sock));
    sock.on('error', () => {});
    if (hang) return;
    sock.write('220 fake.smtp ESMTP\r\n');
    let buf = '';
    let inData = false;
    let cur = null;
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          cur.data = buf.slice(0, end + 2);
          buf = buf.slice(end + 5);
          inData = false;
          state.messages.push(cur);
          sock.write('250 2.0.0 queued\r\n');
          continue;
        }
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') sock.write('250-fake.smtp\r\n250 8BITMIME\r\n');
        else if (verb === 'MAIL') { cur = { from: line, rcpt: [] }; sock.write('250 2.1.0 OK\r\n'); }
        else if (verb === 'RCPT') { cur.rcpt.push(line); sock.write('250 2.1.5 OK\r\n'); }
        else if (verb === 'DATA') { inData = true; sock.write('354 go ahead\r\n'); }
        else if (verb === 'QUIT') { sock.write('221 2.0.0 bye\r\n'); sock.end(); return; }
        else if (verb === 'RSET' || verb === 'NOOP') sock.write('250 OK\r\n');
        else sock.write('502 5.5.2 not implemented\r\n');
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  state.url = `smtp://127.0.0.1:${server.address().port}`;
  state.close = () => new Promise((r) => { for (const s of state.sockets) s.destroy(); server.close(r); });
  return state;
}

/** The headers of a raw mail as Python's email package reads them (policy
 * default: decoded; compat32: as written), its body and every defect found. */
const parsedMails = new Map();
function parseMail(raw) {
  if (parsedMails.has(raw)) return parsedMails.get(raw);
  const script = `
import email, json, sys
from email import policy
from email.utils import parsedate_to_datetime
raw = sys.stdin.buffer.read()
m = email.message_from_bytes(raw, policy=policy.default)
w = email.message_from_bytes(raw, policy=policy.compat32)
frm = m['From'].addresses[0]
defects = [str(d) for d in m.defects]
for k in m.keys():
    defects += ['%s: %s' % (k, d) for d in getattr(m[k], 'defects', [])]
print(json.dumps({
    'from_display': frm.display_name, 'from_addr': frm.addr_spec, 'from_raw': w['From'],
    'to': [a.addr_spec for a in m['To'].addresses],
    'subject': str(m['Subject']), 'subject_raw': w['Subject'],
    'message_id': m['Message-ID'], 'in_reply_to': m['In-Reply-To'], 'references': m['References'],
    'auto_submitted': m['Auto-Submitted'], 'content_type': m.get_content_type(),
    'charset': m.get_content_charset(), 'date': parsedate_to_datetime(m['Date']).isoformat(),
    'body': m.get_content(), 'defects': defects}))
`;
  const r = spawnSync('python3', ['-c', script], { input: Buffer.from(raw, 'utf8') });
  assert.equal(r.status, 0, r.stderr.toString());
  const parsed = JSON.parse(r.stdout.toString());
  parsed.body = parsed.body.replace(/\r\n/g, '\n');
  parsedMails.set(raw, parsed);
  return parsed;
}

/** The reference body: captured from a real Alertmanager (fixtures/README.md). */
const FIXTURE = JSON.parse(fs.readFileSync(new URL('./fixtures/alertmanager-webhook-v4.json', import.meta.url)));

/** `got` has the keys of `want` and no other, each of the same JSON type, down to the alerts. */
function sameShape(got, want, where = 'body') {
  const type = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  assert.equal(type(got), type(want), `${where}: type`);
  if (type(want) !== 'object') return;
  // Label sets and annotations hold whatever labels the alert has: their values are strings.
  if (/(labels|Labels|annotations|Annotations)$/.test(where)) {
    for (const [k, v] of Object.entries(got)) assert.equal(typeof v, 'string', `${where}.${k}`);
    return;
  }
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${where}: keys`);
  for (const k of Object.keys(want)) {
    if (Array.isArray(want[k])) {
      assert.equal(got[k].length, want[k].length, `${where}.${k}: length`);
      got[k].forEach((x, i) => sameShape(x, want[k][0], `${where}.${k}[${i}]`));
    } else sameShape(got[k], want[k], `${where}.${k}`);
  }
}

async function metric(url, line) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

const FAST = { LOCKSTEP_CHECK_INTERVAL: '1', LOCKSTEP_SYNC_INTERVAL: '3600', LOCKSTEP_ALERT_RETRY_MIN: '1' };

const SECRET = 'Bearer hook-s3cret-7f1e2d';

test('critical status: pending, then firing to the webhook and by email; resolved once after the repair', async () => {
  const hook = await webhookReceiver();
  const smtp = await smtpServer();
  const dir = freshDir('alerts-e2e');
  const { password } = lockstep(dir, ['demo']);
  sql(dir, DRIFT);
  const srv = await startServe(dir, {
    ...FAST,
    LOCKSTEP_ALERT_CRITICAL_FOR: '3',
    LOCKSTEP_ALERT_WEBHOOK_URL: hook.url,
    LOCKSTEP_ALERT_WEBHOOK_AUTHORIZATION: SECRET,
    // The labels of the captured alert: the same label set, the same fingerprint.
    LOCKSTEP_ALERT_INSTANCE: FIXTURE.alerts[0].labels.instance,
    LOCKSTEP_ALERT_LABELS: Object.entries(FIXTURE.alerts[0].labels)
      .filter(([k]) => !['alertname', 'severity', 'service', 'instance', 'job'].includes(k)).map(([k, v]) => `${k}=${v}`).join(', '),
    LOCKSTEP_EXTERNAL_URL: 'https://lockstep.north.academy.example/',
    LOCKSTEP_ALERT_SMTP_URL: smtp.url,
    LOCKSTEP_ALERT_EMAIL_FROM: 'Lockstep Nord – Académie <lockstep@academy.example>',
    LOCKSTEP_ALERT_EMAIL_TO: 'ops@academy.example, oncall@academy.example',
  });
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    // Pending first: the status must stay critical for 3 s. What is seen while
    // pending is judged by the clock, not by how fast this machine is: a look
    // that ends before started_at + 3 s must find no notification, and the
    // first notification must come after that moment.
    let pending;
    await waitFor(async () => {
      pending = (await api(srv.url, token, 'GET', '/api/v1/health/alerts')).body.pending
        .find((a) => a.rule === 'status_critical');
      return pending;
    }, 5000);
    const firesAt = Date.parse(pending.started_at) + 3000;
    const postedWhilePending = hook.alerts('status_critical').length;
    const firingWhilePending = await metric(srv.url, 'lockstep_alerts_firing{severity="critical"}');
    if (Date.now() < firesAt) {
      assert.equal(postedWhilePending, 0, 'no notification while pending');
      assert.equal(firingWhilePending, 0);
    }
    assert.notEqual(await metric(srv.url, 'lockstep_alerts_firing{severity="warning"}'), null);

    await waitFor(() => hook.alerts('status_critical').length >= 1, 8000);
    assert.ok(hook.alerts('status_critical')[0].at >= firesAt,
      `notified ${firesAt - hook.alerts('status_critical')[0].at} ms before the 3 s were over`);
    const post = hook.posts.find((p) => p.body.includes('status_critical'));
    assert.equal(post.method, 'POST');
    assert.equal(post.path, '/hook');
    assert.match(post.headers['content-type'], /^application\/json/);
    assert.equal(post.headers.authorization, SECRET);
    // The v4 receiver body, field by field against the one Alertmanager sent.
    const body = JSON.parse(post.body);
    sameShape(body, FIXTURE);
    assert.equal(body.version, '4');
    assert.equal(body.status, 'firing');
    assert.equal(body.receiver, 'lockstep');
    assert.equal(body.truncatedAlerts, 0);
    assert.equal(body.externalURL, 'https://lockstep.north.academy.example');
    const [fired] = body.alerts;
    assert.equal(fired.status, 'firing');
    // The same labels as the captured alert: the same fingerprint Alertmanager computed.
    assert.deepEqual(fired.labels, FIXTURE.alerts[0].labels);
    assert.equal(fired.fingerprint, FIXTURE.alerts[0].fingerprint);
    assert.deepEqual(body.commonLabels, fired.labels);
    assert.deepEqual(body.groupLabels, fired.labels);
    assert.deepEqual(body.commonAnnotations, fired.annotations);
    // A groupKey is the route's key, a colon, the group's label set: Lockstep's route is {}.
    const labelSet = (ls) => `{${Object.keys(ls).sort().map((k) => `${k}="${ls[k]}"`).join(', ')}}`;
    assert.equal(FIXTURE.groupKey, `{}/{service="lockstep"}:${labelSet(FIXTURE.groupLabels)}`);
    assert.equal(body.groupKey, `{}:${labelSet(fired.labels)}`);
    assert.match(fired.annotations.summary, /critical/);
    assert.ok(fired.annotations.description.length > 0);
    assert.equal(fired.endsAt, FIXTURE.alerts[0].endsAt, 'a firing alert has no end, as Alertmanager sends it');
    assert.ok(Date.parse(fired.startsAt) <= Date.now());
    assert.match(fired.startsAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(fired.generatorURL, 'https://lockstep.north.academy.example/admin/health#alert-status_critical');
    assert.equal(await metric(srv.url, 'lockstep_alerts_firing{severity="critical"}'), 1);

    // The email: envelope and an RFC 5322 message, as Python's email package reads it.
    await waitFor(() => smtp.messages.some((m) => m.data.includes('status_critical')), 8000);
    const mail = smtp.messages.find((m) => m.data.includes('status_critical'));
    assert.match(mail.from, /^MAIL FROM:<lockstep@academy\.example>/i);
    assert.deepEqual(mail.rcpt.map((r) => /<([^>]+)>/.exec(r)[1]), ['ops@academy.example', 'oncall@academy.example']);
    const [head] = mail.data.split('\r\n\r\n');
    assert.match(head, /^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/m);
    const firing = parseMail(mail.data);
    assert.deepEqual(firing.defects, []);
    assert.equal(firing.from_display, 'Lockstep Nord – Académie');
    assert.equal(firing.from_addr, 'lockstep@academy.example');
    assert.match(firing.from_raw, /^=\?UTF-8\?B\?.*\?= <lockstep@academy\.example>$/s);
    assert.deepEqual(firing.to, ['ops@academy.example', 'oncall@academy.example']);
    assert.equal(firing.subject.startsWith(`[Lockstep ${FIXTURE.alerts[0].labels.instance}] FIRING critical: Coupling status is critical`), true, firing.subject);
    // Not ASCII (the instance label): RFC 2047 encoded words, decoded by Python.
    assert.match(firing.subject_raw, /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=(\r?\n =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=)*$/);
    assert.match(firing.subject, /^\[Lockstep .*\] FIRING critical: Coupling status is critical/);
    assert.match(firing.message_id, /^<lockstep\.\d+\.firing\.[0-9a-f]{16}@academy\.example>$/);
    assert.equal(firing.in_reply_to, null);
    assert.equal(firing.auto_submitted, 'auto-generated');
    assert.equal(firing.content_type, 'text/plain');
    assert.equal(firing.charset, 'utf-8');
    assert.ok(Math.abs(Date.parse(firing.date) - Date.now()) < 60000);
    assert.match(firing.body, /^Dashboard: https:\/\/lockstep\.north\.academy\.example\/admin\/health#alert-status_critical$/m);
    assert.ok(firing.body.includes(`Labels:    ${Object.entries(FIXTURE.alerts[0].labels).map(([k, v]) => `${k}=${v}`).join(', ')}\n`), firing.body);

    // Repair behind its back: the next check is healthy, the alert resolves, notified once.
    sql(dir, REPAIR);
    await waitFor(() => hook.alerts('status_critical').some((a) => a.status === 'resolved'), 8000);
    await sleep(2500);
    const resolved = hook.alerts('status_critical').filter((a) => a.status === 'resolved');
    assert.equal(resolved.length, 1, 'one resolve notification');
    assert.equal(hook.alerts('status_critical').length, 2, 'firing once, resolved once');
    const resolvedPost = JSON.parse(hook.posts.find((p) => p.body.includes('"status":"resolved"') && p.body.includes('status_critical')).body);
    sameShape(resolvedPost, FIXTURE);
    assert.equal(resolvedPost.status, 'resolved');
    assert.equal(resolvedPost.alerts[0].fingerprint, fired.fingerprint);
    assert.ok(Date.parse(resolved[0].endsAt) <= resolved[0].at, 'a resolved alert ended');
    assert.ok(Date.parse(resolved[0].endsAt) > Date.parse(fired.startsAt));
    // The resolve mail replies to the firing one: one thread in a mail client.
    await waitFor(() => smtp.messages.some((m) => m.data.includes('status_critical') && parseMail(m.data).subject.includes('RESOLVED')), 8000);
    const resolveMail = parseMail(smtp.messages.find((m) => m.data.includes('status_critical') && parseMail(m.data).subject.includes('RESOLVED')).data);
    assert.deepEqual(resolveMail.defects, []);
    assert.match(resolveMail.subject, /^\[Lockstep .*\] RESOLVED critical: /);
    assert.match(resolveMail.message_id, /^<lockstep\.\d+\.resolved\.[0-9a-f]{16}@academy\.example>$/);
    assert.notEqual(resolveMail.message_id, firing.message_id);
    assert.equal(resolveMail.in_reply_to, firing.message_id);
    assert.equal(resolveMail.references, firing.message_id);
    assert.equal(resolveMail.auto_submitted, 'auto-generated');

    const view = await api(srv.url, token, 'GET', '/api/v1/health/alerts');
    assert.equal(view.status, 200);
    assert.equal(view.body.firing.some((a) => a.rule === 'status_critical'), false);
    const h = view.body.history.find((a) => a.rule === 'status_critical');
    assert.equal(h.state, 'resolved');
    assert.equal(h.severity, 'critical');
    assert.deepEqual(h.deliveries.map((d) => `${d.channel}:${d.event}:${d.status}`).sort(),
      ['email:firing:delivered', 'email:resolved:delivered', 'webhook:firing:delivered', 'webhook:resolved:delivered']);
    for (const d of h.deliveries) {
      assert.equal(d.attempt_log.length, d.attempts);
      assert.equal(d.attempt_log.at(-1).ok, true);
    }
    assert.equal(view.body.rules.length, 8);
    assert.deepEqual(view.body.channels, { alertmanager: false, webhook: true, email: true, daylog: true });
    // The thread is kept with the alert, each mail's Message-ID with its outbox row.
    assert.equal(sql(dir, `SELECT message_id FROM alerts WHERE id = ${h.id}`), firing.message_id);
    assert.deepEqual(sql(dir, `SELECT message_id FROM alert_deliveries WHERE alert_id = ${h.id} AND channel = 'email' ORDER BY id`).split('\n'),
      [firing.message_id, resolveMail.message_id]);
    assert.equal(await metric(srv.url, 'lockstep_alerts_firing{severity="critical"}'), 0);
  } finally {
    await stopServe(srv);
    await hook.close();
    await smtp.close();
  }
  const log = dayLog(dir);
  assert.match(log, / - alerts - WARNING - Alert status_critical \(critical\) pending: /);
  assert.match(log, / - alerts - ERROR - Alert status_critical \(critical\) firing: Coupling status is critical/);
  assert.match(log, / - alerts - INFO - Alert status_critical \(critical\) resolved: /);
  assert.doesNotMatch(log, new RegExp(smtp.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  // The authorization value is a secret: in no log, and not in the store.
  assert.ok(!log.includes('s3cret') && !srv.stderr().includes('s3cret'), 'the Authorization value is never logged');
  for (const f of PG ? [] : ['lockstep.db', 'lockstep.db-wal'].map((n) => path.join(dir, n)).filter((f) => fs.existsSync(f)))
    assert.ok(!fs.readFileSync(f).includes('s3cret'), `nor stored (${f})`);
});

test('a receiver that is down gets the alert when it comes back, after retries with backoff and a restart', async () => {
  const port = await freePort();
  const dir = freshDir('alerts-outbox');
  lockstep(dir, ['demo']);
  sql(dir, DRIFT);
  const env = { ...FAST, LOCKSTEP_ALERT_CRITICAL_FOR: '0', LOCKSTEP_ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` };
  let srv = await startServe(dir, env);
  const critical = "SELECT d.id FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.rule = 'status_critical'";
  try {
    await waitFor(() => {
      const id = sql(dir, critical);
      return id && Number(sql(dir, `SELECT count(*) FROM alert_attempts WHERE delivery_id = ${id}`)) >= 3;
    }, 15000);
  } finally {
    assert.equal(await stopServe(srv), 0);
  }
  const id = sql(dir, critical);
  assert.equal(sql(dir, `SELECT status FROM alert_deliveries WHERE id = ${id}`), 'pending');
  assert.match(sql(dir, `SELECT last_error FROM alert_deliveries WHERE id = ${id}`), /connect/i);
  // Exponential backoff: each wait about twice the one before (1 s, 2 s, …).
  const times = sql(dir, `SELECT attempted_at FROM alert_attempts WHERE delivery_id = ${id} ORDER BY id`)
    .split('\n').map((t) => Date.parse(t.replace(' ', 'T').replace(/\+00$/, 'Z')));
  assert.ok(times.length >= 3);
  const gap1 = times[1] - times[0];
  const gap2 = times[2] - times[1];
  assert.ok(gap1 >= 900 && gap1 < 2500, `first retry after about 1 s, got ${gap1} ms`);
  assert.ok(gap2 >= 1800 && gap2 < 4500, `second retry after about 2 s, got ${gap2} ms`);

  // The receiver comes up while no process runs; a new process delivers the pending row.
  const hook = await webhookReceiver(port);
  srv = await startServe(dir, env);
  try {
    await waitFor(() => hook.alerts('status_critical').length >= 1, 15000);
    await waitFor(() => sql(dir, `SELECT status FROM alert_deliveries WHERE id = ${id}`) === 'delivered', 5000);
    await sleep(1500);
    assert.equal(hook.alerts('status_critical').length, 1, 'delivered once, not notified again by the new process');
    const attempts = sql(dir, `SELECT ok FROM alert_attempts WHERE delivery_id = ${id} ORDER BY id`).split('\n');
    assert.ok(attempts.length >= 4);
    assert.ok(['1', 't'].includes(attempts.at(-1)));
  } finally {
    await stopServe(srv);
    await hook.close();
  }
});

test('a receiver answering 500 and a mail server that never answers block neither checks nor the API', async () => {
  const hook = await webhookReceiver();
  hook.status = 500;
  const smtp = await smtpServer({ hang: true });
  const dir = freshDir('alerts-slow');
  const { password } = lockstep(dir, ['demo']);
  sql(dir, DRIFT);
  const srv = await startServe(dir, {
    ...FAST,
    LOCKSTEP_ALERT_CRITICAL_FOR: '0',
    LOCKSTEP_ALERT_SEND_TIMEOUT: '4',
    LOCKSTEP_ALERT_WEBHOOK_URL: hook.url,
    LOCKSTEP_ALERT_SMTP_URL: smtp.url,
    LOCKSTEP_ALERT_EMAIL_TO: 'ops@academy.example',
  });
  try {
    const token = await login(srv.url, 'admin@lockstep.local', password);
    await waitFor(() => hook.posts.length >= 1 && smtp.sockets.size >= 1, 8000);
    // While the mail server holds a delivery, checks go on every second and the API answers at once.
    const before = Number(sql(dir, 'SELECT count(*) FROM check_runs'));
    const slowest = [];
    for (let i = 0; i < 10; i++) {
      const t = Date.now();
      const r = await api(srv.url, token, 'GET', '/api/v1/health/alerts');
      assert.equal(r.status, 200);
      const s = await api(srv.url, token, 'GET', '/api/v1/health/status');
      assert.equal(s.status, 200);
      slowest.push(Date.now() - t);
      await sleep(300);
    }
    const after = Number(sql(dir, 'SELECT count(*) FROM check_runs'));
    assert.ok(after - before >= 2, `checks went on (${after - before} in 3 s)`);
    assert.ok(Math.max(...slowest) < 2000, `API answered well within the 4 s send timeout (slowest ${Math.max(...slowest)} ms)`);
    const now = await api(srv.url, token, 'POST', '/api/v1/health/check-now');
    assert.equal(now.status, 200);

    await waitFor(() => sql(dir, "SELECT count(*) FROM alert_attempts WHERE error = 'timed out'") !== '0', 10000);
    const view = await api(srv.url, token, 'GET', '/api/v1/health/alerts');
    const a = view.body.firing.find((x) => x.rule === 'status_critical');
    assert.ok(a);
    const h = view.body.history.find((x) => x.id === a.id);
    const web = h.deliveries.find((d) => d.channel === 'webhook');
    assert.equal(web.status, 'pending');
    assert.equal(web.last_error, 'the receiver answered HTTP 500');
    assert.ok(web.next_attempt_at);
    const mail = h.deliveries.find((d) => d.channel === 'email');
    assert.ok(mail.attempt_log.some((x) => x.error === 'timed out'));
  } finally {
    const t = Date.now();
    assert.equal(await stopServe(srv), 0);
    assert.ok(Date.now() - t < 3000, 'stopping does not wait for a hung delivery');
    await hook.close();
    await smtp.close();
  }
});

test('silences: suppress notifications, not evaluation; create, list, delete, errors, roles, audit', async () => {
  const hook = await webhookReceiver();
  const ctx = await setupServer('alerts-silence', {
    ...FAST,
    LOCKSTEP_ALERT_CRITICAL_FOR: '0',
    LOCKSTEP_ALERT_WEBHOOK_URL: hook.url,
  });
  const { url, adminToken: token, dir } = ctx;
  try {
    const path = '/api/v1/health/alerts/silences';
    // Errors.
    let r = await api(url, token, 'POST', path, { rule: 'no_such_rule', minutes: 10 });
    assert.equal(r.status, 422);
    assert.match(r.body.detail, /Unknown rule 'no_such_rule'/);
    r = await api(url, token, 'POST', path, { minutes: 10 });
    assert.equal(r.status, 400);
    r = await api(url, token, 'POST', path, { rule: 'status_critical' });
    assert.equal(r.status, 422);
    r = await api(url, token, 'POST', path, { rule: 'status_critical', minutes: 10, until: '2099-01-01T00:00:00Z' });
    assert.equal(r.status, 422);
    r = await api(url, token, 'POST', path, { rule: 'status_critical', minutes: 0 });
    assert.equal(r.status, 422);
    r = await api(url, token, 'POST', path, { rule: 'status_critical', until: '2001-01-01T00:00:00Z' });
    assert.equal(r.status, 422);
    r = await api(url, token, 'POST', path, { rule: 'status_critical', until: 'tomorrow' });
    assert.equal(r.status, 422);
    r = await api(url, token, 'POST', path, { rule: 'status_critical', minutes: 10, comment: 'x'.repeat(501) });
    assert.equal(r.status, 422);
    r = await api(url, token, 'POST', path, { rule: 'status_critical', minutes: 'ten' });
    assert.equal(r.status, 400);
    r = await api(url, token, 'DELETE', `${path}/999`);
    assert.equal(r.status, 404);
    r = await api(url, token, 'DELETE', `${path}/abc`);
    assert.equal(r.status, 404);
    r = await api(url, token, 'PUT', path, {});
    assert.equal(r.status, 405);
    // Roles: admin only.
    ctx.addUser('coach@academy.example', 'instructor');
    const coach = await login(url, 'coach@academy.example', 'password-123');
    for (const [m, p, b] of [['GET', '/api/v1/health/alerts'], ['GET', path], ['POST', path, { rule: 'status_critical', minutes: 5 }], ['DELETE', `${path}/1`]]) {
      assert.equal((await api(url, coach, m, p, b)).status, 403, `${m} ${p}`);
    }
    const anon = await fetch(`${url}/api/v1/health/alerts`);
    assert.equal(anon.status, 401);

    // A silence, then drift: the alert fires (evaluated) but is not notified.
    r = await api(url, token, 'POST', path, { rule: 'status_critical', minutes: 30, comment: 'planned migration' });
    assert.equal(r.status, 201);
    const silence = r.body;
    assert.equal(silence.rule, 'status_critical');
    assert.equal(silence.active, true);
    assert.equal(silence.comment, 'planned migration');
    const ends = Date.parse(silence.ends_at) - Date.parse(silence.starts_at);
    assert.ok(Math.abs(ends - 30 * 60 * 1000) < 1000);
    sql(dir, DRIFT);
    await waitFor(async () => (await api(url, token, 'GET', '/api/v1/health/alerts')).body.firing
      .some((a) => a.rule === 'status_critical'), 8000);
    await waitFor(() => hook.alerts('inconsistent_pairs').length >= 1, 8000); // not silenced
    await sleep(1500);
    assert.equal(hook.alerts('status_critical').length, 0, 'silenced: not notified');
    const view = await api(url, token, 'GET', '/api/v1/health/alerts');
    const a = view.body.firing.find((x) => x.rule === 'status_critical');
    assert.equal(a.silenced, true);
    assert.equal(a.notifications, 0);
    assert.equal(view.body.silences.length, 1);
    assert.equal(view.body.rules.find((x) => x.name === 'status_critical').silenced, true);
    const listed = await api(url, token, 'GET', path);
    assert.deepEqual(listed.body.map((s) => s.id), [silence.id]);

    // Deleting the silence: the firing alert is notified at the next evaluation.
    r = await api(url, token, 'DELETE', `${path}/${silence.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { id: silence.id, deleted: true });
    assert.equal((await api(url, token, 'DELETE', `${path}/${silence.id}`)).status, 404);
    await waitFor(() => hook.alerts('status_critical').length >= 1, 8000);
    assert.deepEqual((await api(url, token, 'GET', path)).body, []);
    const all = await api(url, token, 'GET', `${path}?all=true`);
    assert.equal(all.body.length, 1);
    assert.ok(all.body[0].deleted_at);
    assert.equal(all.body[0].active, false);
    assert.equal((await api(url, token, 'GET', `${path}?all=maybe`)).status, 422);
    assert.equal((await api(url, token, 'GET', '/api/v1/health/alerts?limit=0')).status, 422);
    assert.equal(sql(dir, "SELECT count(*) FROM audit_logs WHERE action = 'ALERT_SILENCE' AND status_code = 201"), '1');
    assert.equal(sql(dir, "SELECT count(*) FROM audit_logs WHERE action = 'ALERT_UNSILENCE' AND status_code = 200"), '1');
  } finally {
    await ctx.stop();
    await hook.close();
  }
});

test('two serve processes on one store: only the leader notifies, once', async () => {
  const hook = await webhookReceiver();
  // A slow answer: a second process delivering too would send the row again meanwhile.
  hook.delayMs = 700;
  const dir = freshDir('alerts-two');
  lockstep(dir, ['demo']);
  const env = { ...FAST, LOCKSTEP_ALERT_CRITICAL_FOR: '0', LOCKSTEP_ALERT_WEBHOOK_URL: hook.url };
  const a = await startServe(dir, env);
  const b = await startServe(dir, env);
  try {
    sql(dir, DRIFT);
    await waitFor(() => hook.alerts('status_critical').length >= 1, 8000);
    await sleep(3000);
    assert.equal(hook.alerts('status_critical').length, 1, 'one notification from two processes');
    assert.equal(sql(dir, "SELECT count(*) FROM alerts WHERE rule = 'status_critical'"), '1');
    assert.equal(sql(dir, "SELECT count(*) FROM alert_deliveries d JOIN alerts x ON x.id = d.alert_id WHERE x.rule = 'status_critical'"), '1');
    // Both report the same firing count: the gauge is read from the store.
    assert.equal(await metric(a.url, 'lockstep_alerts_firing{severity="critical"}'), 1);
    assert.equal(await metric(b.url, 'lockstep_alerts_firing{severity="critical"}'), 1);
  } finally {
    await stopServe(a);
    await stopServe(b);
    await hook.close();
  }
  assert.doesNotMatch(dayLog(dir), /Cannot evaluate the alert rules/);
  assert.equal((dayLog(dir).match(/Alert status_critical \(critical\) firing/g) || []).length, 1);
});

test('bad alert settings stop serve at start with file:line and what is wrong, never the secret', () => {
  const dir = freshDir('alerts-config');
  const cases = [
    ['alert_labels = environment=prod, academy north', /lockstep\.ini:2: alert_labels: 'academy north' is not name=value/],
    ['alert_labels = environment=prod, 2fa=on', /lockstep\.ini:2: alert_labels: '2fa' is not a valid label name \(Prometheus allows \[a-zA-Z_\]\[a-zA-Z0-9_\]\*\)/],
    ['alert_labels = __name__=x', /lockstep\.ini:2: alert_labels: label names starting with __ are reserved/],
    ['alert_labels = environment=prod, severity=low', /lockstep\.ini:2: alert_labels: the label severity is set by Lockstep and cannot be overridden/],
    ['alert_labels = instance=north', /lockstep\.ini:2: alert_labels: the label instance is set by Lockstep .*set alert_instance instead/],
    ['alert_labels = academy=north, academy=south', /lockstep\.ini:2: alert_labels: the label academy is given twice/],
    ['alert_alertmanager_url = alertmanager:9093', /lockstep\.ini:2: alert_alertmanager_url must be an http:\/\/ or https:\/\/ URL/],
    ['alert_alertmanager_url = http://am:9093/api/v2/alerts', /lockstep\.ini:2: alert_alertmanager_url is the Alertmanager's base URL .*adds \/api\/v2\/alerts itself/],
    ['alert_webhook_url = http://am:9093/api/v2/alerts', /lockstep\.ini:2: alert_webhook_url points at an Alertmanager API .*set alert_alertmanager_url/],
    ['alert_webhook_url = ftp://relay/hook', /lockstep\.ini:2: alert_webhook_url must start with http:\/\/ or https:\/\//],
    ['external_url = https://lockstep.example/admin?x=1', /lockstep\.ini:2: external_url must be an http:\/\/ or https:\/\/ URL/],
    ['external_url = lockstep.example', /lockstep\.ini:2: external_url must be/],
    ['alert_email_from = Lockstep North', /lockstep\.ini:2: alert_email_from must be an address .* or a name and an address/],
    ['alert_webhook_authorization = Bearer s3cret\tx', /lockstep\.ini:2: alert_webhook_authorization must be one line of printable ASCII/],
  ];
  for (const [line, want] of cases) {
    const file = path.join(dir, 'lockstep.ini');
    fs.writeFileSync(file, `check_interval = 60\n${line}\n`, { mode: 0o600 });
    const r = spawnSync(BIN, ['--config', file, '--data-dir', dir, 'serve', '--listen', '127.0.0.1:0'], { timeout: 10000 });
    assert.equal(r.status, 1, `${line}: exit 1 (${r.stderr})`);
    const err = r.stderr.toString();
    assert.match(err, want, line);
    assert.equal(err.trim().split('\n').length, 1, `one line: ${err}`);
    assert.doesNotMatch(err, /s3cret|am:9093|relay/, 'no URL or secret repeated');
  }
});

test('a config file holding alert_webhook_authorization that others can read, or no external_url: serve warns, without the value', async () => {
  const dir = freshDir('alerts-secret-file');
  lockstep(dir, ['demo']);
  const file = path.join(dir, 'lockstep.ini');
  fs.writeFileSync(file, 'alert_webhook_url = http://127.0.0.1:9/hook\nalert_webhook_authorization = Bearer s3cret-in-file\n');
  fs.chmodSync(file, 0o644);
  let srv = await startServe(dir, { LOCKSTEP_CONFIG: file });
  await waitFor(() => srv.stderr().includes('holds alert_webhook_authorization'), 5000);
  await stopServe(srv);
  assert.match(srv.stderr(), /lockstep\.ini holds alert_webhook_authorization and is readable by other users: chmod 600 it/);
  assert.doesNotMatch(srv.stderr(), /s3cret/);
  // Without external_url, links fall back to listen: serve says so.
  assert.match(srv.stderr(), /external_url is not set: links in alerts point at http:\/\/127\.0\.0\.1:0 \(derived from listen\)/);
  fs.chmodSync(file, 0o600);
  fs.appendFileSync(file, 'external_url = https://lockstep.example\n');
  srv = await startServe(dir, { LOCKSTEP_CONFIG: file });
  await sleep(500);
  await stopServe(srv);
  assert.doesNotMatch(srv.stderr(), /readable by other users|external_url is not set/);
});
