// violations.js — the "Active Violations" table: sortable columns, a
// specialization filter, a search, pages (it stays fast with thousands of
// rows: only the page shown is drawn), and a Sync button per row.
import { h, replace, srOnly } from './dom.js';
import { ISSUES, actionLabel, formatCount, formatDelta, formatShortDateTime, issueLabel, timeElement } from './format.js';

const COLUMNS = [
  { key: 'user', label: 'User', sort: (v) => v.user_id },
  { key: 'email', label: 'Email', sort: (v) => v.user_email || '' },
  { key: 'specialization', label: 'Specialization', sort: (v) => v.specialization || '' },
  { key: 'progress_level', label: 'Progress level', sort: (v) => v.progress_level, numeric: true },
  { key: 'license_level', label: 'License level', sort: (v) => v.license_level, numeric: true },
  { key: 'delta', label: 'Discrepancy', sort: (v) => v.delta, numeric: true },
  { key: 'issue_type', label: 'Issue', sort: (v) => issueLabel(v.issue_type) },
  { key: 'first_seen', label: 'First seen', sort: (v) => Date.parse(v.first_seen) || 0 },
  { key: 'recommended_action', label: 'Recommended action', sort: (v) => actionLabel(v.recommended_action) },
];
const PAGE_SIZES = [25, 50, 100];

export const violationKey = (v) => `${v.user_id}|${v.specialization}|${v.issue_type}`;

/** An email that may wrap after the @ rather than anywhere. */
function emailText(email) {
  if (!email) return '—';
  const at = email.indexOf('@');
  return at > 0 ? [email.slice(0, at), h('wbr'), email.slice(at)] : email;
}

function compare(column, dir) {
  return (a, b) => {
    const x = column.sort(a);
    const y = column.sort(b);
    const xNull = x === null || x === undefined;
    const yNull = y === null || y === undefined;
    let c = 0;
    if (xNull || yNull) c = xNull && yNull ? 0 : xNull ? 1 : -1; // missing values last either way
    else {
      c = (typeof x === 'string' ? x.localeCompare(y) : x - y) * dir;
    }
    return c || a.user_id - b.user_id || String(a.specialization).localeCompare(String(b.specialization));
  };
}

/**
 * The table. `onSync(violation, name, started)` confirms and runs the repair
 * (calling `started()` once it is confirmed) and resolves true when the row is
 * gone; `names(ids)` resolves to a Map of user id → name for the rows
 * shown (names are not part of a violation object).
 */
export function createViolations({ onSync, names }) {
  let all = [];
  let specs = [];
  let checked = false;
  let sortKey = 'first_seen';
  let sortDir = 1;
  let spec = '';
  let issue = '';
  let query = '';
  let page = 0;
  let pageSize = PAGE_SIZES[0];
  const nameOf = new Map();
  const busy = new Set();

  const title = h('h2', { id: 'violations-title', tabindex: '-1' }, 'Active Violations (0)');
  const note = h('p', { class: 'muted small', hidden: true });
  const specSelect = h('select', { id: 'violations-spec', onchange: () => { spec = specSelect.value; page = 0; render(); } });
  const issueSelect = h('select', { id: 'violations-issue', onchange: () => { issue = issueSelect.value; page = 0; render(); } },
    h('option', { value: '' }, 'All issues'),
    Object.keys(ISSUES).map((t) => h('option', { value: t }, issueLabel(t))));
  const search = h('input', {
    id: 'violations-search', type: 'search', placeholder: 'Email, name or user id', autocomplete: 'off',
    oninput: () => { query = search.value.trim().toLowerCase(); page = 0; render(); },
  });
  const sizeSelect = h('select', { id: 'violations-size', onchange: () => { pageSize = Number(sizeSelect.value); page = 0; render(); } },
    PAGE_SIZES.map((n) => h('option', { value: String(n) }, `${n} per page`)));
  const toolbar = h('div', { class: 'toolbar' },
    h('div', { class: 'field field-inline' }, h('label', { for: 'violations-spec' }, 'Specialization'), specSelect),
    h('div', { class: 'field field-inline' }, h('label', { for: 'violations-issue' }, 'Issue'), issueSelect),
    h('div', { class: 'field field-inline field-grow' }, h('label', { for: 'violations-search' }, 'Search'), search),
    h('div', { class: 'field field-inline' }, h('label', { for: 'violations-size' }, 'Rows'), sizeSelect));
  const headRow = h('tr');
  const tbody = h('tbody');
  const table = h('table', { class: 'table violations-table', 'aria-labelledby': 'violations-title', 'aria-describedby': 'violations-range' },
    h('thead', {}, headRow), tbody);
  const tableWrap = h('div', { class: 'table-wrap' }, table);
  const range = h('p', { id: 'violations-range', class: 'muted small', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: () => { page--; render(); } }, '‹ Previous');
  const next = h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: () => { page++; render(); } }, 'Next ›');
  const firstBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': 'First page', onclick: () => { page = 0; render(); } }, '«');
  const lastBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': 'Last page', onclick: () => { page = Infinity; render(); } }, '»');
  const pageLabel = h('span', { class: 'page-label' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Violation pages' }, firstBtn, prev, pageLabel, next, lastBtn);
  const healthy = h('div', { class: 'banner banner-success', 'data-testid': 'healthy-banner', hidden: true },
    h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '✓'),
    h('span', {}, h('strong', {}, 'System Healthy'), ' — no consistency violations detected'));
  const noMatch = h('p', { class: 'empty-filter muted', hidden: true }, 'No violations match this filter.');
  const results = h('div', { class: 'violations-results' }, toolbar, tableWrap, noMatch, h('div', { class: 'table-footer' }, range, pager));
  const el = h('div', { class: 'violations', 'data-testid': 'violations' },
    h('div', { class: 'card-head' }, title), note, healthy, results);

  function drawHead() {
    replace(headRow, COLUMNS.map((c) => {
      const active = c.key === sortKey;
      const ariaSort = active ? (sortDir > 0 ? 'ascending' : 'descending') : 'none';
      return h('th', { scope: 'col', 'aria-sort': ariaSort, class: c.numeric ? 'num' : null },
        h('button', {
          type: 'button', class: 'sort', 'data-sort': c.key,
          onclick: () => {
            if (sortKey === c.key) sortDir = -sortDir;
            else { sortKey = c.key; sortDir = 1; }
            page = 0;
            render();
          },
        }, c.label, h('span', { class: `sort-icon${active ? ' active' : ''}`, 'aria-hidden': 'true' }, active ? (sortDir > 0 ? '▲' : '▼') : '↕')));
    }), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')));
  }

  function filtered() {
    return all.filter((v) => {
      if (spec && v.specialization !== spec) return false;
      if (issue && v.issue_type !== issue) return false;
      if (!query) return true;
      const name = nameOf.get(v.user_id);
      return String(v.user_id) === query.replace(/^#/, '')
        || (v.user_email || '').toLowerCase().includes(query)
        || (typeof name === 'string' && name.toLowerCase().includes(query));
    });
  }

  function userCell(v) {
    const name = nameOf.get(v.user_id);
    return h('td', { 'data-label': 'User', class: 'cell-user' },
      h('div', { class: 'user' },
        h('span', { class: 'user-name' }, typeof name === 'string' && name ? name : `User ${v.user_id}`),
        h('span', { class: 'user-id muted' }, `#${v.user_id}`)));
  }

  function row(v) {
    const key = violationKey(v);
    const who = nameOf.get(v.user_id) || v.user_email || `user ${v.user_id}`;
    const deltaClass = typeof v.delta === 'number' ? (v.delta > 0 ? 'delta delta-pos' : v.delta < 0 ? 'delta delta-neg' : 'delta') : 'delta delta-none';
    const deltaWords = typeof v.delta === 'number'
      ? (v.delta > 0 ? ' (progress ahead of license)' : v.delta < 0 ? ' (license ahead of progress)' : '')
      : ' (one side missing)';
    const syncing = busy.has(key);
    return h('tr', { 'data-key': key, 'data-user-id': String(v.user_id) },
      userCell(v),
      h('td', { 'data-label': 'Email', class: 'cell-email' }, emailText(v.user_email)),
      h('td', { 'data-label': 'Specialization' }, h('span', { class: 'tag' }, v.specialization)),
      h('td', { 'data-label': 'Progress level', class: 'num' }, v.progress_level ?? '—'),
      h('td', { 'data-label': 'License level', class: 'num' }, v.license_level ?? '—'),
      h('td', { 'data-label': 'Discrepancy', class: 'num' }, h('span', { class: deltaClass }, formatDelta(v.delta)), srOnly(deltaWords)),
      h('td', { 'data-label': 'Issue' }, h('span', { class: `pill pill-issue pill-${v.issue_type}` }, issueLabel(v.issue_type))),
      h('td', { 'data-label': 'First seen', class: 'nowrap' }, timeElement(v.first_seen, formatShortDateTime(v.first_seen))),
      h('td', { 'data-label': 'Recommended action' }, actionLabel(v.recommended_action)),
      h('td', { class: 'cell-action' },
        // No sync repairs these pairs (duplicate rows, unknown specialization, invalid level).
        v.recommended_action === 'manual_review'
          ? h('span', { class: 'pill pill-warn review-note', title: 'Never repaired automatically: fix the rows by hand' }, 'Needs review')
          : h('button', {
          // aria-disabled, not disabled: a disabled button would lose the keyboard focus.
          type: 'button', class: 'btn btn-secondary btn-small sync-button', 'data-key': key, 'aria-disabled': syncing ? 'true' : null,
          'aria-label': `Sync ${v.specialization} for ${who}`,
          onclick: () => sync(v),
        }, syncing ? 'Syncing…' : 'Sync')));
  }

  async function sync(v) {
    const key = violationKey(v);
    if (busy.has(key)) return;
    const index = [...tbody.querySelectorAll('.sync-button')].findIndex((b) => b.dataset.key === key);
    let done = false;
    try {
      done = await onSync(v, nameOf.get(v.user_id), () => {
        busy.add(key);
        render();
      });
    } finally {
      busy.delete(key);
      render();
    }
    if (done && (document.activeElement === document.body || !document.activeElement)) {
      // The row is gone: keep the keyboard where it was, on the next row's button.
      const buttons = tbody.querySelectorAll('.sync-button');
      if (buttons.length) buttons[Math.min(index, buttons.length - 1)].focus();
      else title.focus();
    }
  }

  async function fetchNames(rows) {
    const missing = [...new Set(rows.map((v) => v.user_id))].filter((id) => !nameOf.has(id));
    if (!missing.length) return;
    for (const id of missing) nameOf.set(id, null); // asked for; null until known
    const found = await names(missing);
    let changed = false;
    for (const [id, name] of found) {
      if (typeof name === 'string') {
        nameOf.set(id, name);
        changed = true;
      }
    }
    if (changed) render();
  }

  function render() {
    const focusedKey = el.contains(document.activeElement) && document.activeElement.classList.contains('sync-button')
      ? document.activeElement.dataset.key : null;
    title.textContent = `Active Violations (${formatCount(all.length)})`;
    const empty = checked && all.length === 0;
    healthy.hidden = !empty;
    results.hidden = all.length === 0;
    if (all.length === 0) {
      tbody.replaceChildren();
      return;
    }
    const rows = filtered().sort(compare(COLUMNS.find((c) => c.key === sortKey), sortDir));
    const pages = Math.max(1, Math.ceil(rows.length / pageSize));
    page = Math.max(0, Math.min(page, pages - 1));
    const start = page * pageSize;
    const shown = rows.slice(start, start + pageSize);
    drawHead();
    tbody.replaceChildren(...shown.map(row));
    noMatch.hidden = rows.length > 0;
    tableWrap.hidden = rows.length === 0;
    range.textContent = rows.length
      ? `Showing ${formatCount(start + 1)}–${formatCount(start + shown.length)} of ${formatCount(rows.length)}`
        + (rows.length !== all.length ? ` (filtered from ${formatCount(all.length)})` : '')
      : '';
    pageLabel.textContent = `Page ${formatCount(page + 1)} of ${formatCount(pages)}`;
    prev.disabled = firstBtn.disabled = page === 0;
    next.disabled = lastBtn.disabled = page >= pages - 1;
    pager.hidden = pages <= 1;
    if (focusedKey) {
      const again = [...tbody.querySelectorAll('.sync-button')].find((b) => b.dataset.key === focusedKey);
      if (again) again.focus();
    }
    fetchNames(shown).catch(() => {});
  }

  function drawSpecs() {
    const inData = new Map();
    for (const v of all) inData.set(v.specialization, (inData.get(v.specialization) || 0) + 1);
    const ids = [...new Set([...specs.map((s) => s.id), ...inData.keys()])].sort();
    if (spec && !ids.includes(spec)) ids.push(spec);
    const label = (id) => {
      const s = specs.find((x) => x.id === id);
      const n = inData.get(id) || 0;
      return `${s && s.name && s.name !== id ? `${s.name} (${id})` : id} — ${formatCount(n)}`;
    };
    replace(specSelect,
      h('option', { value: '' }, `All specializations — ${formatCount(all.length)}`),
      ids.map((id) => h('option', { value: id }, label(id))));
    specSelect.value = spec;
  }

  /** New data: the open violations (minus any repaired on this page), whether a
   * check has run, the specializations, and a note for the heading. */
  function update(violations, { hasCheck, specializations, remark } = {}) {
    all = Array.isArray(violations) ? violations : [];
    checked = !!hasCheck;
    if (Array.isArray(specializations)) specs = specializations;
    note.textContent = remark || '';
    note.hidden = !remark;
    drawSpecs();
    render();
  }

  drawHead();
  return { el, update };
}
