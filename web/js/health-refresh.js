// health-refresh.js — the health page's auto-refresh: a reload every 30 s (every
// 10 s after a failed one) with its countdown, paused while the tab is hidden;
// a reload asked for during one runs once more after it. While the watcher
// runs, the status alone is also fetched every 2 s (one request at a time),
// so drift shows within seconds without reloading everything.
import { ApiError } from './api.js';
import { h } from './dom.js';

/** Seconds between automatic refreshes, and after a failed one. */
const REFRESH_SECONDS = 30;
const RETRY_SECONDS = 10;
/** Seconds between the status-only refreshes while the watcher runs. */
export const LIVE_SECONDS = 2;

/** The countdown and, for screen readers, what it is doing. */
function createCountdown() {
  // The countdown ticks every second, too often to be read out: its live
  // region says only what changes (refreshing every 30 s, paused, retrying).
  const countdown = h('span', { id: 'refresh-countdown', class: 'countdown', role: 'timer', 'aria-live': 'off' });
  const refreshState = h('span', { id: 'refresh-state', class: 'sr-only', 'aria-live': 'polite' });
  return {
    countdown,
    refreshState,
    /** Show the seconds left until `deadline` (ms), or that refreshing is paused. */
    show(failing, deadline, live) {
      const state = document.hidden ? 'Auto-refresh paused while this tab is hidden.'
        : failing ? `Refreshing failed; retrying every ${RETRY_SECONDS} seconds.`
          : live ? `Auto-refresh every ${REFRESH_SECONDS} seconds; the status every ${LIVE_SECONDS} seconds while the watcher runs.`
            : `Auto-refresh every ${REFRESH_SECONDS} seconds.`;
      if (refreshState.textContent !== state) refreshState.textContent = state;
      if (document.hidden) {
        countdown.textContent = 'Auto-refresh paused';
        return;
      }
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      countdown.textContent = failing ? `Retrying in ${left} s` : `Next refresh in ${left} s`;
    },
  };
}

/**
 * The auto-refresh, with its countdown and screen-reader state. `load`
 * reloads the page's data; then `onLoaded(wasFailing)` or, unless the session
 * is over (401), `onFailed(e)`. After `setLive(true)`, `liveLoad` (the status
 * alone) also runs every LIVE_SECONDS between reloads; when it fails, a full
 * reload runs at once (and reports the failure). `stop` clears the timer and
 * the listener.
 */
export function createAutoRefresh({ load, liveLoad, isAlive, onLoaded, onFailed }) {
  let loading = null;
  let again = false;
  let lastAttempt = 0;
  let deadline = 0;
  let pausedFor = null;
  let ticker = null;
  let failing = false;
  let live = false;
  let liveLoading = null;
  let liveDeadline = 0;
  const display = createCountdown();
  const showCountdown = () => display.show(failing, deadline, live);

  /** The status alone, at most one request at a time. */
  function poll() {
    liveLoading = (async () => {
      try {
        await liveLoad();
      } catch (e) {
        if (!isAlive() || (e instanceof ApiError && e.status === 401)) return;
        refresh();
      } finally {
        liveLoading = null;
        liveDeadline = Date.now() + LIVE_SECONDS * 1000;
      }
    })();
  }

  async function attempt() {
    try {
      await load();
      if (!isAlive()) return;
      onLoaded(failing);
      failing = false;
      schedule(REFRESH_SECONDS);
    } catch (e) {
      if (!isAlive()) return;
      if (e instanceof ApiError && e.status === 401) return; // the session is over: app.js shows sign-in
      failing = true;
      onFailed(e);
      schedule(RETRY_SECONDS);
    }
  }

  /** Reload everything now; a call during a reload runs one more after it. */
  async function refresh() {
    if (loading) {
      again = true;
      return loading;
    }
    lastAttempt = Date.now();
    display.countdown.textContent = 'Refreshing…';
    loading = attempt();
    try {
      await loading;
    } finally {
      loading = null;
    }
    if (again && isAlive()) {
      again = false;
      await refresh();
    }
  }

  function tick() {
    if (loading || document.hidden) return;
    if (Date.now() >= deadline) refresh();
    else {
      showCountdown();
      if (live && liveLoad && !failing && !liveLoading && Date.now() >= liveDeadline) poll();
    }
  }

  function schedule(seconds) {
    deadline = Date.now() + seconds * 1000;
    if (!document.hidden && !ticker) ticker = setInterval(tick, 1000);
    showCountdown();
  }

  function onVisibility() {
    if (document.hidden) {
      pausedFor = Math.max(0, deadline - Date.now());
      clearInterval(ticker);
      ticker = null;
      showCountdown();
      return;
    }
    if (Date.now() - lastAttempt >= REFRESH_SECONDS * 1000) {
      refresh();
    } else {
      deadline = Date.now() + (pausedFor ?? 0);
      if (!ticker) ticker = setInterval(tick, 1000);
      showCountdown();
    }
  }
  document.addEventListener('visibilitychange', onVisibility);

  return {
    countdown: display.countdown,
    refreshState: display.refreshState,
    refresh,
    /** Fetch the status every LIVE_SECONDS between reloads (`on`: the watcher runs), or stop doing so. */
    setLive(on) {
      if (on && !live) liveDeadline = Date.now() + LIVE_SECONDS * 1000;
      live = !!on;
    },
    stop() {
      clearInterval(ticker);
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
