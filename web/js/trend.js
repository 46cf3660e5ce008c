// trend.js — the consistency trend chart: one point per recorded check from
// /health/history over 24 h, 72 h or 7 d, the server's thresholds drawn,
// time and value shown on hover or with the arrow keys.
import { h, svg, replace } from './dom.js';
import { formatDateTime, formatRate, formatThreshold, statusInfo, statusOfRate, thresholds as bands } from './format.js';

export const RANGES = {
  '24h': { label: '24 h', ms: 24 * 3600e3, words: 'the last 24 hours', tickHours: 4,
    tick: new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' }) },
  '72h': { label: '72 h', ms: 72 * 3600e3, words: 'the last 72 hours', tickHours: 12,
    tick: new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric' }) },
  '7d': { label: '7 d', ms: 7 * 86400e3, words: 'the last 7 days', tickHours: 24,
    tick: new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' }) },
};

const MARGIN = { left: 48, right: 18, top: 14, bottom: 30 };

function niceStep(span) {
  for (const step of [0.5, 1, 2, 2.5, 5, 10, 20, 25, 50]) if (span / step <= 6) return step;
  return 50;
}

/** The chart; `onRangeChange(key)` runs when the viewer picks another range.
 * update(history, range) redraws with /health/history's rows (newest first). */
export function createTrend({ onRangeChange }) {
  let points = [];
  let range = '24h';
  let now = Date.now();
  let selected = -1;
  let geometry = null;

  const buttons = Object.entries(RANGES).map(([key, r]) =>
    h('button', {
      type: 'button', class: 'segment', 'data-range': key, 'aria-pressed': key === range ? 'true' : 'false',
      onclick: () => {
        if (key !== range) onRangeChange(key);
      },
    }, r.label));
  const toolbar = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' }, buttons);
  const plot = h('div', { class: 'trend-plot' });
  const tooltip = h('div', { class: 'trend-tooltip', role: 'tooltip', id: 'trend-tooltip', hidden: true });
  const chart = h('div', { class: 'trend-chart' }, plot, tooltip);
  const summary = h('p', { class: 'trend-summary muted' });
  const live = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  const el = h('div', { class: 'trend', 'data-testid': 'trend' }, toolbar, chart, summary, live);

  function describe(p) {
    const info = p.status ? statusInfo(p.status) : statusOfRate(p.rate);
    return { when: formatDateTime(p.t), value: `${formatRate(p.rate)} · ${info.label.toLowerCase()}`, trigger: p.trigger };
  }

  function select(index, { announce = false } = {}) {
    if (!geometry) return;
    const { marker, guide, xs, ys, width } = geometry;
    selected = index;
    if (index < 0 || index >= points.length) {
      marker.setAttribute('visibility', 'hidden');
      guide.setAttribute('visibility', 'hidden');
      tooltip.hidden = true;
      return;
    }
    const x = xs[index];
    const y = ys[index];
    marker.setAttribute('cx', x);
    marker.setAttribute('cy', y);
    marker.setAttribute('visibility', 'visible');
    guide.setAttribute('x1', x);
    guide.setAttribute('x2', x);
    guide.setAttribute('visibility', 'visible');
    const d = describe(points[index]);
    replace(tooltip,
      h('span', { class: 'trend-tooltip-time' }, d.when),
      h('strong', { class: 'trend-tooltip-value' }, d.value),
      d.trigger ? h('span', { class: 'trend-tooltip-trigger' }, `${d.trigger} check`) : null);
    tooltip.hidden = false;
    tooltip.style.left = `${x}px`;
    tooltip.style.top = `${y}px`;
    tooltip.classList.toggle('align-left', x < 110);
    tooltip.classList.toggle('align-right', x > width - 110);
    if (announce) live.textContent = `${d.when}: ${d.value}`;
  }

  function nearest(px) {
    const { xs } = geometry;
    let lo = 0;
    let hi = xs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] < px) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && Math.abs(xs[lo - 1] - px) <= Math.abs(xs[lo] - px)) return lo - 1;
    return lo;
  }

  function draw() {
    const width = Math.max(280, Math.round(plot.clientWidth || 640));
    const height = width < 520 ? 220 : 260;
    const span = RANGES[range].ms;
    const x1 = Math.max(now, points.length ? points[points.length - 1].t : now);
    const x0 = x1 - span;
    const minRate = points.length ? Math.min(...points.map((p) => p.rate)) : 100;
    const lo = Math.max(0, Math.floor(Math.min(bands.degraded - 1, minRate - 1)));
    const hi = 100;
    const innerW = width - MARGIN.left - MARGIN.right;
    const innerH = height - MARGIN.top - MARGIN.bottom;
    const sx = (t) => MARGIN.left + ((t - x0) / span) * innerW;
    const sy = (v) => MARGIN.top + (1 - (v - lo) / (hi - lo)) * innerH;

    const grid = svg('g', { class: 'trend-grid' });
    const step = niceStep(hi - lo);
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
      grid.append(svg('line', { x1: MARGIN.left, x2: width - MARGIN.right, y1: sy(v), y2: sy(v), class: 'grid-line' }));
      grid.append(svg('text', { x: MARGIN.left - 8, y: sy(v) + 4, 'text-anchor': 'end', class: 'axis-label' }, `${+v.toFixed(1)}%`));
    }
    const tickMs = RANGES[range].tickHours * 3600e3;
    const xTicks = svg('g', { class: 'trend-axis' });
    const maxLabels = Math.max(2, Math.floor(innerW / 90));
    // Ticks on the viewer's local hours and midnights, not UTC's.
    const offset = new Date(x0).getTimezoneOffset() * 60e3;
    const first = Math.ceil((x0 - offset) / tickMs) * tickMs + offset;
    const count = Math.floor((x1 - first) / tickMs) + 1;
    const every = Math.max(1, Math.ceil(count / maxLabels));
    for (let i = 0, t = first; t <= x1; i++, t += tickMs) {
      if (i % every) continue;
      xTicks.append(svg('line', { x1: sx(t), x2: sx(t), y1: height - MARGIN.bottom, y2: height - MARGIN.bottom + 4, class: 'axis-tick' }));
      xTicks.append(svg('text', { x: sx(t), y: height - 8, 'text-anchor': 'middle', class: 'axis-label' }, RANGES[range].tick.format(t)));
    }
    const thresholds = svg('g', { class: 'trend-thresholds' },
      [[bands.healthy, 'healthy'], [bands.degraded, 'degraded']].map(([v, key]) => svg('g', { class: `threshold threshold-${key}` },
        svg('line', { x1: MARGIN.left, x2: width - MARGIN.right, y1: sy(v), y2: sy(v), 'stroke-dasharray': '6 4' }),
        svg('text', { x: width - MARGIN.right - 4, y: sy(v) - 5, 'text-anchor': 'end', class: 'threshold-label' }, `${formatThreshold(v)}% ${key}`))));

    const xs = points.map((p) => sx(p.t));
    const ys = points.map((p) => sy(p.rate));
    const line = svg('path', {
      class: 'trend-line', fill: 'none',
      d: points.length > 1 ? xs.map((x, i) => `${i ? 'L' : 'M'}${x.toFixed(1)} ${ys[i].toFixed(1)}`).join(' ') : '',
    });
    const radius = points.length > 400 ? 2 : points.length > 100 ? 3 : 4;
    const dots = svg('g', { class: 'trend-points' }, points.map((p, i) => svg('circle', {
      class: 'trend-point', cx: xs[i].toFixed(1), cy: ys[i].toFixed(1), r: radius,
      fill: (p.status ? statusInfo(p.status) : statusOfRate(p.rate)).colour, 'data-time': p.iso,
    })));
    const guide = svg('line', { class: 'trend-guide', y1: MARGIN.top, y2: height - MARGIN.bottom, visibility: 'hidden' });
    const marker = svg('circle', { class: 'trend-marker', r: radius + 4, visibility: 'hidden' });
    const empty = points.length ? null
      : svg('text', { x: MARGIN.left + innerW / 2, y: MARGIN.top + innerH / 2, 'text-anchor': 'middle', class: 'trend-empty' },
        `No checks recorded in ${RANGES[range].words}`);

    const latest = points[points.length - 1];
    const label = points.length
      ? `Consistency trend over ${RANGES[range].words}: ${points.length} checks, latest ${formatRate(latest.rate)}, `
        + `lowest ${formatRate(minRate)}. Use the arrow keys to read each check.`
      : `Consistency trend: no checks recorded in ${RANGES[range].words}.`;
    const chartSvg = svg('svg', {
      class: 'trend-svg', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
      tabindex: points.length ? 0 : -1, 'aria-label': label,
    }, grid, thresholds, xTicks, line, guide, dots, marker, empty);
    chartSvg.addEventListener('pointermove', (e) => {
      if (!points.length) return;
      const rect = chartSvg.getBoundingClientRect();
      select(nearest(e.clientX - rect.left));
    });
    chartSvg.addEventListener('pointerleave', () => {
      if (document.activeElement !== chartSvg) select(-1);
    });
    chartSvg.addEventListener('focus', () => select(selected >= 0 ? selected : points.length - 1, { announce: true }));
    chartSvg.addEventListener('blur', () => select(-1));
    chartSvg.addEventListener('keydown', (e) => {
      const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
      if (!(e.key in moves) || !points.length) return;
      e.preventDefault();
      const i = Math.max(0, Math.min(points.length - 1, (selected < 0 ? points.length - 1 : selected) + moves[e.key]));
      select(i, { announce: true });
    });
    plot.replaceChildren(chartSvg);
    geometry = { marker, guide, xs, ys, width };
    const keep = selected;
    selected = -1;
    if (keep >= 0 && keep < points.length && document.activeElement === chartSvg) select(keep);
    else tooltip.hidden = true;

    if (points.length) {
      const maxRate = Math.max(...points.map((p) => p.rate));
      summary.textContent = `${points.length} check${points.length === 1 ? '' : 's'} in ${RANGES[range].words} · `
        + `latest ${formatRate(latest.rate)} · lowest ${formatRate(minRate)} · highest ${formatRate(maxRate)}`;
    } else {
      summary.textContent = '';
    }
  }

  function update(history, newRange, nowMs = Date.now()) {
    range = newRange;
    now = nowMs;
    for (const b of buttons) b.setAttribute('aria-pressed', b.dataset.range === range ? 'true' : 'false');
    points = (Array.isArray(history) ? history : [])
      .map((row) => ({ iso: row.timestamp, t: Date.parse(row.timestamp), rate: row.consistency_rate, status: row.status, trigger: row.trigger }))
      .filter((p) => Number.isFinite(p.t) && typeof p.rate === 'number')
      .sort((a, b) => a.t - b.t);
    draw();
  }

  let lastWidth = 0;
  const resize = new ResizeObserver(() => {
    const w = Math.round(plot.clientWidth);
    if (w && w !== lastWidth) {
      lastWidth = w;
      draw();
    }
  });
  resize.observe(plot);

  return { el, update, redraw: draw, destroy: () => resize.disconnect() };
}
