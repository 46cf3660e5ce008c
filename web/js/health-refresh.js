// health-refresh.js — the health page's auto-refresh: a reload every 30 s (every
// 10 s after a failed one) with its countdown, paused while the tab is hidden;
// a reload asked for during one runs once more after it.
import { ApiError } from './api.js';
import { h } from './dom.js';

/** Seconds between automatic refreshes, and after a failed one. */
const REFRESH_SECONDS = 30;
const RETRY_SECONDS = 10;

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
    show(failing, deadline) {
      const state = document.hidden ? 'Auto-refresh paused while this tab is hidden.'
        : failing ? `Refreshing failed; retrying every ${RETRY_SECONDS} seconds.`
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
 * is over (401), `onFailed(e)`. `stop` clears the timer and the listener.
 */
export function createAutoRefresh({ load, isAlive, onLoaded, onFailed }) {
  let loading = null;
  let again = false;
  let lastAttempt = 0;
  let deadline = 0;
  let pausedFor = null;
  let ticker = null;
  let failing = false;
  const display = createCountdown();
  const showCountdown = () => display.show(failing, deadline);

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
    else showCountdown();
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
    stop() {
      clearInterval(ticker);
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
