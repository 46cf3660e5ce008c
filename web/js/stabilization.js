// stabilization.js — the Stabilization page (/admin/stabilization), linked from
// the health page: the go/no-go decision with its reasons, the baseline (and a
// button that creates one), current consistency against it, the trend verdict,
// scheduled checks run against expected, observations and action items. All
// of it is GET /health/stabilization-report; the baseline button is
// POST /health/baselines.
import { ApiError, get, post } from './api.js';
import { confirmDialog } from './dialog.js';
import { card, h, replace } from './dom.js';
import { formatCount, formatDateTime, formatRate, formatRelative, statusInfo, timeElement } from './format.js';

/** The decisions of operations.md with their colour, icon and wording. */
export const DECISIONS = {
  PROCEED: {
    key: 'proceed', label: 'PROCEED', icon: '✓',
    description: 'Stable: consistency, trend, scheduler and violations all pass. Safe to build on.',
  },
  INVESTIGATE: {
    key: 'investigate', label: 'INVESTIGATE', icon: '!',
    description: 'Not a clear failure, but something needs a look before going on.',
  },
  FIX_ISSUES: {
    key: 'fix-issues', label: 'FIX ISSUES', icon: '✕',
    description: 'Consistency problems must be fixed first.',
  },
  FIX_SCHEDULER: {
    key: 'fix-scheduler', label: 'FIX SCHEDULER', icon: '✕',
    description: 'The scheduled checks are not running as they should: fix the scheduler first.',
  },
  INSUFFICIENT_DATA: {
    key: 'insufficient', label: 'INSUFFICIENT DATA', icon: '?',
    description: 'Too little data in this window to decide yet.',
  },
};

const WINDOWS = [['24h', '24 h'], ['72h', '72 h'], ['7d', '7 d']];
const CRITERIA = [
  ['data', 'Data'], ['consistency', 'Consistency'], ['trend', 'Trend'],
  ['scheduler', 'Scheduler'], ['violations', 'Violations'],
];
const CRITERION_PILL = { pass: 'pill-ok', investigate: 'pill-warn', fail: 'pill-bad', insufficient: 'pill-info' };
const TREND_PILL = { stable: 'pill-ok', improving: 'pill-ok', degrading: 'pill-bad', insufficient_data: 'pill-info' };

function decisionInfo(d) {
  return DECISIONS[d] || DECISIONS.INSUFFICIENT_DATA;
}

/** A card whose id is also its test id. */
function panel(id, title, ...body) {
  return card(title, body, { id, testid: id });
}

function facts(rows) {
  return h('dl', { class: 'metrics' },
    rows.filter(Boolean).map(([label, value, key]) => [h('dt', {}, label), h('dd', { 'data-fact': key || null }, value)]));
}

/** "+1.25 points", "−0.40 points" (a real minus sign), or "—". */
function formatPoints(p) {
  if (typeof p !== 'number' || !Number.isFinite(p)) return '—';
  const n = Math.abs(p).toFixed(2);
  return p > 0 ? `+${n} points` : p < 0 ? `\u2212${n} points` : '±0.00 points';
}

function formatPercent(p) {
  return typeof p === 'number' && Number.isFinite(p) ? `${p.toFixed(1)}%` : '—';
}

function list(items, empty, testid) {
  return items && items.length
    ? h('ul', { class: 'plain-list', 'data-testid': testid }, items.map((t) => h('li', {}, t)))
    : h('p', { class: 'muted', 'data-testid': testid }, empty);
}

/** Draw the page into `main`; returns its teardown. */
export function mountStabilization(main) {
  let alive = true;
  let windowKey = '72h';
  let creating = false;
  let loadSeq = 0;

  const segments = WINDOWS.map(([key, label]) =>
    h('button', { type: 'button', class: 'segment', 'data-window': key, 'aria-pressed': String(key === windowKey), onclick: () => setWindow(key) }, label));
  const generated = h('span', { id: 'stabilization-generated' }, 'Loading the report…');
  const createButton = h('button', { type: 'button', class: 'btn btn-primary', id: 'create-baseline', onclick: () => createBaseline() }, 'Create baseline');
  const refreshButton = h('button', { type: 'button', class: 'btn btn-secondary', id: 'refresh-report', onclick: () => load() }, 'Refresh');
  const bannerText = h('span', { class: 'banner-text' });
  const banner = h('div', { class: 'banner banner-error', role: 'alert', hidden: true, 'data-testid': 'error-banner' },
    h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '!'), bannerText);
  const notice = h('p', { class: 'notice', role: 'status', hidden: true, 'data-testid': 'stabilization-notice' });
  const body = h('div', { class: 'stabilization-grid', 'aria-busy': 'true' },
    h('section', { class: 'card' }, h('p', { class: 'muted', role: 'status' }, 'Loading…')));

  main.replaceChildren(h('div', { class: 'page stabilization-page' },
    h('div', { class: 'page-head' },
      h('div', {},
        h('h1', {}, 'Stabilization'),
        h('p', { class: 'page-meta' }, generated, h('span', { class: 'dot', 'aria-hidden': 'true' }, '·'),
          h('a', { href: '/admin/health', 'data-route': '' }, 'Back to the Health Monitor'))),
      h('div', { class: 'page-actions' }, refreshButton, createButton)),
    h('div', { class: 'toolbar' },
      h('span', { class: 'field-label', id: 'window-label' }, 'Window'),
      h('div', { class: 'segmented', role: 'group', 'aria-labelledby': 'window-label' }, segments)),
    banner, notice, body));

  function setWindow(key) {
    windowKey = key;
    for (const s of segments) s.setAttribute('aria-pressed', String(s.dataset.window === key));
    load();
  }

  function decisionCard(r) {
    const info = decisionInfo(r.decision);
    return h('section', { class: `card card-wide decision decision-${info.key}`, id: 'decision', 'aria-labelledby': 'decision-title', 'data-testid': 'decision' },
      h('div', { class: 'card-head' },
        h('h2', { id: 'decision-title', class: 'card-title' }, 'Decision'),
        h('div', { class: `decision-badge decision-badge-${info.key}`, 'data-decision': r.decision, 'data-testid': 'decision-badge' },
          h('span', { class: 'status-icon', 'aria-hidden': 'true' }, info.icon),
          h('span', { class: 'status-label' }, info.label))),
      h('p', { class: 'status-description' }, info.description),
      h('h3', { class: 'subhead' }, 'Reasons'),
      list(r.reasons, 'No reasons given.', 'reasons'),
      h('ul', { class: 'criteria', 'aria-label': 'Criteria' },
        CRITERIA.map(([key, label]) => {
          const v = (r.criteria || {})[key] || 'insufficient';
          return h('li', { 'data-criterion': key },
            h('span', { class: 'criterion-name' }, label),
            h('span', { class: `pill ${CRITERION_PILL[v] || 'pill-info'}` }, v));
        })));
  }

  function baselineCard(r) {
    const b = r.baseline;
    if (!b) {
      return panel('baseline', 'Baseline',
        h('p', { 'data-testid': 'no-baseline' }, 'No baseline yet. Create one to record the current state as the reference the report compares against.'));
    }
    const st = statusInfo(b.status);
    return panel('baseline', `Baseline #${b.id}`,
      facts([
        ['Created', timeElement(b.created_at, `${formatDateTime(b.created_at)} (${formatRelative(b.created_at)})`)],
        ['Consistency', formatRate(b.consistency_rate), 'baseline-rate'],
        ['Status', h('span', { class: `pill pill-status-${st.key}` }, `${st.icon} ${st.label}`)],
        ['Violations', formatCount(b.inconsistent), 'baseline-violations'],
        ['Pairs checked', formatCount(b.total_checked)],
        b.note ? ['Note', b.note] : null,
      ]));
  }

  function currentCard(r) {
    const c = r.consistency || {};
    const v = r.violations || {};
    const change = c.change_from_baseline;
    const changeClass = typeof change !== 'number' ? '' : change < 0 ? 'rate-bad' : change > 0 ? 'rate-good' : '';
    const st = statusInfo(c.current_status);
    return panel('current', 'Current vs baseline',
      facts([
        ['Baseline consistency', formatRate(c.baseline_rate)],
        ['Current consistency', h('span', {}, formatRate(c.current_rate), ' ',
          h('span', { class: `pill pill-status-${st.key}` }, st.label)), 'current-rate'],
        ['Change', h('span', { class: changeClass }, formatPoints(change)), 'change'],
        ['Violations at baseline', formatCount(v.baseline)],
        ['Violations now', formatCount(v.current), 'current-violations'],
        ['New since baseline', h('span', { class: v.new_since_baseline ? 'count count-bad' : 'count' }, formatCount(v.new_since_baseline)), 'new-violations'],
        ['Resolved since baseline', h('span', { class: 'count' }, formatCount(v.resolved_since_baseline)), 'resolved-violations'],
      ]));
  }

  function trendCard(r) {
    const c = r.consistency || {};
    const verdict = c.trend || 'insufficient_data';
    return panel('trend-card', 'Trend',
      h('p', {}, h('span', { class: `pill ${TREND_PILL[verdict] || 'pill-info'}`, 'data-testid': 'trend-verdict' }, verdict.replace('_', ' '))),
      c.trend_explanation ? h('p', { class: 'muted small' }, c.trend_explanation) : null,
      facts([
        ['Checks in the window', formatCount(c.checks)],
        ['Average', formatRate(c.average)],
        ['Lowest / highest', `${formatRate(c.min)} / ${formatRate(c.max)}`],
        ['Standard deviation', typeof c.stddev === 'number' ? `${c.stddev.toFixed(2)} points` : '—'],
        ['Slope', typeof c.slope_per_hour === 'number' ? `${formatPoints(c.slope_per_hour)} per hour` : '—'],
      ]));
  }

  function schedulerCard(r) {
    const s = r.scheduler || {};
    const rate = s.success_rate;
    const rateClass = typeof rate !== 'number' ? '' : rate >= 99 ? 'rate-good' : rate >= 95 ? 'rate-warn' : 'rate-bad';
    const state = !s.started ? 'never started' : s.running ? 'running' : 'not running';
    return panel('scheduler-summary', 'Scheduled checks',
      h('p', { class: 'big-number', 'data-testid': 'checks-run' }, formatCount(s.checks_run),
        h('span', { class: 'big-number-unit' }, ` of ${formatCount(s.checks_expected)} expected`)),
      facts([
        ['Scheduler', h('span', { class: `pill ${s.running ? 'pill-ok' : 'pill-bad'}` }, state), 'scheduler-state'],
        ['Success rate', h('span', { class: `rate ${rateClass}` }, formatPercent(rate)), 'success-rate'],
        ['Missed', h('span', { class: s.runs_missed ? 'count count-warn' : 'count' }, formatCount(s.runs_missed))],
        ['Failed', h('span', { class: s.runs_failed ? 'count count-bad' : 'count' }, formatCount(s.runs_failed))],
        s.runs_interrupted ? ['Interrupted', formatCount(s.runs_interrupted)] : null,
        ['Last success', s.last_success ? timeElement(s.last_success, formatRelative(s.last_success)) : 'none'],
      ]),
      s.errors && s.errors.length
        ? h('details', {}, h('summary', {}, `Errors (${formatCount(s.errors_total)})`),
          list(s.errors.map((e) => `${e.job} due ${formatDateTime(e.due_at)}: ${e.status}${e.error ? ` — ${e.error}` : ''}`), '', 'scheduler-errors'))
        : null);
  }

  function notesCard(r) {
    const o = r.observations || {};
    return h('section', { class: 'card card-wide', id: 'observations', 'aria-labelledby': 'observations-title', 'data-testid': 'observations' },
      h('h2', { id: 'observations-title', class: 'card-title' }, 'Observations and action items'),
      h('div', { class: 'notes-grid' },
        h('div', {}, h('h3', { class: 'subhead' }, 'Going well'), list(o.positive, 'Nothing to report.', 'positive')),
        h('div', {}, h('h3', { class: 'subhead' }, 'Issues'), list(o.issues, 'None.', 'issues')),
        h('div', {}, h('h3', { class: 'subhead' }, 'Action items'), list(r.action_items, 'None.', 'action-items'))));
  }

  function draw(r) {
    replace(generated, 'Report of the last ', r.window, ' · generated ', timeElement(r.generated_at, formatDateTime(r.generated_at)));
    replace(body, decisionCard(r), baselineCard(r), currentCard(r), trendCard(r), schedulerCard(r), notesCard(r));
    body.setAttribute('aria-busy', 'false');
  }

  async function load() {
    const seq = ++loadSeq;
    body.setAttribute('aria-busy', 'true');
    try {
      const r = await get(`/api/v1/health/stabilization-report?window=${encodeURIComponent(windowKey)}`);
      if (!alive || seq !== loadSeq) return;
      banner.hidden = true;
      draw(r);
    } catch (e) {
      if (!alive || seq !== loadSeq || (e instanceof ApiError && e.status === 401)) return;
      bannerText.textContent = `Could not load the stabilization report: ${e.message}`;
      banner.hidden = false;
      body.setAttribute('aria-busy', 'false');
    }
  }

  async function createBaseline() {
    if (creating) return;
    const ok = await confirmDialog({
      title: 'Create a baseline?',
      body: [h('p', {}, 'This runs a fresh recorded check now and makes it the reference: the report then compares consistency and violations against it.'),
        h('p', { class: 'muted small' }, 'Files are written under logs/baselines on the server.')],
      confirmLabel: 'Create baseline',
    });
    if (!ok || !alive) return;
    creating = true;
    createButton.disabled = true;
    createButton.textContent = 'Creating...';
    notice.hidden = true;
    try {
      const b = await post('/api/v1/health/baselines', {});
      if (!alive) return;
      notice.textContent = `Baseline #${b.id} created: ${formatRate(b.consistency_rate)} consistency, ${formatCount(b.inconsistent)} violation${b.inconsistent === 1 ? '' : 's'}.`;
      notice.hidden = false;
      await load();
    } catch (e) {
      if (alive && !(e instanceof ApiError && e.status === 401)) {
        bannerText.textContent = `Could not create a baseline: ${e.message}`;
        banner.hidden = false;
      }
    } finally {
      creating = false;
      if (alive) {
        createButton.disabled = false;
        createButton.textContent = 'Create baseline';
      }
    }
  }

  load();
  return () => {
    alive = false;
  };
}
