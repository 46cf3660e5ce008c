// health-actions.js — the health page's actions: Run Check Now (and "Run first
// check now" on the empty state), Full sweep while the watcher runs, and the
// per-row Sync, each announced and followed by a refresh.
import { ApiError, post } from './api.js';
import { confirmDialog } from './dialog.js';
import { h } from './dom.js';
import { actionLabel, formatCount, formatRate, issueLabel } from './format.js';

/** At most this many divergent pairs are named in the result message. */
const DIVERGENT_NAMED = 3;

/** What a check-now answer (`report`, of a full sweep when `full`) says beyond its numbers. */
function checkOutcome(report, full) {
  const n = report.divergences || 0;
  if (n > 0) {
    const pairs = Array.isArray(report.divergent_pairs) ? report.divergent_pairs : [];
    const side = (t) => (t ? issueLabel(t).toLowerCase() : 'consistent');
    const named = pairs.slice(0, DIVERGENT_NAMED)
      .map((d) => `user ${d.user_id} ${d.specialization}: watcher ${side(d.watcher)}, full sweep ${side(d.full)}`);
    const more = pairs.length > named.length ? `, and ${formatCount(pairs.length - named.length)} more` : '';
    return ` ${formatCount(n)} divergence${n === 1 ? '' : 's'}: the watcher had ${n === 1 ? 'this pair' : 'these pairs'} wrong`
      + `${named.length ? ` (${named.join('; ')}${more})` : ''}; see the day log.`;
  }
  if (full || report.kind === 'full') return full ? ' No divergence from the watcher.' : '';
  return ' Recorded the watcher\'s state (incremental run).';
}

/**
 * The two check buttons and the row repair. `say` and `showError` are the
 * page's messages (health-messages.js), `refresh` reloads the page, and
 * `markRepaired`/`redrawViolations` hide a repaired row (health-violations.js).
 */
export function createActions({ isAlive, say, showError, refresh, markRepaired, redrawViolations }) {
  let checking = false;
  const runButton = h('button', { type: 'button', class: 'btn btn-primary', id: 'run-check', onclick: () => runCheck() }, 'Run Check Now');
  const firstCheck = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => runCheck() }, 'Run first check now');
  // Shown only while the watcher runs (setWatching): without it every check is full.
  const fullButton = h('button', {
    type: 'button', class: 'btn btn-secondary', id: 'run-full-sweep', hidden: true, onclick: () => runCheck({ full: true }),
    title: 'Read every pair and compare the result with the watcher\'s state',
  }, 'Full sweep');
  const labels = new Map([[runButton, 'Run Check Now'], [firstCheck, 'Run first check now'], [fullButton, 'Full sweep']]);

  async function runCheck({ full = false } = {}) {
    if (checking) return;
    checking = true;
    const busy = full ? [fullButton] : [runButton, firstCheck];
    for (const b of labels.keys()) b.disabled = true;
    for (const b of busy) {
      b.textContent = full ? 'Sweeping...' : 'Checking...';
      b.setAttribute('aria-busy', 'true');
    }
    say(full ? 'Running a full sweep…' : 'Running a health check…');
    try {
      const report = await post(`/api/v1/health/check-now${full ? '?full=true' : ''}`);
      if (!isAlive()) return;
      say(`${full ? 'Full sweep' : 'Check'} complete: ${formatRate(report.consistency_rate)} consistency, ${formatCount(report.inconsistent)} `
        + `violation${report.inconsistent === 1 ? '' : 's'} in ${formatCount(report.total_checked)} pairs.${checkOutcome(report, full)}`, { visible: true });
      await refresh();
    } catch (e) {
      if (isAlive() && !(e instanceof ApiError && e.status === 401)) showError(full ? 'The full sweep could not run' : 'The check could not run', e);
    } finally {
      checking = false;
      for (const [b, label] of labels) {
        b.disabled = false;
        b.textContent = label;
        b.removeAttribute('aria-busy');
      }
    }
  }

  /** Confirm, then repair the pair of violation `v`; true when it was repaired. */
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
    if (!ok || !isAlive()) return false;
    started();
    try {
      const res = await post(`/api/v1/licenses/admin/sync/user/${encodeURIComponent(v.user_id)}`, { specialization: v.specialization });
      const item = (res.results || []).find((r) => r.specialization === v.specialization) || (res.results || [])[0];
      if ((res.failed_count || 0) > 0 || (item && item.success === false)) {
        say(`Sync failed for ${who} (${v.specialization}): ${item && item.error ? item.error : 'the pair could not be repaired'}.`, { visible: true });
        return false;
      }
      markRepaired(v);
      const change = item && item.action && item.action !== 'none' && item.old_level !== undefined
        ? ` (${String(item.action).replace(/_/g, ' ')}: level ${item.old_level ?? '—'} → ${item.new_level ?? '—'})`
        : item && item.action === 'none' ? ' (already consistent)' : '';
      say(`Synced ${who} — ${v.specialization}${change}.`, { visible: true });
      redrawViolations();
      await refresh();
      return true;
    } catch (e) {
      if (isAlive() && !(e instanceof ApiError && e.status === 401)) say(`Sync failed for ${who} (${v.specialization}): ${e.message}`, { visible: true });
      return false;
    }
  }

  return {
    runButton,
    firstCheck,
    fullButton,
    runCheck,
    syncRow,
    /** Show Full sweep while the watcher runs (`on`). */
    setWatching(on) {
      fullButton.hidden = !on;
    },
  };
}
