// dashboard.js — the admin dashboard: the "System Health" card (status colour,
// rate, violations, last check) leading to the health page, and monitoring figures.
import { ApiError, get } from './api.js';
import { h, replace } from './dom.js';
import { formatCount, formatRate, formatRelative, setThresholds, statusInfo, timeElement } from './format.js';

export function mountDashboard(main, { user }) {
  let alive = true;
  const body = h('div', { class: 'dashboard-grid' },
    h('section', { class: 'card' }, h('p', { class: 'muted', role: 'status' }, 'Loading…')));
  main.replaceChildren(h('div', { class: 'page' },
    h('div', { class: 'page-head' },
      h('div', {},
        h('h1', {}, 'Admin Dashboard'),
        h('p', { class: 'page-meta' }, `Welcome, ${user.name || user.email}.`))),
    body));

  function healthCard(s) {
    const info = statusInfo(s.status);
    return h('section', { class: 'card health-summary', 'aria-labelledby': 'system-health-title', 'data-testid': 'system-health' },
      h('div', { class: 'card-head' },
        h('h2', { id: 'system-health-title', class: 'card-title' }, 'System Health'),
        h('div', { class: `status-badge status-${info.key}`, 'data-status': info.key, 'data-testid': 'status-badge' },
          h('span', { class: 'status-icon', 'aria-hidden': 'true' }, info.icon),
          h('span', { class: 'status-label' }, info.label))),
      h('p', { class: 'big-number', 'data-testid': 'health-rate' }, formatRate(s.consistency_rate),
        h('span', { class: 'big-number-unit' }, ' consistency')),
      h('p', { class: 'status-description' }, info.description),
      h('p', { class: 'muted small' },
        s.last_check
          ? [`${formatCount(s.total_violations)} active violation${s.total_violations === 1 ? '' : 's'} · last check `,
            timeElement(s.last_check, formatRelative(s.last_check))]
          : 'No check has run yet.'),
      h('a', { href: '/admin/health', class: 'btn btn-primary', 'data-route': '' }, 'Open the Health Monitor'));
  }

  function monitoringCard(m) {
    const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
    return h('section', { class: 'card', 'aria-labelledby': 'monitoring-title' },
      h('h2', { id: 'monitoring-title', class: 'card-title' }, 'Monitoring'),
      h('dl', { class: 'metrics' },
        row('Users monitored', m.last_check ? formatCount(m.total_users_monitored) : '—'),
        row('Pairs checked', m.last_check ? formatCount((m.consistent || 0) + (m.inconsistent || 0)) : '—'),
        row('Checks in the last 24 h', formatCount(m.checks_last_24h)),
        row('Scheduled check success (24 h)', typeof m.check_success_rate_24h === 'number' ? `${m.check_success_rate_24h.toFixed(1)}%` : '—')));
  }

  Promise.all([get('/api/v1/health/status'), get('/api/v1/health/metrics')]).then(([s, m]) => {
    setThresholds(m && m.thresholds);
    if (alive) replace(body, healthCard(s), monitoringCard(m));
  }, (e) => {
    if (!alive || (e instanceof ApiError && e.status === 401)) return;
    replace(body, h('div', { class: 'banner banner-error', role: 'alert' },
      h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '!'),
      h('span', { class: 'banner-text' }, `Could not load the system health: ${e.message}`)));
  });
  return () => {
    alive = false;
  };
}
