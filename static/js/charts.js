// The five plots (plotly, served locally). Each draw function turns the store at a cursor into a
// figure and hands it to Plotly.react, so redrawing while events stream in is cheap.

import { COLORS, PLOTS, SCALES, cssVar } from './theme/config.js';
import { fmt, plottable } from './format.js';
import { scaleColor } from './colors.js';
import { lectureName } from './inspector.js';
import { contextStep } from './segments.js';
import { look } from './look.js';
import { gatesOf, isUnitGate } from './cell_spec.js';
import { whenPlotly, whenPlotlyLatest } from './plotly_loader.js';   // issue 17: plotly is loaded after first paint

function baseLayout(extra = {}) {
  const { present } = look();
  const ink = cssVar('--ink') || '#222';
  const grid = cssVar('--grid') || '#ddd';
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true };
  return {
    height: PLOTS.height * (present ? 1.2 : 1),
    margin: { l: 60, r: 16, t: 12, b: 48 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { size: PLOTS.font * (present ? PLOTS.presentFontScale : 1), color: ink, family: 'inherit' },
    legend: { orientation: 'h', y: -0.25, x: 0 },
    hovermode: 'closest',
    ...extra,
    xaxis: { ...axis, ...(extra.xaxis ?? {}) },
    yaxis: { ...axis, ...(extra.yaxis ?? {}) },
  };
}

const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud', 'lasso2d', 'select2d'] };

function waiting(text) {
  return baseLayout({
    xaxis: { visible: false }, yaxis: { visible: false },
    annotations: [{ text, showarrow: false, x: 0.5, y: 0.5, xref: 'paper', yref: 'paper', font: { size: 16, color: cssVar('--muted') || '#777' } }],
  });
}

/** Human name of an h node: h_l0 → "layer 1", h_l0_reverse → "layer 1 ←". */
export function nodeLabel(node, meta) {
  const m = /^h_l(\d+)(_reverse)?$/.exec(node);
  if (!m) return node;
  if (meta.layers === 1 && meta.directions === 1) return 'h';
  return `layer ${Number(m[1]) + 1}${m[2] ? ' ←' : ''}`;
}

const drawn = new WeakSet();   // the plot <div>s that hold a figure (what a PNG export needs)

/** Draw a figure into `div` (Plotly.react with plotly options `config`), remembering that it holds one. */
export function react(div, data, layout, config = CONFIG) {
  whenPlotlyLatest(div, (Plotly) => Plotly.react(div, data, layout, config));
  drawn.add(div);
}

/** Log-axis settings: a range covering the finite positive values, one tick per decade when wide. */
function logAxis(values, title) {
  const range = logRange(values);
  const span = range ? range[1] - range[0] : 0;
  // one tick per decade, or per few decades when the range is huge (at most ~8 labels)
  const dtick = span > 2.5 ? Math.max(1, Math.ceil(span / 8)) : 'D2';   // D2: minor labels 2 and 5 only
  return { title: { text: title }, type: 'log', exponentformat: 'power', range, dtick };
}

/** A log-axis range covering the finite positive values (with a decade of room). */
function logRange(values) {
  const v = values.filter((x) => Number.isFinite(x) && x > 0);
  if (!v.length) return undefined;
  const lo = Math.log10(Math.min(...v));
  const hi = Math.log10(Math.max(...v));
  return [lo - 0.3, hi + 0.3 + (hi - lo < 1 ? 0.5 : 0)];
}

/** A vertical marker at the time step of the event on screen, when it belongs to `phase`. */
function cursorMarker(store, cursor, phase) {
  const ev = store.get(cursor);
  if (!ev || ev.phase !== phase) return [];
  return [{
    type: 'line', xref: 'x', yref: 'paper', x0: ev.t, x1: ev.t, y0: 0, y1: 1,
    line: { color: COLORS.highlight, width: 2.5, dash: 'dot' },
  }];
}

/** An encoder–decoder's boundary on a time axis: a line between the encoder's last step and the
 * decoder's first, labelled "context" (nothing for other runs). */
function contextMarker(meta) {
  const start = contextStep(meta);
  if (start === null) return { shapes: [], annotations: [] };
  const x = start - 0.5;
  return {
    shapes: [{ type: 'line', xref: 'x', yref: 'paper', x0: x, x1: x, y0: 0, y1: 1, line: { color: cssVar('--feedback') || '#7c3aed', width: 2, dash: 'dash' } }],
    annotations: [
      { text: '◀ encoder', xref: 'x', yref: 'paper', x, y: 1, xanchor: 'right', yanchor: 'top', showarrow: false, font: { color: cssVar('--muted') || '#667' } },
      { text: 'decoder ▶', xref: 'x', yref: 'paper', x, y: 1, xanchor: 'left', yanchor: 'top', showarrow: false, font: { color: cssVar('--muted') || '#667' } },
    ],
  };
}

/** plot-grad-norms: ‖∂L/∂h_t‖ over t, log y, one line per layer/direction. */
export function drawGradNorms(div, { store, cursor, meta }) {
  const data = meta.nodes.map((node, i) => {
    const y = store.normSeries('backward', node, cursor);
    return {
      type: 'scatter', mode: 'lines+markers', name: nodeLabel(node, meta),
      x: y.map((_, t) => t), y: y.map((v) => (v === null ? null : plottable(v))),
      customdata: y.map((_, t) => [node, t]),
      hovertemplate: `${nodeLabel(node, meta)} t=%{x}: ‖∂L/∂h‖=%{y:.3g}<extra></extra>`,
      line: { color: COLORS.lines[i % COLORS.lines.length], width: 2.5 }, marker: { size: 6 },
    };
  });
  const all = data.flatMap((d) => d.y).filter((v) => v !== null);
  if (!all.length) {
    react(div, [], waiting('‖∂L/∂hₜ‖ appears during the backward pass'));
    return;
  }
  const nonFinite = meta.nodes.flatMap((n) => store.normSeries('backward', n, cursor)).filter((v) => v !== null && !Number.isFinite(v)).length;
  react(div, data, baseLayout({
    xaxis: { title: { text: 'time step t' }, range: [-0.5, meta.T - 0.5] },
    yaxis: logAxis(all, '‖∂L/∂hₜ‖'),
    showlegend: meta.nodes.length > 1,
    shapes: [...cursorMarker(store, cursor, 'backward'), ...contextMarker(meta).shapes],
    annotations: [
      ...(nonFinite ? [{ text: `${nonFinite} non-finite (NaN/∞) not drawn`, xref: 'paper', yref: 'paper', x: 1, y: 1, xanchor: 'right', showarrow: false, font: { color: COLORS.nan } }] : []),
      ...contextMarker(meta).annotations,
    ],
  }));
}

/** plot-vanishing: ‖∂L_k/∂h_t‖ against the distance k − t with the fitted factor and the bound as lines. */
export function drawVanishing(div, { store, meta }) {
  const van = store.summary?.vanishing;
  if (!van) {
    react(div, [], waiting('appears when the backward pass is complete'));
    return;
  }
  const data = [];
  const ys = [];
  meta.nodes.forEach((node, i) => {
    const v = van[node];
    if (!v) return;
    const pts = v.distance.map((d, t) => ({ d, y: v.norms[t], t })).filter((p) => Number.isFinite(p.d) && p.d >= 0).sort((a, b) => a.d - b.d);
    if (!pts.length) return;
    const color = COLORS.lines[i % COLORS.lines.length];
    const name = nodeLabel(node, meta);
    data.push({
      type: 'scatter', mode: 'markers', name: `${name}: measured`, x: pts.map((p) => p.d), y: pts.map((p) => plottable(p.y)),
      customdata: pts.map((p) => [node, p.t]), marker: { color, size: 8 },
      hovertemplate: `k−t=%{x} (t=%{customdata[1]}): %{y:.3g}<extra>${name}</extra>`,
    });
    ys.push(...pts.map((p) => p.y));
    const anchor = pts.find((p) => Number.isFinite(p.y) && p.y > 0);
    if (!anchor) return;
    const fitted = pts.filter((p) => Number.isFinite(p.y) && p.y > 0);
    const line = (factor, label, style) => {
      if (!(Number.isFinite(factor) && factor > 0)) return;
      const ds = pts.map((p) => p.d);
      // the fit goes through the points (least-squares intercept in log space);
      // the bound starts at the gradient where it enters (k − t = 0) and caps every later one
      const logStart = style === 'fit'
        ? fitted.reduce((a, p) => a + Math.log(p.y) - p.d * Math.log(factor), 0) / fitted.length
        : Math.log(anchor.y) - anchor.d * Math.log(factor);
      data.push({
        type: 'scatter', mode: 'lines', name: label, x: ds, y: ds.map((d) => Math.exp(logStart + d * Math.log(factor))),
        line: { color: style === 'fit' ? color : COLORS.bound, dash: style === 'fit' ? 'dash' : 'dot', width: 2.5 }, hoverinfo: 'skip',
      });
    };
    line(v.factor, `${name}: fitted factor ${fmt(v.factor)} per step`, 'fit');
    line(v.bound, `${name}: bound ${fmt(v.bound)} per step${gatesOf(meta).length ? ' (max Jacobian norm)' : ` (σmax(W)=${fmt(v.sigmaMax)} · max φ')`}`, 'bound');
  });
  const k = Object.values(van)[0]?.k;
  const first = van[meta.nodes[0]];
  const headline = first && Number.isFinite(first.factor)
    ? `×${fmt(first.factor)} per step${Number.isFinite(first.bound) ? `  (bound ×${fmt(first.bound)})` : ''}`
    : '';
  react(div, data, baseLayout({
    annotations: headline ? [{
      text: headline, xref: 'paper', yref: 'paper', x: 1, y: 1, xanchor: 'right', yanchor: 'top', showarrow: false,
      font: { size: PLOTS.font + 4, color: cssVar('--ink') || '#222' }, bgcolor: cssVar('--card') || '#fff',
    }] : [],
    xaxis: { title: { text: `distance k − t  (k = ${k}, the last step with a target)` } },
    yaxis: logAxis(ys, '‖∂Lₖ/∂hₜ‖'),
    legend: { orientation: 'h', y: -0.3, x: 0, font: { size: PLOTS.font - 1 } },
    height: PLOTS.height + 40,
  }));
}

/** plot-flow: the ‖∂L_k/∂h_t‖ heatmap (rows k with a target, columns t), log colour. */
export function drawFlow(div, { store, meta, node }) {
  const f = store.summary?.flow?.[node];
  if (!f || !f.matrix.length) {
    react(div, [], waiting('appears when the backward pass is complete'));
    return;
  }
  const z = f.matrix.map((row) => row.map((v) => (Number.isFinite(v) && v > 0 ? Math.log10(v) : null)));
  const text = f.matrix.map((row) => row.map((v) => fmt(v)));
  react(div, [{
    type: 'heatmap', x: [...Array(meta.T).keys()], y: f.ks, z, text,
    meta: { hoverNode: node },   // issue 17: hover gives [node, x] (a T × k customdata grid was costly)
    colorscale: SCALES.backward.map((c, i, a) => [i / (a.length - 1), c]),
    colorbar: { title: { text: 'log₁₀' }, thickness: 14 },
    hovertemplate: 'k=%{y}, t=%{x}: ‖∂Lₖ/∂hₜ‖ = %{text}<extra></extra>',
    hoverongaps: false,
  }], baseLayout({
    xaxis: { title: { text: 'time step t (where the gradient arrives)' } },
    yaxis: { title: { text: 'loss step k' }, autorange: 'reversed', ...(f.ks.length <= 12 ? { tickmode: 'array', tickvals: f.ks } : {}) },
    ...contextMarker(meta),
  }));
}

/** plot-hidden: a time × unit heatmap of one quantity (h, c, a gate or ∂L/∂h) of a node. */
export function drawHidden(div, { store, cursor, meta, node, quantity }) {
  const phase = quantity.startsWith('d') ? 'backward' : 'forward';
  const rows = store.valueMatrix(phase, node, quantity, cursor);
  const H = rows.find((r) => r)?.length ?? 0;
  if (!H) {
    react(div, [], waiting(phase === 'backward' ? 'appears during the backward pass' : 'appears as the forward pass runs'));
    return;
  }
  const z = [...Array(H).keys()].map((u) => rows.map((r) => (r ? plottable(r[u]) : null)));
  const unit = isUnitGate(meta, quantity);   // a σ gate: a 0…1 scale
  const finite = z.flat().filter((v) => v !== null).map(Math.abs);
  const top = unit ? 1 : Math.max(1e-12, ...finite);
  react(div, [{
    type: 'heatmap', x: [...Array(meta.T).keys()], y: [...Array(H).keys()], z,
    meta: { hoverNode: node },   // issue 17: hover gives [node, x] (a T × H customdata grid was costly)
    colorscale: unit ? SCALES.heatSequential : SCALES.heatDiverging, reversescale: !unit,
    zmin: unit ? 0 : -top, zmax: top, zmid: unit ? undefined : 0,
    colorbar: { thickness: 14 }, hoverongaps: false,
    hovertemplate: `t=%{x}, unit %{y}: ${quantity} = %{z:.3g}<extra></extra>`,
  }], baseLayout({
    xaxis: { title: { text: 'time step t' }, range: [-0.5, meta.T - 0.5] },
    yaxis: { title: { text: 'unit' } },
    shapes: [...cursorMarker(store, cursor, phase), ...contextMarker(meta).shapes],
  }));
}

/** The backward event after which a parameter's step-t contribution is known: the head's at ∂L/∂o(t)
 * (logits), a layer's at its node's ∂L/∂h(t), the embedding's once layer 0's last direction has sent its
 * part (engine.events); a parameter of neither (a topology's own) at the run's last h node. */
export function contributionNode(param, meta) {
  const base = param.replace(/^(encoder|decoder)\./, '');
  if (base.startsWith('head.')) return 'logits';
  const layer = /_l(\d+)(_reverse)?$/.exec(base);
  if (layer) return `h_l${layer[1]}${layer[2] ?? ''}`;
  const first = meta.nodes.filter((n) => /^h_l0(_reverse)?$/.test(n));
  return base.startsWith('embedding') && first.length ? first[first.length - 1] : meta.nodes[meta.nodes.length - 1];
}

/** plot-contributions: per-step contributions to each shared weight's gradient, stacked over t. A step's
 * term shows once the backward pass has reached it at `cursor` (the chart fills in as BPTT steps back). */
export function drawContributions(div, { store, meta, cursor = Infinity }) {
  const contrib = store.summary?.contributions;
  if (!contrib) {
    react(div, [], waiting('appears when the backward pass is complete'));
    return;
  }
  const params = Object.keys(contrib).filter((p) => !/(^|\.)bias_ih/.test(p));
  const names = params.map(lectureName);
  const limit = meta.tree ? Infinity : cursor;   // a tree's plot is drawn once per run (plots_tree.js)
  const reached = params.map((p) => { const node = contributionNode(p, meta); return (t) => Boolean(store.find('backward', node, t, limit)); });
  let shown = 0;
  const T = meta.T;
  const bins = Math.min(T, PLOTS.maxContributionBins);
  const data = [];
  for (let b = 0; b < bins; b += 1) {
    const t0 = Math.floor((b * T) / bins);
    const t1 = Math.floor(((b + 1) * T) / bins) - 1;
    const x = params.map((p, i) => {
      let s = 0;
      for (let t = t0; t <= t1; t += 1) if (Number.isFinite(contrib[p][t]) && reached[i](t)) { s += contrib[p][t]; shown += 1; }
      return s;
    });
    const label = t0 === t1 ? `t=${t0}` : `t=${t0}…${t1}`;
    data.push({
      type: 'bar', orientation: 'h', x, y: names, name: label, showlegend: false,
      marker: { color: scaleColor('forward', 0.15 + 0.85 * (b / Math.max(1, bins - 1))), line: { width: 0.5, color: cssVar('--bg') || '#fff' } },
      customdata: params.map((p) => [/_l\d+/.test(p) ? `h${p.match(/_l\d+(_reverse)?$/)[0]}` : meta.nodes[meta.nodes.length - 1], t0]),
      hovertemplate: `${label}: %{x:.3g}<extra>%{y}</extra>`,
    });
  }
  data.push({
    type: 'scatter', mode: 'markers', name: '‖total gradient‖ (‖Σₜ‖ ≤ Σₜ‖·‖)', x: params.map((p) => plottable(store.summary.gradNorms[p])), y: names,
    marker: { symbol: 'diamond', size: 13, color: COLORS.bound, line: { width: 1, color: '#fff' } },
    hovertemplate: '‖∂L/∂%{y}‖ = %{x:.3g}<extra>total</extra>',
  });
  react(div, data, baseLayout({
    barmode: 'stack',
    height: Math.max(PLOTS.height, 60 + names.length * 34),
    xaxis: { title: { text: 'Σₜ ‖contribution of step t‖  (light = early steps, dark = late)' } },
    yaxis: { autorange: 'reversed' },
    showlegend: true,
    legend: { orientation: 'h', y: -0.3, x: 0 },
    annotations: shown ? [] : [{ text: 'the terms fill in as the backward pass reaches each step', xref: 'paper', yref: 'paper', x: 0.5, y: 0.5, showarrow: false, font: { color: cssVar('--muted') || '#667' } }],
  }));
}

/** Forward plotly hover/unhover on `div` to onHover(node, t) (customdata = [node, t]). */
export function linkHover(div, onHover) {
  whenPlotly(() => linkPlotlyHover(div, onHover));
}

function linkPlotlyHover(div, onHover) {
  div.on('plotly_hover', (e) => {
    const p = e.points?.[0];
    // a heatmap names its node once (trace meta) and its column is t
    const cd = p?.customdata ?? (p?.data?.meta?.hoverNode !== undefined ? [p.data.meta.hoverNode, p.x] : undefined);
    if (Array.isArray(cd) && cd.length === 2) onHover(cd[0], cd[1]);
  });
  div.on('plotly_unhover', () => onHover(null, null));
}

/** Download a plot as PNG (Plotly.downloadImage; nothing leaves the machine); false if not drawn yet. */
export function downloadPng(div, name) {
  if (!div || !drawn.has(div)) return false;   // nothing drawn yet
  return whenPlotly((Plotly) => Plotly.downloadImage(div, { format: 'png', filename: name, width: div.clientWidth || 900, height: div.clientHeight || PLOTS.height, scale: 2 }));
}
