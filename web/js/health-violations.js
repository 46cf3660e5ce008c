// health-violations.js — the health page's violations card: the open
// violations of the last check, fetched page by page once per check; the
// students' names, looked up a few at a time; and the rows repaired from this
// tab, hidden until a newer check says otherwise.
import { get } from './api.js';
import { h } from './dom.js';
import { formatCount, formatTime } from './format.js';
import { createViolations, violationKey } from './violations.js';

/** Rows repaired from this tab, hidden until a newer check says otherwise. */
const REPAIRED_KEY = 'lockstep.repairedSinceCheck';
const NAME_LOOKUPS_AT_ONCE = 6;
/* The status carries only the newest violations; the table pages through
 * /health/violations (at most 1,000 a request), up to this many rows. */
const VIOLATIONS_PAGE = 1000;
const VIOLATIONS_SHOWN = 50000;
/* While the watcher runs the open violations move between checks: the status
 * poll fetches them again when the watcher applied changes, at once while they
 * fit in one request, otherwise at most this often. */
const LIVE_REFETCH_MS = 10000;

/** What the open violations of status `s` depend on: its check and, with the watcher, its last applied batch. */
const violationsKey = (s) => `${s.last_check}|${s.watch ? s.watch.applied_at : ''}`;

function loadRepaired() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(REPAIRED_KEY) || 'null');
    if (saved && Array.isArray(saved.keys)) return { check: saved.check ?? null, keys: new Set(saved.keys.map(String)) };
  } catch {
    /* unreadable: start afresh */
  }
  return { check: null, keys: new Set() };
}

function saveRepaired(r) {
  try {
    sessionStorage.setItem(REPAIRED_KEY, JSON.stringify({ check: r.check, keys: [...r.keys] }));
  } catch {
    /* storage full or disabled: the rows come back on reload, nothing worse */
  }
}

async function eachLimited(items, limit, fn) {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await fn(queue.shift());
  });
  await Promise.all(workers);
}

async function lookupNames(ids) {
  const found = new Map();
  await eachLimited(ids, NAME_LOOKUPS_AT_ONCE, async (id) => {
    try {
      // The student as the domain's users table has it (in attached mode the
      // academy's: its ids are not those of Lockstep's accounts under /users).
      const u = await get(`/api/v1/users/${encodeURIComponent(id)}/progress`);
      if (u && typeof u.name === 'string' && u.name) found.set(id, u.name);
    } catch {
      /* unknown or unreadable: the row shows the id */
    }
  });
  return found;
}

async function fetchOpenViolations() {
  const list = [];
  for (let offset = 0; offset < VIOLATIONS_SHOWN; offset += VIOLATIONS_PAGE) {
    const page = await get(`/api/v1/health/violations?limit=${VIOLATIONS_PAGE}&offset=${offset}`);
    if (!Array.isArray(page)) break;
    list.push(...page);
    if (page.length < VIOLATIONS_PAGE) break;
  }
  return list;
}

/** The card; `onSync(v, name, started)` repairs one row (violations.js). */
export function createViolationsPanel({ onSync, isAlive }) {
  const repaired = loadRepaired();
  /* The open violations of the status `violationsOf` (violationsKey: its check and the watcher's last batch). */
  let violationList = [];
  let violationsOf = null;
  let fetchedAt = 0;
  let specs = null;
  let status = null;
  const violations = createViolations({ onSync, names: lookupNames });
  const card = h('section', { class: 'card card-wide', id: 'violations-card', 'aria-labelledby': 'violations-title' }, violations.el);

  /** Draw the rows of the status shown last, less those repaired since its check. */
  function draw() {
    if (!status) return;
    if (repaired.check !== status.last_check) {
      repaired.check = status.last_check;
      repaired.keys.clear();
      saveRepaired(repaired);
    }
    const open = violationList.filter((v) => !repaired.keys.has(violationKey(v)));
    const hidden = violationList.length - open.length;
    const beyond = status.total_violations > violationList.length
      ? `Showing the newest ${formatCount(violationList.length)} of ${formatCount(status.total_violations)} violations.` : '';
    violations.update(open, {
      hasCheck: !!status.last_check,
      specializations: specs,
      remark: [hidden ? `${formatCount(hidden)} repaired from this page since the last check (${formatTime(status.last_check)}); the next check confirms ${hidden === 1 ? 'it' : 'them'}.` : '', beyond]
        .filter(Boolean).join(' '),
    });
  }

  return {
    card,
    draw,
    /** Fetch the specializations (for the filter) until one fetch succeeds. */
    loadSpecs() {
      if (specs !== null) return;
      get('/api/v1/specializations').then((list) => {
        specs = Array.isArray(list) ? list : [];
        if (isAlive()) draw();
      }, () => {});
    },
    /**
     * The open violations of status `s`; fetched again only when a newer check
     * is recorded or the watcher applied changes (`live`: the status poll,
     * which refetches a list longer than one request at most every 10 s).
     * True when it fetched them.
     */
    async load(s, { live = false } = {}) {
      if (!s.last_check) {
        violationList = [];
        violationsOf = null;
        return false;
      }
      const key = violationsKey(s);
      if (violationsOf === key) return false;
      if (live && violationList.length >= VIOLATIONS_PAGE && Date.now() - fetchedAt < LIVE_REFETCH_MS) return false;
      violationList = await fetchOpenViolations();
      violationsOf = key;
      fetchedAt = Date.now();
      return true;
    },
    /** Draw the rows of status `s`. */
    show(s) {
      status = s;
      draw();
    },
    /** Hide row `v` until a check newer than the one shown. */
    markRepaired(v) {
      repaired.check = status ? status.last_check : null;
      repaired.keys.add(violationKey(v));
      saveRepaired(repaired);
    },
  };
}
