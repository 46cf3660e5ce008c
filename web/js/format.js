// format.js — how the dashboard words and colours Lockstep's values: statuses
// and their thresholds, rates, counts, times, issue types and actions.
import { h } from './dom.js';

/** The status bands of the server (healthy_threshold, degraded_threshold):
 * the defaults until GET /health/metrics tells its own (`thresholds`). */
export const thresholds = { healthy: 99, degraded: 95 };

/** Take the server's thresholds ({healthy, degraded}); true when they changed. */
export function setThresholds(t) {
  if (!t || typeof t.healthy !== 'number' || typeof t.degraded !== 'number' ||
      !Number.isFinite(t.healthy) || !Number.isFinite(t.degraded)) return false;
  if (t.healthy === thresholds.healthy && t.degraded === thresholds.degraded) return false;
  thresholds.healthy = t.healthy;
  thresholds.degraded = t.degraded;
  return true;
}

/** A threshold as the dashboard words it: 99, 97.5. */
export function formatThreshold(v) {
  return `${+v.toFixed(2)}`;
}

/** The four statuses of domain.md with the dashboard's colour, icon and wording. */
export const STATUS = {
  healthy: {
    key: 'healthy', label: 'HEALTHY', colour: '#10b981', icon: '✓',
    get description() { return `System operating normally (≥${formatThreshold(thresholds.healthy)}% consistency)`; },
  },
  degraded: {
    key: 'degraded', label: 'DEGRADED', colour: '#f59e0b', icon: '!',
    get description() {
      return `Minor issues detected (${formatThreshold(thresholds.degraded)}-${formatThreshold(thresholds.healthy)}% consistency)`;
    },
  },
  critical: {
    key: 'critical', label: 'CRITICAL', colour: '#ef4444', icon: '✕',
    get description() { return `Immediate attention required (<${formatThreshold(thresholds.degraded)}% consistency)`; },
  },
  unknown: {
    key: 'unknown', label: 'UNKNOWN', colour: '#9ca3af', icon: '?',
    description: 'Status unavailable',
  },
};

export function statusInfo(status) {
  return STATUS[status] || STATUS.unknown;
}

/** The status a rate falls in under the server's thresholds (the server's
 * `status` field is used wherever it is given). */
export function statusOfRate(rate) {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return STATUS.unknown;
  if (rate >= thresholds.healthy) return STATUS.healthy;
  if (rate >= thresholds.degraded) return STATUS.degraded;
  return STATUS.critical;
}

/** "98.67%" or "N/A". */
export function formatRate(rate) {
  return typeof rate === 'number' && Number.isFinite(rate) ? `${rate.toFixed(2)}%` : 'N/A';
}

const counts = new Intl.NumberFormat(undefined);
export function formatCount(n) {
  return typeof n === 'number' && Number.isFinite(n) ? counts.format(n) : '—';
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const shortDateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "Nov 28, 2026, 10:01:05 PM" in the viewer's zone, or "—". */
export function formatDateTime(value) {
  const d = toDate(value);
  return d ? dateTime.format(d) : '—';
}

export function formatShortDateTime(value) {
  const d = toDate(value);
  return d ? shortDateTime.format(d) : '—';
}

export function formatTime(value) {
  const d = toDate(value);
  return d ? timeOnly.format(d) : '—';
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
/** "in 4 minutes", "2 hours ago". */
export function formatRelative(value, now = Date.now()) {
  const d = toDate(value);
  if (!d) return '';
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return relative.format(Math.round(s), 'second');
  if (abs < 45 * 60) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 36 * 3600) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}

/** "5 min", "6 h", "1 d" for a job's interval. */
export function formatInterval(seconds) {
  if (typeof seconds !== 'number' || seconds <= 0) return '—';
  if (seconds % 86400 === 0) return `every ${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `every ${seconds / 3600} h`;
  if (seconds % 60 === 0) return `every ${seconds / 60} min`;
  return `every ${seconds} s`;
}

/** A `<time>` element: local time as text, ISO (UTC) in datetime and title. */
export function timeElement(value, text) {
  const el = document.createElement('time');
  const d = toDate(value);
  if (d) {
    el.dateTime = d.toISOString();
    el.title = d.toISOString();
  }
  el.textContent = text ?? formatDateTime(value);
  return el;
}

/** A time as local date and time, with "in 5 minutes" / "2 hours ago" under it. */
export function timeWithRelative(value, now = Date.now()) {
  if (!value) return h('span', { class: 'muted' }, '—');
  return h('div', {}, timeElement(value, formatDateTime(value)), h('span', { class: 'muted small block' }, formatRelative(value, now)));
}

export const ISSUES = {
  level_mismatch: 'Level mismatch',
  missing_license: 'Missing license',
  missing_progress: 'Missing progress',
  invalid_level: 'Invalid level',
  unknown_specialization: 'Unknown specialization',
  duplicate_rows: 'Duplicate rows',
};

export const ACTIONS = {
  sync_progress_to_license: 'Set license to progress level',
  sync_license_to_progress: 'Set progress to license level',
  create_license_from_progress: 'Create license from progress',
  create_progress_from_license: 'Create progress from license',
  manual_review: 'Manual review (never synced automatically)',
};

export function issueLabel(type) {
  return ISSUES[type] || String(type ?? '—');
}

export function actionLabel(action) {
  return ACTIONS[action] || String(action ?? '—');
}

/** "+2", "−1" (a real minus sign), "0", or "—" when a side is missing. */
export function formatDelta(delta) {
  if (typeof delta !== 'number') return '—';
  if (delta > 0) return `+${delta}`;
  if (delta < 0) return `\u2212${Math.abs(delta)}`;
  return '0';
}
