// health-messages.js — what the health page says besides its cards: the error
// banner with "Retry now", the visible notice and the screen-reader announcer.
import { h } from './dom.js';

/** The banner, notice and announcer; `onRetry` runs when "Retry now" is pressed. */
export function createMessages({ onRetry }) {
  const announcer = h('p', { id: 'health-announcer', class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const notice = h('p', { id: 'health-notice', class: 'notice', role: 'status', hidden: true });
  const bannerText = h('span', { class: 'banner-text' });
  const banner = h('div', { id: 'health-error', class: 'banner banner-error', role: 'alert', hidden: true, 'data-testid': 'error-banner' },
    h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '!'),
    bannerText,
    h('button', { type: 'button', class: 'btn btn-small btn-on-error', onclick: () => onRetry() }, 'Retry now'));

  return {
    banner,
    notice,
    announcer,
    /** Show "prefix: message of e" in the error banner. */
    showError(prefix, e) {
      bannerText.textContent = `${prefix}: ${e.message}`;
      banner.hidden = false;
    },
    hideError() {
      banner.hidden = true;
    },
    /** Tell screen readers (and, when visible, everyone: the notice is itself a live region). */
    say(text, { visible = false } = {}) {
      if (visible) {
        notice.textContent = text;
        notice.hidden = false;
      } else {
        announcer.textContent = text;
      }
    },
  };
}
