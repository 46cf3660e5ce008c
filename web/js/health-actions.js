// health-actions.js — the health page's actions: Run Check Now (and "Run first
// check now" on the empty state) and the per-row Sync, each announced and
// followed by a refresh.
import { ApiError, post } from './api.js';
import { confirmDialog } from './dialog.js';
import { h } from './dom.js';
import { actionLabel, formatCount, formatRate } from './format.js';

/**
 * The two check buttons and the row repair. `say` and `showError` are the
 * page's messages (health-messages.js), `refresh` reloads the page, and
 * `markRepaired`/`redrawViolations` hide a repaired row (health-violations.js).
 */
export function createActions({ isAlive, say, showError, refresh, markRepaired, redrawViolations }) {
  let checking = false;
  const runButton = h('button', { type: 'button', class: 'btn btn-primary', id: 'run-check', onclick: () => runCheck() }, 'Run Check Now');
  const firstCheck = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => runCheck() }, 'Run first check now');

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
      if (!isAlive()) return;
      say(`Check complete: ${formatRate(report.consistency_rate)} consistency, ${formatCount(report.inconsistent)} `
        + `violation${report.inconsistent === 1 ? '' : 's'} in ${formatCount(report.total_checked)} pairs.`, { visible: true });
      await refresh();
    } catch (e) {
      if (isAlive() && !(e instanceof ApiError && e.status === 401)) showError('The check could not run', e);
    } finally {
      checking = false;
      runButton.disabled = false;
      runButton.textContent = 'Run Check Now';
      firstCheck.disabled = false;
      firstCheck.textContent = 'Run first check now';
      for (const b of [runButton, firstCheck]) b.removeAttribute('aria-busy');
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

  return { runButton, firstCheck, runCheck, syncRow };
}
