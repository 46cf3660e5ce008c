// gauge.js — the semicircle gauge of the consistency rate (0–100 %), coloured
// by status, with its zones at the server's thresholds and a legend.
import { h, svg } from './dom.js';
import { STATUS, formatRate, formatThreshold, statusInfo, statusOfRate, thresholds } from './format.js';

const CX = 100;
const CY = 100;
const R = 80;
const WIDTH = 18;

function point(fraction, radius = R) {
  const angle = Math.PI * (1 - fraction);
  return [CX + radius * Math.cos(angle), CY - radius * Math.sin(angle)];
}

function arc(fraction) {
  const [x0, y0] = point(0);
  const [x1, y1] = point(fraction);
  return `M ${x0.toFixed(2)} ${y0.toFixed(2)} A ${R} ${R} 0 0 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`;
}

/* The zones as a thin ring outside the track: critical, degraded, healthy. */
const ZONE_R = R + WIDTH / 2 + 5;
function zone(from, to, colour) {
  const [x0, y0] = point(from / 100, ZONE_R);
  const [x1, y1] = point(to / 100, ZONE_R);
  return svg('path', {
    d: `M ${x0.toFixed(2)} ${y0.toFixed(2)} A ${ZONE_R} ${ZONE_R} 0 0 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`,
    fill: 'none', stroke: colour, 'stroke-width': 3, class: 'gauge-zone',
  });
}

/** A gauge; update(rate, status) redraws it. `status` (the server's) picks the
 * colour when given, else the rate's status under the thresholds. The zones
 * and the legend follow the thresholds (format.js) at each update. */
export function createGauge() {
  const track = svg('path', { d: arc(1), class: 'gauge-track', fill: 'none', 'stroke-width': WIDTH });
  const value = svg('path', { d: '', class: 'gauge-value', fill: 'none', 'stroke-width': WIDTH, 'stroke-linecap': 'butt' });
  const number = svg('text', { x: CX, y: 86, 'text-anchor': 'middle', class: 'gauge-number' }, 'N/A');
  const caption = svg('text', { x: CX, y: 104, 'text-anchor': 'middle', class: 'gauge-caption' }, 'consistency');
  const zones = svg('g', { class: 'gauge-zones' });
  const graphic = svg('svg', { viewBox: '-8 -8 216 130', class: 'gauge-svg', role: 'img', 'aria-label': 'Consistency rate: not available' },
    track, value, zones, number, caption,
    svg('text', { x: 20, y: 120, 'text-anchor': 'middle', class: 'gauge-scale' }, '0'),
    svg('text', { x: 180, y: 120, 'text-anchor': 'middle', class: 'gauge-scale' }, '100'));

  const legend = h('ul', { class: 'legend', 'aria-label': 'Gauge colours' });
  let bands = '';

  /* The zones and the legend for the thresholds now, when they changed. */
  function drawBands() {
    const { healthy, degraded } = thresholds;
    if (bands === `${healthy}/${degraded}`) return;
    bands = `${healthy}/${degraded}`;
    const hi = formatThreshold(healthy);
    const lo = formatThreshold(degraded);
    zones.replaceChildren(zone(0, degraded, STATUS.critical.colour), zone(degraded, healthy, STATUS.degraded.colour),
      zone(healthy, 100, STATUS.healthy.colour));
    legend.replaceChildren(...[STATUS.healthy, STATUS.degraded, STATUS.critical].map((s) =>
      h('li', { 'data-status': s.key }, h('span', { class: `swatch swatch-${s.key}`, 'aria-hidden': 'true' }),
        `${s.label[0]}${s.label.slice(1).toLowerCase()} `,
        h('span', { class: 'muted' },
          s === STATUS.healthy ? `≥ ${hi}%` : s === STATUS.degraded ? `${lo}–${hi}%` : `< ${lo}%`))));
  }

  const el = h('div', { class: 'gauge', 'data-testid': 'gauge' }, graphic, legend);

  function update(rate, status) {
    drawBands();
    const known = typeof rate === 'number' && Number.isFinite(rate);
    const info = known ? (status && status !== 'unknown' ? statusInfo(status) : statusOfRate(rate)) : STATUS.unknown;
    const fraction = known ? Math.min(1, Math.max(0, rate / 100)) : 0;
    value.setAttribute('d', fraction > 0 ? arc(fraction) : '');
    value.setAttribute('stroke', info.colour);
    number.textContent = formatRate(known ? rate : null);
    number.classList.toggle('gauge-number-long', number.textContent.length > 6);
    el.dataset.status = info.key;
    graphic.setAttribute('aria-label', known
      ? `Consistency rate ${formatRate(rate)}, ${info.label.toLowerCase()}`
      : 'Consistency rate: not available');
  }

  update(null);
  return { el, update };
}
