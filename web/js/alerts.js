// alerts.js — the alerts panel of the health page from /health/alerts: the
// alerts firing and pending now (severity, what, since when, silenced), and
// the silences in force. Rules and delivery are described in docs/alerts.md.
import { h, replace } from './dom.js';
import { formatCount, formatDateTime, timeElement, timeWithRelative } from './format.js';

const SEVERITY = {
  critical: { label: 'Critical', tone: 'bad' },
  warning: { label: 'Warning', tone: 'warn' },
};

/** The anchor alert links point at (docs/alerts.md): alert-RULE, alert-RULE-JOB. */
function anchorOf(a) {
  return `alert-${a.rule}${a.job ? `-${a.job}` : ''}`;
}

function row(a, now) {
  const sev = SEVERITY[a.severity] || { label: String(a.severity), tone: 'info' };
  const since = a.state === 'firing' ? a.fired_at : a.started_at;
  return h('tr', { id: anchorOf(a), 'data-alert': a.rule, 'data-state': a.state },
    h('td', { 'data-label': 'Severity' }, h('span', { class: `pill pill-${sev.tone}` }, sev.label)),
    h('th', { scope: 'row', 'data-label': 'Alert' },
      h('div', {},
        h('span', { class: 'job-name block' }, a.summary || a.rule),
        h('span', { class: 'muted small block' }, a.job ? `${a.rule} · ${a.job}` : a.rule))),
    h('td', { 'data-label': 'State' },
      h('span', { class: `pill ${a.state === 'firing' ? 'pill-bad' : 'pill-info'}` }, a.state),
      a.silenced ? h('span', { class: 'pill pill-issue', title: 'Notifications are silenced for this rule' }, 'silenced') : null),
    h('td', { 'data-label': 'Since' }, timeWithRelative(since, now)));
}

/** The panel; update(body) with the /health/alerts answer, or update(null,
 * error) when the endpoint failed (not an outage of the page). */
export function createAlerts() {
  const body = h('div', {});
  const el = h('div', { class: 'alerts', 'data-testid': 'alerts' }, body);

  /* A link from a notification (…/admin/health#alert-RULE) shows its alert
   * once the panel has it, or the panel when the alert is over. */
  let linkShown = false;
  function showLinkedAlert() {
    if (linkShown || !/^#alert-[\w-]+$/.test(location.hash)) return;
    linkShown = true;
    const target = document.getElementById(location.hash.slice(1)) || el;
    target.setAttribute('data-linked', '');
    target.scrollIntoView({ block: 'center' });
  }

  function update(data, error) {
    const now = Date.now();
    if (!data || typeof data !== 'object') {
      replace(body, h('p', { class: 'unavailable', 'data-testid': 'alerts-unavailable' },
        h('strong', {}, 'Alert information unavailable'),
        error && error.status !== 404 ? h('span', { class: 'muted small block' }, error.message) : null));
      return;
    }
    const active = [...(data.firing || []), ...(data.pending || [])];
    const silences = data.silences || [];
    const silenceNote = silences.length
      ? h('p', { class: 'muted small', 'data-testid': 'silences' },
        `${formatCount(silences.length)} silence${silences.length === 1 ? '' : 's'} in force: `,
        silences.map((s, i) => [i ? ', ' : '', h('code', {}, s.rule), ' until ', timeElement(s.ends_at, formatDateTime(s.ends_at))]))
      : null;
    if (!active.length) {
      replace(body, h('p', { class: 'banner banner-success', 'data-testid': 'no-alerts' },
        h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '✓'),
        h('span', { class: 'banner-text' }, 'No alerts firing or pending.')), silenceNote);
      showLinkedAlert();
      return;
    }
    replace(body, h('div', { class: 'table-wrap' },
      h('table', { class: 'table alerts-table', 'aria-label': 'Alerts firing and pending now' },
        h('thead', {}, h('tr', {}, ['Severity', 'Alert', 'State', 'Since'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, active.map((a) => row(a, now))))), silenceNote);
    showLinkedAlert();
  }

  replace(body, h('p', { class: 'muted' }, 'Loading…'));
  return { el, update };
}
