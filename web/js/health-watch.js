// health-watch.js — the health page's Watcher card (watch.md): the capture
// mode, the kind of the last recorded run, the last full sweep, the detection
// lag, the pending changes and the divergences a full sweep found, from the
// `watch` and `last_check_kind` fields of /health/status.
import { card, h, replace } from './dom.js';
import { formatCount, formatRelative, timeElement } from './format.js';

/** "120 ms", "1.4 s", "12 s", or "—" before the first batch is applied. */
export function formatLag(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
}

/** A time as "5 minutes ago", the exact time in its <time> element's title. */
function relativeTime(value) {
  return value ? timeElement(value, formatRelative(value)) : 'none yet';
}

/** The card, hidden until `draw(status)`. */
export function createWatchPanel() {
  const off = h('p', { class: 'muted', 'data-testid': 'watch-off', hidden: true },
    'Watcher off: every scheduled check reads every pair');
  const value = (key, live) => h('dd', { 'data-watch': key, 'aria-live': live ? 'polite' : 'off' }, '—');
  const values = {
    mode: value('mode', true),
    lastRun: value('last-run', true),
    lastFull: value('last-full-sweep', false),
    lag: value('detection-lag', false),
    pending: value('pending', false),
    divergences: value('divergences', true),
  };
  const facts = h('dl', { class: 'watch-facts', 'data-testid': 'watch-facts', hidden: true },
    h('div', {}, h('dt', {}, 'Mode'), values.mode),
    h('div', {}, h('dt', {}, 'Last run'), values.lastRun),
    h('div', {}, h('dt', {}, 'Last full sweep'), values.lastFull),
    h('div', {}, h('dt', {}, 'Detection lag'), values.lag),
    h('div', {}, h('dt', {}, 'Pending changes'), values.pending),
    h('div', {}, h('dt', {}, 'Divergences'), values.divergences));
  const divergenceText = h('span', { class: 'banner-text' });
  // A live region of its own: shown (and read out) when a full sweep has
  // found the watcher wrong.
  const divergence = h('div', { class: 'watch-divergence-box', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const alert = h('div', { class: 'banner banner-error', 'data-testid': 'watch-divergence', hidden: true },
    h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '!'), divergenceText);
  divergence.append(alert);
  const watchCard = card('Watcher', h('div', { class: 'watch' }, off, facts, divergence), { id: 'watch-card', className: 'card-wide', testid: 'watch-card' });
  watchCard.hidden = true;

  /** Draw status `s` (/health/status): its `watch` when the watcher is on. */
  function draw(s) {
    const w = s && s.watch;
    // Before the first check the status says nothing of the watcher (the empty state speaks).
    watchCard.hidden = !w && !(s && s.last_check);
    off.hidden = !!w;
    facts.hidden = !w;
    watchCard.dataset.watch = w ? 'on' : 'off';
    if (!w) {
      alert.hidden = true;
      return;
    }
    values.mode.textContent = w.mode || '—';
    values.lastRun.textContent = s.last_check ? (s.last_check_kind === 'incremental' ? 'incremental' : 'full') : 'none yet';
    replace(values.lastFull, relativeTime(w.last_full_sweep));
    replace(values.lag, formatLag(w.detection_lag_seconds),
      w.applied_at ? h('span', { class: 'muted small' }, ' (applied ', relativeTime(w.applied_at), ')') : '');
    values.pending.textContent = formatCount(w.pending_changes);
    const n = typeof w.divergences_total === 'number' ? w.divergences_total : 0;
    values.divergences.textContent = formatCount(n);
    values.divergences.classList.toggle('count-bad', n > 0);
    values.divergences.classList.toggle('count', n > 0);
    const text = n > 0
      ? `${formatCount(n)} divergence${n === 1 ? '' : 's'}: a full sweep found ${n === 1 ? 'a pair' : 'pairs'} the watcher had wrong `
        + '(its result replaced the watcher\'s state). See the day log ("Watch divergence" lines) for the pairs.'
      : '';
    if (divergenceText.textContent !== text) divergenceText.textContent = text;
    alert.hidden = n === 0;
  }

  return { card: watchCard, draw };
}
