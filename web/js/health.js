// health.js — the health page operators live on: status, gauge, metrics,
// violations with per-row Sync, the trend, the scheduler; Run Check Now; an
// auto-refresh every 30 s that pauses while the tab is hidden and recovers
// by itself after an API failure.
import { ApiError, get, post } from './api.js';
import { confirmDialog } from './dialog.js';
import { card, h, replace } from './dom.js';
import { actionLabel, formatCount, formatRate, formatRelative, formatTime, setThresholds, statusInfo, timeElement } from './format.js';
import { createGauge } from './gauge.js';
import { createAlerts } from './alerts.js';
import { createJobs } from './jobs.js';
import { RANGES, createTrend } from './trend.js';
import { createViolations, violationKey } from './violations.js';

/** Seconds between automatic refreshes, and after a failed one. */
const REFRESH_SECONDS = 30;
const RETRY_SECONDS = 10;
/** Rows repaired from this tab, hidden until a newer check says otherwise. */
const REPAIRED_KEY = 'lockstep.repairedSinceCheck';
const NAME_LOOKUPS_AT_ONCE = 6;

function loadRepaired() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(REPAIRED_KEY) || 'null');
    if (saved && Array.isArray(saved.keys)) return { check: saved.check ?? null, keys: new Set(saved.keys.map(String)) };
  } catch {
    /* unreadable: start afresh */
  }
  return { check: null, keys: new Set() };
}

function saveRepaired(r) {
  try {
    sessionStorage.setItem(REPAIRED_KEY, JSON.stringify({ check: r.check, keys: [...r.keys] }));
  } catch {
    /* storage full or disabled: the rows come back on reload, nothing worse */
  }
}

async function eachLimited(items, limit, fn) {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await fn(queue.shift());
  });
  await Promise.all(workers);
}

/* The status carries only the newest violations; the table pages through
 * /health/violations (at most 1,000 a request), up to this many rows. */
const VIOLATIONS_PAGE = 1000;
const VIOLATIONS_SHOWN = 50000;

/** Draw the page into `main`; returns its teardown (timers and listeners). */
export function mountHealth(main) {
  let alive = true;
  let loading = null;
  let again = false;
  let checking = false;
  let range = '24h';
  let status = null;
  let lastAttempt = 0;
  let deadline = 0;
  let pausedFor = null;
  let ticker = null;
  let failing = false;
  let specs = null;
  /* The open violations of the check `violationsOf` (its last_check). */
  let violationList = [];
  let violationsOf = null;
  const repaired = loadRepaired();

  /* ---- header ---- */
  const runButton = h('button', { type: 'button', class: 'btn btn-primary', id: 'run-check', onclick: () => runCheck() }, 'Run Check Now');
  const updated = h('span', { id: 'last-updated' }, 'Last updated: —');
  // The countdown ticks every second, too often to be read out: its live
  // region says only what changes (refreshing every 30 s, paused, retrying).
  const countdown = h('span', { id: 'refresh-countdown', class: 'countdown', role: 'timer', 'aria-live': 'off' });
  const refreshState = h('span', { id: 'refresh-state', class: 'sr-only', 'aria-live': 'polite' });
  const announcer = h('p', { id: 'health-announcer', class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const notice = h('p', { id: 'health-notice', class: 'notice', role: 'status', hidden: true });
  const bannerText = h('span', { class: 'banner-text' });
  const banner = h('div', { id: 'health-error', class: 'banner banner-error', role: 'alert', hidden: true, 'data-testid': 'error-banner' },
    h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '!'),
    bannerText,
    h('button', { type: 'button', class: 'btn btn-small btn-on-error', onclick: () => refresh() }, 'Retry now'));
  const header = h('div', { class: 'page-head' },
    h('div', {},
      h('h1', {}, 'Progress-License Health Monitor'),
      h('p', { class: 'page-meta' }, updated, h('span', { class: 'dot', 'aria-hidden': 'true' }, '·'), countdown, refreshState)),
    h('div', { class: 'page-actions' },
      h('a', { href: '/admin/stabilization', class: 'btn btn-secondary', 'data-route': '', id: 'stabilization-link' }, 'Stabilization report'),
      runButton));

  /* ---- empty state ---- */
  const emptyText = h('p', { class: 'empty-text', 'data-testid': 'empty-message' });
  const firstCheck = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => runCheck() }, 'Run first check now');
  const empty = h('section', { class: 'card empty-state', 'data-testid': 'empty-state', hidden: true, 'aria-labelledby': 'empty-title' },
    h('h2', { id: 'empty-title', class: 'card-title' }, 'No checks yet'),
    emptyText, firstCheck);

  /* ---- status ---- */
  const badgeIcon = h('span', { class: 'status-icon', 'aria-hidden': 'true' });
  const badgeLabel = h('span', { class: 'status-label' });
  const badge = h('div', { class: 'status-badge', 'data-testid': 'status-badge' }, badgeIcon, badgeLabel);
  const description = h('p', { class: 'status-description', 'data-testid': 'status-description' });
  const lastCheck = h('dd', {}, '—');
  const pairs = h('dd', {}, '—');
  const nextCheck = h('dd', {}, '—');
  const statusCard = card('System Status', [badge, description,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Last check'), lastCheck,
      h('dt', {}, 'Pairs checked'), pairs,
      h('dt', {}, 'Next scheduled check'), nextCheck)], { id: 'status-card', testid: 'status-card' });

  /* ---- gauge ---- */
  const gauge = createGauge();
  const gaugeCard = card('Consistency Rate', gauge.el, { id: 'gauge-card' });

  /* ---- metrics ---- */
  const metricValues = {};
  const metric = (key, label) => {
    metricValues[key] = h('dd', { 'data-metric': key }, '—');
    return [h('dt', {}, label), metricValues[key]];
  };
  const metricsCard = card('Metrics', h('dl', { class: 'metrics' },
    metric('users', 'Users monitored'),
    metric('violations', 'Active violations'),
    metric('rate', 'Consistency rate'),
    metric('attention', 'Requires attention'),
    metric('checks', 'Checks in the last 24 h'),
    metric('duration', 'Last check took')), { id: 'metrics-card', testid: 'metrics' });

  /* ---- violations, trend, scheduler ---- */
  const violations = createViolations({ onSync: syncRow, names: lookupNames });
  const violationsCard = h('section', { class: 'card card-wide', id: 'violations-card', 'aria-labelledby': 'violations-title' }, violations.el);
  const trend = createTrend({
    onRangeChange: (key) => {
      range = key;
      loadHistory().catch(() => {});
    },
  });
  const trendCard = card('Consistency Trend', trend.el, { id: 'trend-card', className: 'card-wide' });
  const jobs = createJobs();
  const jobsCard = card('Scheduler', jobs.el, { id: 'jobs-card', className: 'card-wide', testid: 'scheduler' });
  const alerts = createAlerts();
  const alertsCard = card('Alerts', alerts.el, { id: 'alerts-card', className: 'card-wide', testid: 'alerts-card' });

  main.replaceChildren(h('div', { class: 'page health-page' },
    header, banner, notice, announcer, empty,
    h('div', { class: 'health-grid' }, statusCard, gaugeCard, metricsCard, alertsCard, violationsCard, trendCard, jobsCard)));

  description.textContent = 'Loading health data…';
  violationsCard.hidden = true;
  trendCard.hidden = true;

  /* ---- drawing ---- */
  function drawStatus(s, metrics) {
    const info = statusInfo(s.status);
    badge.className = `status-badge status-${info.key}`;
    badge.dataset.status = info.key;
    badgeIcon.textContent = info.icon;
    badgeLabel.textContent = info.label;
    description.textContent = info.description;
    replace(lastCheck, s.last_check ? timeElement(s.last_check) : 'none yet');
    pairs.textContent = metrics && s.last_check
      ? `${formatCount((metrics.consistent || 0) + (metrics.inconsistent || 0))} (${formatCount(metrics.consistent)} consistent, ${formatCount(metrics.inconsistent)} not)`
      : '—';
    gauge.update(s.consistency_rate, s.status);
    const none = !s.last_check;
    metricValues.users.textContent = none ? '—' : formatCount(s.total_users_monitored);
    metricValues.violations.textContent = none ? '—' : formatCount(s.total_violations);
    metricValues.rate.textContent = formatRate(s.consistency_rate);
    replace(metricValues.attention, s.requires_attention
      ? h('span', { class: 'pill pill-bad', 'data-testid': 'attention' }, 'YES')
      : h('span', { class: 'pill pill-ok', 'data-testid': 'attention' }, 'NO'));
    metricValues.checks.textContent = metrics ? formatCount(metrics.checks_last_24h) : '—';
    metricValues.duration.textContent = metrics && typeof metrics.last_check_duration_ms === 'number'
      ? `${metrics.last_check_duration_ms.toFixed(metrics.last_check_duration_ms < 10 ? 2 : 0)} ms` : '—';
  }

  function drawViolations() {
    if (!status) return;
    if (repaired.check !== status.last_check) {
      repaired.check = status.last_check;
      repaired.keys.clear();
      saveRepaired(repaired);
    }
    const open = violationList.filter((v) => !repaired.keys.has(violationKey(v)));
    const hidden = violationList.length - open.length;
    const beyond = status.total_violations > violationList.length
      ? `Showing the newest ${formatCount(violationList.length)} of ${formatCount(status.total_violations)} violations.` : '';
    violations.update(open, {
      hasCheck: !!status.last_check,
      specializations: specs,
      remark: [hidden ? `${formatCount(hidden)} repaired from this page since the last check (${formatTime(status.last_check)}); the next check confirms ${hidden === 1 ? 'it' : 'them'}.` : '', beyond]
        .filter(Boolean).join(' '),
    });
  }

  function drawEmpty(message) {
    const none = !status || !status.last_check;
    empty.hidden = !none || !status;
    violationsCard.hidden = none;
    trendCard.hidden = none;
    if (none && message) emptyText.textContent = message;
  }

  function showError(prefix, e) {
    bannerText.textContent = `${prefix}: ${e.message}`;
    banner.hidden = false;
  }

  /** Tell screen readers (and, when visible, everyone: the notice is itself a live region). */
  function say(text, { visible = false } = {}) {
    if (visible) {
      notice.textContent = text;
      notice.hidden = false;
    } else {
      announcer.textContent = text;
    }
  }

  /* ---- loading ---- */
  async function loadHistory() {
    const since = new Date(Date.now() - RANGES[range].ms).toISOString();
    const wanted = range;
    const history = await get(`/api/v1/health/history?since=${encodeURIComponent(since)}&limit=10000`);
    if (alive && wanted === range) trend.update(history, range);
    return history;
  }

  async function loadJobs() {
    try {
      const list = await get('/api/v1/health/jobs');
      if (!alive) return;
      jobs.update(Array.isArray(list) ? list : null);
      const check = Array.isArray(list) && list.find((j) => j.id === 'coupling_health_check');
      replace(nextCheck, check && check.next_run
        ? [timeElement(check.next_run, formatTime(check.next_run)), ` (${formatRelative(check.next_run)})`] : '—');
    } catch (e) {
      if (alive && e.status !== 401) {
        jobs.update(null, e);
        nextCheck.textContent = '—';
      }
    }
  }

  async function loadAlerts() {
    try {
      const a = await get('/api/v1/health/alerts?limit=1');
      if (alive) alerts.update(a);
    } catch (e) {
      if (alive && e.status !== 401) alerts.update(null, e);
    }
  }

  /** The open violations of check `s`, page by page; fetched again only when a newer check is recorded. */
  async function loadViolations(s) {
    if (!s.last_check) {
      violationList = [];
      violationsOf = null;
      return;
    }
    if (violationsOf === s.last_check) return;
    const list = [];
    for (let offset = 0; offset < VIOLATIONS_SHOWN; offset += VIOLATIONS_PAGE) {
      const page = await get(`/api/v1/health/violations?limit=${VIOLATIONS_PAGE}&offset=${offset}`);
      if (!Array.isArray(page)) break;
      list.push(...page);
      if (page.length < VIOLATIONS_PAGE) break;
    }
    violationList = list;
    violationsOf = s.last_check;
  }

  async function lookupNames(ids) {
    const found = new Map();
    await eachLimited(ids, NAME_LOOKUPS_AT_ONCE, async (id) => {
      try {
        // The student as the domain's users table has it (in attached mode the
        // academy's: its ids are not those of Lockstep's accounts under /users).
        const u = await get(`/api/v1/users/${encodeURIComponent(id)}/progress`);
        if (u && typeof u.name === 'string' && u.name) found.set(id, u.name);
      } catch {
        /* unknown or unreadable: the row shows the id */
      }
    });
    return found;
  }

  async function load() {
    if (specs === null) {
      get('/api/v1/specializations').then((list) => {
        specs = Array.isArray(list) ? list : [];
        if (alive) drawViolations();
      }, () => {});
    }
    const jobsDone = Promise.all([loadJobs(), loadAlerts()]);
    const [s, metrics] = await Promise.all([
      get('/api/v1/health/status'),
      get('/api/v1/health/metrics'),
      loadHistory(),
    ]);
    let message = null;
    if (!s.last_check) {
      try {
        await get('/api/v1/health/latest-report');
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) message = e.detail;
        else throw e;
      }
    }
    await Promise.all([jobsDone, loadViolations(s)]);
    if (!alive) return;
    if (setThresholds(metrics && metrics.thresholds)) trend.redraw();
    status = s;
    drawStatus(s, metrics);
    drawEmpty(message || 'No health reports available yet.');
    drawViolations();
  }

  /** Reload everything now; a call during a reload runs one more after it. */
  async function refresh() {
    if (loading) {
      again = true;
      return loading;
    }
    lastAttempt = Date.now();
    countdown.textContent = 'Refreshing…';
    loading = (async () => {
      try {
        await load();
        if (!alive) return;
        const now = new Date();
        updated.replaceChildren('Last updated: ', timeElement(now, formatTime(now)));
        if (failing) say('Connection restored; the health data is up to date.');
        failing = false;
        banner.hidden = true;
        schedule(REFRESH_SECONDS);
      } catch (e) {
        if (!alive) return;
        if (e instanceof ApiError && e.status === 401) return; // the session is over: app.js shows sign-in
        failing = true;
        showError('Could not refresh the health data', e);
        schedule(RETRY_SECONDS);
      }
    })();
    try {
      await loading;
    } finally {
      loading = null;
    }
    if (again && alive) {
      again = false;
      await refresh();
    }
  }

  /* ---- the countdown ---- */
  function showCountdown() {
    const state = document.hidden ? 'Auto-refresh paused while this tab is hidden.'
      : failing ? `Refreshing failed; retrying every ${RETRY_SECONDS} seconds.`
        : `Auto-refresh every ${REFRESH_SECONDS} seconds.`;
    if (refreshState.textContent !== state) refreshState.textContent = state;
    if (document.hidden) {
      countdown.textContent = 'Auto-refresh paused';
      return;
    }
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    countdown.textContent = failing ? `Retrying in ${left} s` : `Next refresh in ${left} s`;
  }

  function tick() {
    if (loading || document.hidden) return;
    if (Date.now() >= deadline) refresh();
    else showCountdown();
  }

  function schedule(seconds) {
    deadline = Date.now() + seconds * 1000;
    if (!document.hidden && !ticker) ticker = setInterval(tick, 1000);
    showCountdown();
  }

  function onVisibility() {
    if (document.hidden) {
      pausedFor = Math.max(0, deadline - Date.now());
      clearInterval(ticker);
      ticker = null;
      showCountdown();
      return;
    }
    if (Date.now() - lastAttempt >= REFRESH_SECONDS * 1000) {
      refresh();
    } else {
      deadline = Date.now() + (pausedFor ?? 0);
      if (!ticker) ticker = setInterval(tick, 1000);
      showCountdown();
    }
  }
  document.addEventListener('visibilitychange', onVisibility);

  /* ---- actions ---- */
  async function runCheck() {
    if (checking) return;
    checking = true;
    for (const b of [runButton, firstCheck]) {
      b.disabled = true;
      b.textContent = 'Checking...';
      b.setAttribute('aria-busy', 'true');
    }
    say('Running a health check…');
    try {
      const report = await post('/api/v1/health/check-now');
      if (!alive) return;
      say(`Check complete: ${formatRate(report.consistency_rate)} consistency, ${formatCount(report.inconsistent)} `
        + `violation${report.inconsistent === 1 ? '' : 's'} in ${formatCount(report.total_checked)} pairs.`, { visible: true });
      await refresh();
    } catch (e) {
      if (alive && !(e instanceof ApiError && e.status === 401)) showError('The check could not run', e);
    } finally {
      checking = false;
      runButton.disabled = false;
      runButton.textContent = 'Run Check Now';
      firstCheck.disabled = false;
      firstCheck.textContent = 'Run first check now';
      for (const b of [runButton, firstCheck]) b.removeAttribute('aria-busy');
    }
  }

  async function syncRow(v, name, started) {
    const who = name || v.user_email || `user ${v.user_id}`;
    const ok = await confirmDialog({
      title: 'Sync this pair?',
      body: [
        h('p', {}, 'Repair ', h('strong', {}, who), v.user_email && name ? ` (${v.user_email})` : '',
          ' in ', h('strong', {}, v.specialization), '.'),
        h('p', { class: 'muted' }, `Progress level ${v.progress_level ?? 'missing'}, license level ${v.license_level ?? 'missing'}. `
          + `Recommended: ${actionLabel(v.recommended_action).toLowerCase()}.`),
      ],
      confirmLabel: 'Sync now',
    });
    if (!ok || !alive) return false;
    started();
    try {
      const res = await post(`/api/v1/licenses/admin/sync/user/${encodeURIComponent(v.user_id)}`, { specialization: v.specialization });
      const item = (res.results || []).find((r) => r.specialization === v.specialization) || (res.results || [])[0];
      if ((res.failed_count || 0) > 0 || (item && item.success === false)) {
        say(`Sync failed for ${who} (${v.specialization}): ${item && item.error ? item.error : 'the pair could not be repaired'}.`, { visible: true });
        return false;
      }
      repaired.check = status ? status.last_check : null;
      repaired.keys.add(violationKey(v));
      saveRepaired(repaired);
      const change = item && item.action && item.action !== 'none' && item.old_level !== undefined
        ? ` (${String(item.action).replace(/_/g, ' ')}: level ${item.old_level ?? '—'} → ${item.new_level ?? '—'})`
        : item && item.action === 'none' ? ' (already consistent)' : '';
      say(`Synced ${who} — ${v.specialization}${change}.`, { visible: true });
      drawViolations();
      await refresh();
      return true;
    } catch (e) {
      if (alive && !(e instanceof ApiError && e.status === 401)) say(`Sync failed for ${who} (${v.specialization}): ${e.message}`, { visible: true });
      return false;
    }
  }

  refresh();

  return () => {
    alive = false;
    clearInterval(ticker);
    document.removeEventListener('visibilitychange', onVisibility);
    trend.destroy();
  };
}
