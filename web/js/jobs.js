// jobs.js — the scheduler panel from /health/jobs: each job's last and next
// run, success rate and missed/failed counts over the last 24 hours.
import { h, replace } from './dom.js';
import { formatCount, formatInterval, timeWithRelative } from './format.js';

const RUN_STATUS = {
  ok: ['Succeeded', 'ok'],
  success: ['Succeeded', 'ok'],
  failed: ['Failed', 'bad'],
  error: ['Failed', 'bad'],
  missed: ['Missed', 'bad'],
  skipped: ['Skipped', 'warn'],
  interrupted: ['Interrupted', 'warn'],
  running: ['Running', 'info'],
};

function statusPill(job) {
  const key = job.running ? 'running' : job.last_status;
  if (!key) return h('span', { class: 'muted' }, 'not run yet');
  const [label, tone] = RUN_STATUS[key] || [String(key), 'info'];
  return h('span', { class: `pill pill-${tone}` }, label);
}

function rate(job) {
  if (typeof job.success_rate !== 'number') return h('span', { class: 'muted' }, 'no runs due yet');
  const tone = job.success_rate >= 99 ? 'good' : job.success_rate >= 95 ? 'warn' : 'bad';
  return h('div', {}, h('strong', { class: `rate rate-${tone}` }, `${job.success_rate.toFixed(1)}%`),
    h('span', { class: 'muted small block' }, `${formatCount(job.runs_ok)} of ${formatCount(job.runs_expected)} runs`));
}

function count(n, tone) {
  const v = typeof n === 'number' ? n : 0;
  return h('span', { class: v > 0 ? `count count-${tone}` : 'count' }, formatCount(v));
}

/** The panel; update(jobs) with the array, or update(null, error) when the
 * endpoint failed (404 while the server has no scheduler endpoint). */
export function createJobs() {
  const body = h('div', { class: 'jobs-body' });
  const el = h('div', { class: 'jobs', 'data-testid': 'jobs' }, body);

  function update(jobs, error) {
    const now = Date.now();
    if (!Array.isArray(jobs)) {
      replace(body, h('p', { class: 'unavailable', 'data-testid': 'jobs-unavailable' },
        h('strong', {}, 'Scheduler information unavailable'),
        error && error.status !== 404 ? h('span', { class: 'muted small block' }, error.message) : null));
      return;
    }
    if (!jobs.length) {
      replace(body, h('p', { class: 'muted' }, 'No scheduled jobs are configured.'));
      return;
    }
    replace(body, h('div', { class: 'table-wrap' },
      h('table', { class: 'table jobs-table', 'aria-label': 'Scheduled jobs, last 24 hours' },
        h('thead', {}, h('tr', {},
          ['Job', 'Last run', 'Next run', 'Success rate (24 h)', 'Missed', 'Failed'].map((c, i) =>
            h('th', { scope: 'col', class: i >= 4 ? 'num' : null }, c)))),
        h('tbody', {}, jobs.map((job) => h('tr', { 'data-job': job.id },
          h('th', { scope: 'row', 'data-label': 'Job' },
            h('div', {},
              h('span', { class: 'job-name block' }, job.name || job.id),
              h('span', { class: 'muted small block job-interval' }, formatInterval(job.interval_seconds)))),
          h('td', { 'data-label': 'Last run' }, job.last_run || job.running ? h('div', {}, timeWithRelative(job.last_run, now), statusPill(job))
            : h('span', { class: 'muted' }, 'not run yet')),
          h('td', { 'data-label': 'Next run' }, job.enabled === false
            ? h('span', { class: 'pill muted', 'data-testid': 'job-disabled', title: job.disabled_reason || '' }, 'disabled')
            : timeWithRelative(job.next_run, now)),
          h('td', { 'data-label': 'Success rate (24 h)' }, rate(job)),
          h('td', { 'data-label': 'Missed', class: 'num' }, count(job.runs_missed, 'warn')),
          h('td', { 'data-label': 'Failed', class: 'num' }, count(job.runs_failed, 'bad'))))))));
  }

  replace(body, h('p', { class: 'muted' }, 'Loading…'));
  return { el, update };
}
