// A small grouped bar chart drawn as inline SVG (no library): one group per month, one bar per series.

import { s, compactMoney, money } from './dom.js';

function niceStep(max, ticks) {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

/**
 * barChart({months: ['2022-01', ...], series: [{label, cls, values: [...]}], title, lang})
 * Returns an <svg> that scales to its container (viewBox), with a <title>, a legend and one
 * <title> per bar so that hovering (or a screen reader) gives the exact amount.
 */
export function barChart({ months, series, title, lang }) {
  const W = 720;
  const H = 280;
  const m = { top: 34, right: 12, bottom: 46, left: 64 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const max = Math.max(1, ...series.flatMap((x) => x.values));
  const step = niceStep(max, 4);
  const top = Math.ceil(max / step) * step;
  const y = (v) => m.top + ih - (v / top) * ih;
  const n = Math.max(1, months.length);
  const band = iw / n;
  const gap = Math.min(8, band * 0.2);
  const barW = Math.max(1, (band - gap) / series.length);

  const svg = s('svg', {
    class: 'chart',
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': title,
    preserveAspectRatio: 'xMidYMid meet',
  });
  svg.appendChild(s('title', null, title));

  // Grid lines and y-axis labels.
  for (let v = 0; v <= top + step / 2; v += step) {
    const yy = y(v);
    svg.appendChild(s('line', { class: 'grid', x1: m.left, x2: W - m.right, y1: yy, y2: yy }));
    svg.appendChild(s('text', { class: 'axis', x: m.left - 6, y: yy + 4, 'text-anchor': 'end' }, compactMoney(v, lang)));
  }

  // Bars.
  months.forEach((month, i) => {
    const g = s('g', { class: 'month' });
    series.forEach((ser, j) => {
      const v = ser.values[i] || 0;
      const x = m.left + i * band + gap / 2 + j * barW;
      const hgt = Math.max(v > 0 ? 1 : 0, m.top + ih - y(v));
      g.appendChild(s('rect', { class: `bar ${ser.cls}`, x: x.toFixed(2), y: (m.top + ih - hgt).toFixed(2),
        width: barW.toFixed(2), height: hgt.toFixed(2) },
      s('title', null, `${month} · ${ser.label}: ${money(v)}`)));
    });
    svg.appendChild(g);
    // Month labels: all of them when there is room, else every k-th one counted back from the latest month.
    const every = Math.ceil(n / 12);
    if ((n - 1 - i) % every === 0) {
      const cx = m.left + i * band + band / 2;
      svg.appendChild(s('text', { class: 'axis', x: cx.toFixed(2), y: H - m.bottom + 16, 'text-anchor': 'middle' }, month));
    }
  });
  svg.appendChild(s('line', { class: 'baseline', x1: m.left, x2: W - m.right, y1: m.top + ih, y2: m.top + ih }));

  // Legend.
  let lx = m.left;
  for (const ser of series) {
    svg.appendChild(s('rect', { class: `bar ${ser.cls}`, x: lx, y: 10, width: 12, height: 12 }));
    const label = s('text', { class: 'legend', x: lx + 18, y: 20 }, ser.label);
    svg.appendChild(label);
    lx += 24 + ser.label.length * 7.5;
  }
  return svg;
}
