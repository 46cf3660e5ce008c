// health-status.js — the health page's System Status, Consistency Rate (the
// gauge) and Metrics cards, drawn from /health/status and /health/metrics,
// with the next scheduled check from /health/jobs.
import { card, h, replace } from './dom.js';
import { formatCount, formatRate, formatRelative, formatTime, statusInfo, timeElement } from './format.js';
import { createGauge } from './gauge.js';

/** The three cards, showing "Loading health data…" until drawn. */
export function createStatusCards() {
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

  const gauge = createGauge();
  const gaugeCard = card('Consistency Rate', gauge.el, { id: 'gauge-card' });

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

  description.textContent = 'Loading health data…';

  /** Draw status `s` (/health/status) and `metrics` (/health/metrics, may be null). */
  function draw(s, metrics) {
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

  /** The next run of the health check job in `jobs` (/health/jobs), or "—" when it is unknown. */
  function showNextCheck(jobs) {
    const check = Array.isArray(jobs) && jobs.find((j) => j.id === 'coupling_health_check');
    replace(nextCheck, check && check.next_run
      ? [timeElement(check.next_run, formatTime(check.next_run)), ` (${formatRelative(check.next_run)})`] : '—');
  }

  return { statusCard, gaugeCard, metricsCard, draw, showNextCheck };
}
