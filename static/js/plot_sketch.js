// A plain-SVG sketch of a log-scale line plot, drawn while plotly.js (4.8 MB, loaded after the first
// paint) is still being parsed: on a fast run the punchline card would otherwise stay blank for a
// second after the run has finished. Plotly replaces it as soon as it has loaded. Pure: returns markup.
//
//   div.innerHTML = logSketchSvg([{ y: [1e-3, 1e-2, null, 1], color: '#1f77b4' }],
//                                { width: 380, height: 240, xMax: 3, ink: '#222', grid: '#ddd' });

import { superscript } from './format.js';

const MARGIN = { l: 56, r: 10, t: 6, b: 40 };   // the plotly layout's margins, so nothing jumps

/** "10⁻⁴⁵" (and "1" for 10⁰), as plotly's power exponent format writes a decade. */
export function decadeLabel(exponent) {
  if (exponent === 0) return '1';
  return `10${superscript(exponent)}`;
}

/** A round step (1, 2 or 5 × 10^k) giving at most `most` ticks over `span`. */
export function niceStep(span, most = 5) {
  if (!(span > 0)) return 1;
  const raw = span / most;
  const base = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * base).find((s) => s >= raw);
}

/** The decades [lo, hi] (integers) covering every positive finite value of the lines, or null. */
export function decadeRange(lines) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const { y } of lines) {
    for (const v of y) {
      if (Number.isFinite(v) && v > 0) { const e = Math.log10(v); lo = Math.min(lo, e); hi = Math.max(hi, e); }
    }
  }
  if (lo === Infinity) return null;
  const bottom = Math.floor(lo);
  return [bottom + 0, Math.max(Math.ceil(hi), bottom + 1) + 0];   // + 0: never −0
}

/** The polyline runs of one line: consecutive drawable points (a gap at each null, zero or non-finite). */
function runs(x, y, px, py) {
  const out = [];
  let run = [];
  y.forEach((v, i) => {
    if (Number.isFinite(v) && v > 0) run.push(`${px(x ? x[i] : i).toFixed(1)},${py(Math.log10(v)).toFixed(1)}`);
    else if (run.length) { out.push(run); run = []; }
  });
  if (run.length) out.push(run);
  return out;
}

/**
 * SVG markup of `lines` ({y, x? (default: the index), color, dash?, width?}) on a log y axis over
 * t = 0 … xMax, `width` × `height` pixels, with decade ticks, t ticks and the axis titles.
 * With nothing positive to draw it holds only `emptyText`.
 */
export function logSketchSvg(lines, { width, height, xMax, ink = '#222', grid = '#ddd', muted = '#777',
  fontSize = 13, xTitle = 'time step t', yTitle = '', emptyText = '' }) {
  const range = decadeRange(lines);
  // room for the widest decade label and the rotated title (plotly's automargin does the same)
  const labelChars = range ? Math.max(...range.map((e) => decadeLabel(e).length)) : 1;
  const M = { ...MARGIN, l: Math.max(MARGIN.l, Math.ceil(labelChars * fontSize * 0.62 + fontSize * 1.6 + 8)),
    t: Math.max(MARGIN.t, Math.ceil(fontSize * 0.6)), b: Math.max(MARGIN.b, Math.ceil(fontSize * 2.7)) };
  const w = Math.max(width, M.l + M.r + 20);
  const plotW = w - M.l - M.r;
  const plotH = Math.max(height - M.t - M.b, 20);
  const svg = (body) => `<svg class="plot-sketch" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${height}" `
    + `font-size="${fontSize}" font-family="inherit" fill="${ink}" role="img" aria-label="${escapeXml(yTitle || 'plot')}">${body}</svg>`;
  if (!range) {
    return svg(`<text x="${w / 2}" y="${height / 2}" text-anchor="middle" fill="${muted}">${escapeXml(emptyText)}</text>`);
  }
  const [lo, hi] = range;
  const px = (t) => M.l + (xMax > 0 ? (t + 0.5) / (xMax + 1) : 0.5) * plotW;
  const py = (e) => M.t + (1 - (e - lo) / (hi - lo)) * plotH;
  const parts = [];
  const yStep = Math.max(1, Math.ceil((hi - lo) / 5));
  for (let e = hi; e >= lo; e -= yStep) {
    const y = py(e).toFixed(1);
    parts.push(`<line x1="${M.l}" x2="${M.l + plotW}" y1="${y}" y2="${y}" stroke="${grid}"/>`,
      `<text x="${M.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${decadeLabel(e)}</text>`);
  }
  const xStep = niceStep(xMax, 4);
  for (let t = 0; t <= xMax; t += xStep) {
    const x = px(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.t}" y2="${M.t + plotH}" stroke="${grid}"/>`,
      `<text x="${x}" y="${M.t + plotH + fontSize + 4}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<text x="${M.l + plotW / 2}" y="${height - 4}" text-anchor="middle">${escapeXml(xTitle)}</text>`);
  if (yTitle) {
    parts.push(`<text transform="translate(${fontSize},${M.t + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yTitle)}</text>`);
  }
  for (const { x, y, color, dash = 'solid', width: lw = 3 } of lines) {
    const dashArray = dash === 'dash' ? ' stroke-dasharray="6 4"' : '';
    for (const run of runs(x, y, px, py)) {
      parts.push(`<polyline fill="none" stroke="${escapeXml(color)}" stroke-width="${lw}"${dashArray} points="${run.join(' ')}"/>`);
    }
  }
  return svg(parts.join(''));
}

/** Text safe inside SVG markup (element content and attribute values). */
function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);
}
