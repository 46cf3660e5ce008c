// health.js — the health page operators live on: status, gauge, metrics,
// violations with per-row Sync, the watcher, the trend, the scheduler; Run
// Check Now and Full sweep; an auto-refresh every 30 s (the status every 2 s
// while the watcher runs) that pauses while the tab is hidden and recovers
// by itself after an API failure. This file loads the data and lays out the
// page; the parts are health-status.js, health-violations.js,
// health-watch.js, health-actions.js, health-refresh.js and health-messages.js.
import { ApiError, get } from './api.js';
import { card, h } from './dom.js';
import { formatTime, setThresholds, timeElement } from './format.js';
import { createAlerts } from './alerts.js';
import { createJobs } from './jobs.js';
import { RANGES, createTrend } from './trend.js';
import { createActions } from './health-actions.js';
import { createMessages } from './health-messages.js';
import { createAutoRefresh } from './health-refresh.js';
import { createStatusCards } from './health-status.js';
import { createViolationsPanel } from './health-violations.js';
import { createWatchPanel } from './health-watch.js';

function pageHeader(updated, refresher, runButton, fullButton) {
  return h('div', { class: 'page-head' },
    h('div', {},
      h('h1', {}, 'Progress-License Health Monitor'),
      h('p', { class: 'page-meta' }, updated, h('span', { class: 'dot', 'aria-hidden': 'true' }, '·'), refresher.countdown, refresher.refreshState)),
    h('div', { class: 'page-actions' },
      h('a', { href: '/admin/stabilization', class: 'btn btn-secondary', 'data-route': '', id: 'stabilization-link' }, 'Stabilization report'),
      runButton, fullButton));
}

function emptyState(emptyText, firstCheck) {
  return h('section', { class: 'card empty-state', 'data-testid': 'empty-state', hidden: true, 'aria-labelledby': 'empty-title' },
    h('h2', { id: 'empty-title', class: 'card-title' }, 'No checks yet'),
    emptyText, firstCheck);
}

async function loadJobs(jobs, statusCards, isAlive) {
  try {
    const list = await get('/api/v1/health/jobs');
    if (!isAlive()) return;
    jobs.update(Array.isArray(list) ? list : null);
    statusCards.showNextCheck(list);
  } catch (e) {
    if (isAlive() && e.status !== 401) {
      jobs.update(null, e);
      statusCards.showNextCheck(null);
    }
  }
}

async function loadAlerts(alerts, isAlive) {
  try {
    const a = await get('/api/v1/health/alerts?limit=1');
    if (isAlive()) alerts.update(a);
  } catch (e) {
    if (isAlive() && e.status !== 401) alerts.update(null, e);
  }
}

/** The message of the empty state when no check is recorded: the 404 of /health/latest-report. */
async function noCheckMessage() {
  try {
    await get('/api/v1/health/latest-report');
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return e.detail;
    throw e;
  }
  return null;
}

/** Draw the page into `main`; returns its teardown (timers and listeners). */
export function mountHealth(main) {
  let alive = true;
  let range = '24h';
  let status = null;
  let metrics = null;
  let loads = 0; // full loads started: a status fetched before the newest one is not drawn
  let drawnStatus = ''; // the status drawn last, as JSON: an unchanged one is not drawn again
  const isAlive = () => alive;

  const messages = createMessages({ onRetry: () => refresher.refresh() });
  const statusCards = createStatusCards();
  const watchPanel = createWatchPanel();
  const violations = createViolationsPanel({ onSync: (v, name, started) => actions.syncRow(v, name, started), isAlive });
  const actions = createActions({
    isAlive,
    say: messages.say,
    showError: messages.showError,
    refresh: () => refresher.refresh(),
    markRepaired: violations.markRepaired,
    redrawViolations: violations.draw,
  });
  const updated = h('span', { id: 'last-updated' }, 'Last updated: —');
  const refresher = createAutoRefresh({
    load,
    liveLoad,
    isAlive,
    onLoaded: (wasFailing) => {
      const now = new Date();
      updated.replaceChildren('Last updated: ', timeElement(now, formatTime(now)));
      if (wasFailing) messages.say('Connection restored; the health data is up to date.');
      messages.hideError();
    },
    onFailed: (e) => messages.showError('Could not refresh the health data', e),
  });
  const emptyText = h('p', { class: 'empty-text', 'data-testid': 'empty-message' });
  const empty = emptyState(emptyText, actions.firstCheck);
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
    pageHeader(updated, refresher, actions.runButton, actions.fullButton), messages.banner, messages.notice, messages.announcer, empty,
    h('div', { class: 'health-grid' }, statusCards.statusCard, statusCards.gaugeCard, statusCards.metricsCard, watchPanel.card, alertsCard,
      violations.card, trendCard, jobsCard)));
  violations.card.hidden = true;
  trendCard.hidden = true;

  function drawEmpty(message) {
    const none = !status || !status.last_check;
    empty.hidden = !none || !status;
    violations.card.hidden = none;
    trendCard.hidden = none;
    if (none && message) emptyText.textContent = message;
  }

  async function loadHistory() {
    const since = new Date(Date.now() - RANGES[range].ms).toISOString();
    const wanted = range;
    const history = await get(`/api/v1/health/history?since=${encodeURIComponent(since)}&limit=10000`);
    if (alive && wanted === range) trend.update(history, range);
    return history;
  }

  /** Draw status `s` (with the last /health/metrics) in every part that shows it. */
  function drawStatus(s, message) {
    drawnStatus = JSON.stringify(s);
    status = s;
    statusCards.draw(s, metrics);
    watchPanel.draw(s);
    actions.setWatching(!!s.watch);
    refresher.setLive(!!s.watch);
    drawEmpty(message || 'No health reports available yet.');
    violations.show(s);
  }

  async function load() {
    const n = ++loads;
    violations.loadSpecs();
    const jobsDone = Promise.all([loadJobs(jobs, statusCards, isAlive), loadAlerts(alerts, isAlive)]);
    const [s, m] = await Promise.all([
      get('/api/v1/health/status'),
      get('/api/v1/health/metrics'),
      loadHistory(),
    ]);
    const message = s.last_check ? null : await noCheckMessage();
    await Promise.all([jobsDone, violations.load(s)]);
    if (!alive || n !== loads) return;
    if (setThresholds(m && m.thresholds)) trend.redraw();
    metrics = m;
    drawStatus(s, message);
  }

  /** The status alone (every 2 s while the watcher runs): its counts are the
   * watcher's live state, so drift shows without waiting for the next reload. */
  async function liveLoad() {
    const n = loads;
    const s = await get('/api/v1/health/status');
    if (!s.last_check) return; // the empty state's message comes with a full reload
    const fetched = await violations.load(s, { live: true });
    if (!alive || n !== loads) return;
    // Unchanged: only the card's relative times move (redrawing the table
    // every 2 s would take the keyboard focus off its sort buttons).
    if (!fetched && JSON.stringify(s) === drawnStatus) watchPanel.draw(s);
    else drawStatus(s);
  }

  refresher.refresh();

  return () => {
    alive = false;
    refresher.stop();
    trend.destroy();
  };
}
