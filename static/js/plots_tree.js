// A recursive network's plots (issue 15): the chain's plot cards, worded and drawn for a tree.
// The stream's axis is the tree's nodes in post-order (t = node k), the one loss is at the root,
// and the gradient's distance from it is a node's depth, not k − t. plots.js hands a tree's run
// here (`treePlots`); the headings are swapped back when a chain run comes.
//   plot-grad-norms     ‖∂L/∂h_k‖ per node as the backward pass reaches it (x: node, post-order)
//   plot-vanishing      gradient by depth: ‖∂L_root/∂h_node‖ against depth with the fitted decay per
//                       level, beside the same data as a chain (‖∂L_{n−1}/∂h_t‖ against n−1−t, per step)
//   plot-flow           each child→parent edge's Jacobian norm ‖∂h_parent/∂h_node‖ by depth
//   plot-hidden, plot-contributions: the chain's drawings over the node axis, relabelled

import * as charts from './charts.js';
import { COLORS, PLOTS, cssVar } from './theme/config.js';
import { fmt, plottable } from './format.js';

import { whenPlotly } from './plotly_loader.js';   // issue 17: plotly is loaded after first paint

export const TREE_NODE = 'h_tree';

const HEADINGS = {
  'plot-grad-norms': 'Gradient norm ‖∂L/∂h‖ at each tree node (post-order)',
  'plot-vanishing': 'Gradient by depth: ‖∂L<sub>root</sub>/∂h<sub>node</sub>‖, tree vs chain',
  'plot-flow': 'Jacobian norm of each child → parent edge, by depth',
  'plot-hidden': 'Hidden state at each tree node (node × unit)',
  'plot-contributions': 'Each shared weight’s gradient is a sum over the tree’s nodes',
};

/** Swap the plot cards' headings to the tree's wording (or back to the page's own, tree = false). */
export function setTreeHeadings(tree) {
  for (const [id, html] of Object.entries(HEADINGS)) {
    const h2 = document.getElementById(id)?.closest('.plot-card')?.querySelector('h2');
    if (!h2) continue;
    if (h2.dataset.chainHeading === undefined) h2.dataset.chainHeading = h2.innerHTML;
    h2.innerHTML = tree ? html : h2.dataset.chainHeading;
  }
}

function layout(extra = {}) {
  const ink = cssVar('--ink') || '#222';
  const grid = cssVar('--grid') || '#ddd';
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true };
  return {
    height: PLOTS.height, margin: { l: 60, r: 16, t: 12, b: 48 }, hovermode: 'closest',
    paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)', font: { size: PLOTS.font, color: ink, family: 'inherit' },
    legend: { orientation: 'h', y: -0.3, x: 0 }, ...extra,
    xaxis: { ...axis, ...(extra.xaxis ?? {}) }, yaxis: { ...axis, ...(extra.yaxis ?? {}) },
  };
}

function waiting(div, text) {
  charts.react(div, [], layout({
    xaxis: { visible: false }, yaxis: { visible: false },
    annotations: [{ text, showarrow: false, x: 0.5, y: 0.5, xref: 'paper', yref: 'paper', font: { size: 16, color: cssVar('--muted') || '#777' } }],
  }));
}

const logY = (title) => ({ title: { text: title }, type: 'log', exponentformat: 'power' });

/** "node k (word)" or "node k (depth d)" for hovers. */
function nodeName(meta, k) {
  const tree = meta.tree;
  const i = tree.leaves.indexOf(k);
  const word = i >= 0 ? (tree.words?.[i] ?? meta.input_labels?.[i]) : null;
  return word ? `node ${k} “${word}”` : `node ${k} (depth ${tree.depth[k]})`;
}

/** plot-grad-norms for a tree: ‖∂L/∂h_k‖ per node (post-order), coloured by depth, as the backward pass arrives. */
export function drawTreeGradNorms(div, { store, cursor, meta }) {
  const y = store.normSeries('backward', TREE_NODE, cursor);
  if (!y.some((v) => v !== null)) { waiting(div, '‖∂L/∂h‖ appears as the backward pass reaches each node'); return; }
  const ks = y.map((_, k) => k);
  const ev = store.get(cursor);
  const shapes = ev?.phase === 'backward' ? [{ type: 'line', xref: 'x', yref: 'paper', x0: ev.t, x1: ev.t, y0: 0, y1: 1, line: { color: COLORS.highlight, width: 2.5, dash: 'dot' } }] : [];
  charts.react(div, [{
    type: 'scatter', mode: 'markers', name: '‖∂L/∂h‖', x: ks, y: y.map((v) => (v === null ? null : plottable(v))),
    text: ks.map((k) => nodeName(meta, k)), customdata: ks.map((k) => [TREE_NODE, k]),
    marker: { size: 9, color: ks.map((k) => meta.tree.depth[k]), colorscale: 'Viridis', colorbar: { title: { text: 'depth' }, thickness: 12 } },
    hovertemplate: '%{text}: ‖∂L/∂h‖ = %{y:.3g}<extra></extra>',
  }], layout({
    xaxis: { title: { text: `tree node k (post-order: leaves first, the root is k = ${meta.tree.children.length - 1})` }, range: [-0.5, meta.T - 0.5] },
    yaxis: logY('‖∂L/∂hₖ‖'), shapes,
  }));
}

/** Least-squares intercept (log space) of norm ≈ C·factor^d through the finite positive points. */
function fitLine(ds, ys, factor) {
  const pts = ds.map((d, i) => [d, ys[i]]).filter(([d, v]) => Number.isFinite(d) && Number.isFinite(v) && v > 0);
  if (!pts.length || !(Number.isFinite(factor) && factor > 0)) return null;
  const logC = pts.reduce((a, [d, v]) => a + Math.log(v) - d * Math.log(factor), 0) / pts.length;
  const top = Math.max(...pts.map(([d]) => d));
  const xs = [...Array(top + 1).keys()];
  return { x: xs, y: xs.map((d) => Math.exp(logC + d * Math.log(factor))) };
}

/** plot-vanishing for a tree: the gradient by depth (its decay per level) beside the chain's per step.
 * `card`: drawn in the punchline card (issue 20) — its height, no legend or headline (the card's
 * caption says the factors). */
export function drawDepthPlot(div, { store, meta }, card = false) {
  const s = store.summary;
  const profile = s?.depthProfile;
  if (!profile) { waiting(div, 'appears when the backward pass is complete'); return; }
  const norms = s.gradientNorms[TREE_NODE] ?? [];
  const depth = meta.tree.depth;
  const ks = norms.map((_, k) => k);
  const tree = COLORS.lines[0];
  const chainColor = COLORS.lines[1 % COLORS.lines.length];
  const data = [{
    type: 'scatter', mode: 'markers', name: 'tree: each node at its depth', x: ks.map((k) => depth[k]), y: norms.map(plottable),
    text: ks.map((k) => nodeName(meta, k)), customdata: ks.map((k) => [TREE_NODE, k]),
    marker: { color: tree, size: 9 }, hovertemplate: '%{text}, depth %{x}: %{y:.3g}<extra>tree</extra>',
  }];
  const fit = fitLine(ks.map((k) => depth[k]), norms, profile.factor);
  if (fit) data.push({ type: 'scatter', mode: 'lines', name: `tree: fitted ×${fmt(profile.factor)} per level`, ...fit, line: { color: tree, dash: 'dash', width: 2.5 }, hoverinfo: 'skip' });
  const chain = s.chainComparison;
  let headline = `tree ×${fmt(profile.factor)} per level over ${meta.tree.height} levels`;
  if (chain) {
    data.push({
      type: 'scatter', mode: 'markers', name: `chain of ${chain.steps} steps: ‖∂L/∂h_t‖ at n−1−t`, x: chain.distance, y: chain.norms.map(plottable),
      marker: { color: chainColor, size: 6, symbol: 'square' }, hovertemplate: 'chain, %{x} steps back: %{y:.3g}<extra>chain</extra>',
    });
    const cfit = fitLine(chain.distance, chain.norms, chain.factor);
    if (cfit) data.push({ type: 'scatter', mode: 'lines', name: `chain: fitted ×${fmt(chain.factor)} per step`, ...cfit, line: { color: chainColor, dash: 'dot', width: 2.5 }, hoverinfo: 'skip' });
    headline += `  ·  chain ×${fmt(chain.factor)} per step over ${chain.steps - 1} steps`;
  }
  const ys = [...norms, ...(chain?.norms ?? [])].filter((v) => Number.isFinite(v) && v > 0);
  const range = ys.length ? [Math.log10(Math.min(...ys)) - 0.3, Math.log10(Math.max(...ys)) + 0.5] : undefined;
  if (card) {
    charts.react(div, data, layout({
      height: Math.max(160, div.clientHeight || 240), margin: { l: 56, r: 10, t: 6, b: 40 }, showlegend: false,
      xaxis: { title: { text: 'depth (tree) · steps back (chain)' }, rangemode: 'tozero' },
      yaxis: { ...logY('‖∂L/∂h‖'), range },
    }));
    return;
  }
  charts.react(div, data, layout({
    height: PLOTS.height + 90, margin: { l: 60, r: 16, t: 34, b: 48 },
    legend: { orientation: 'h', y: -0.42, x: 0 },
    annotations: [{ text: headline, xref: 'paper', yref: 'paper', x: 1, y: 1.02, xanchor: 'right', yanchor: 'bottom', showarrow: false, font: { size: PLOTS.font + 2 } }],
    xaxis: { title: { text: 'Jacobians crossed from the loss: depth (tree) · steps back (chain)' }, rangemode: 'tozero' },
    yaxis: { ...logY('‖∂L/∂h‖ (the one loss)'), range },
  }));
}

/** plot-flow for a tree: ‖∂h_parent/∂h_node‖₂ of every edge against the child's depth. */
export function drawEdgeJacobians(div, { store, meta }) {
  const jac = store.summary?.jacobianNorms?.[TREE_NODE];
  if (!jac) { waiting(div, 'appears when the backward pass is complete'); return; }
  const ks = jac.map((_, k) => k).filter((k) => meta.tree.parent[k] !== null);
  charts.react(div, [{
    type: 'scatter', mode: 'markers', x: ks.map((k) => meta.tree.depth[k]), y: ks.map((k) => plottable(jac[k])),
    text: ks.map((k) => `${nodeName(meta, k)} → node ${meta.tree.parent[k]} (${meta.tree.side[k] === 'left' ? 'U' : 'W'})`),
    customdata: ks.map((k) => [TREE_NODE, k]), marker: { size: 9, color: COLORS.lines[0] },
    hovertemplate: '%{text}: %{y:.3g}<extra></extra>',
  }], layout({
    xaxis: { title: { text: 'depth of the child (the edge goes up to its parent)' }, dtick: 1 },
    yaxis: { title: { text: '‖∂h_parent/∂h_node‖₂' }, rangemode: 'tozero' },
    shapes: [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: 1, y1: 1, line: { color: COLORS.bound, dash: 'dot', width: 1.5 } }],
  }));
}

/** The chain's drawing of a plot over the node axis, its x-axis retitled for the tree. */
function relabelled(draw, xTitle) {
  return (div, ctx) => {
    draw(div, ctx);
    if (div.data?.length) whenPlotly((Plotly) => Plotly.relayout(div, { 'xaxis.title.text': xTitle }));
  };
}

/** plot id → [draw, key] for a tree's run (the keys of plots.js's chain table, same inputs). */
export function treePlots(ctx, { run, backwardSeen, forwardSeen, phase, cursor, node, quantity }) {
  return {
    'plot-grad-norms': [drawTreeGradNorms, `${run}|${backwardSeen}|${phase === 'backward' ? cursor : ''}`],
    'plot-vanishing': [drawDepthPlot, run],
    'plot-flow': [drawEdgeJacobians, run],
    'plot-hidden': [relabelled(charts.drawHidden, 'tree node k (post-order)'), `${run}|${node}|${quantity}|${quantity.startsWith('d') ? backwardSeen : forwardSeen}|${cursor}`],
    'plot-contributions': [relabelled(charts.drawContributions, 'Σ over nodes ‖contribution of node k‖  (light = leaves, early in post-order; dark = near the root)'), run],
  };
}
