// The node inspector: everything known about one clicked node — its vector, gradient, gates,
// cell state, the Jacobian norm into it and its per-step share of each shared weight's gradient.

import { fmt, subscript } from './format.js';
import { contextStep, halfAt } from './segments.js';
import { gatesOf, extraStates, cellSpecOf, cellWeightsOf } from './cell_spec.js';
import { eventNodeOf, isPadding } from './graph_layout.js';

const LECTURE_NAMES = {
  weight_ih: 'U', weight_hh: 'W', bias_ih: 'b (input part)', bias_hh: 'b (recurrent part)', 'head.weight': 'V', 'head.bias': 'c',
  'embedding.weight': 'E (embedding)', weight_peephole: 'P (peepholes)',
};

function div(cls, text = null, parent = null) {
  const d = document.createElement('div');
  if (cls) d.className = cls;
  if (text !== null) d.textContent = text;
  if (parent) parent.appendChild(d);
  return d;
}

/** Lecture name of a torch parameter name (weight_hh_l0_reverse → W (layer 1, reverse)). */
export function lectureName(param) {
  const half = /^(encoder|decoder)\.(.+)$/.exec(param);   // an encoder–decoder's parameters
  if (half) return `${lectureName(half[2])} · ${half[1]}`;
  const m = /^(weight_ih|weight_hh|bias_ih|bias_hh|weight_peephole)_l(\d+)(_reverse)?$/.exec(param);
  if (m) return `${LECTURE_NAMES[m[1]]}${m[2] !== '0' || m[3] ? ` · layer ${Number(m[2]) + 1}${m[3] ? ' reverse' : ''}` : ''}`;
  return LECTURE_NAMES[param] ?? param;
}

/** A row of bars, one per unit (a heat strip beyond 48 units); each bar's title holds its number. */
function bars(values, { signed = true, max = null } = {}) {
  const wrap = div('bars');
  const finite = values.filter(Number.isFinite).map(Math.abs);
  const top = max ?? Math.max(1e-12, ...finite);
  const dense = values.length > 48;
  wrap.classList.toggle('dense', dense);
  values.forEach((v, i) => {
    const bar = div('bar');
    const u = Number.isFinite(v) ? Math.min(1, Math.abs(v) / top) : 1;
    const inner = div(`bar-fill ${v < 0 ? 'neg' : 'pos'}${Number.isFinite(v) ? '' : ' nonfinite'}`, null, bar);
    if (dense) inner.style.opacity = String(0.15 + 0.85 * u);
    else inner.style.height = `${Math.max(2, u * 100) * (signed ? 0.5 : 1)}%`;
    bar.title = `unit ${i}: ${fmt(v, 4)}`;
    wrap.appendChild(bar);
  });
  wrap.classList.toggle('signed', signed && !dense);
  return wrap;
}

/** A labelled block: name, norm, bars and the exact numbers in a <details> (opts.title: a tooltip). */
function vectorBlock(parent, name, values, norm, opts = {}) {
  const block = div('vec-block', null, parent);
  if (opts.title) block.title = opts.title;
  const head = div('vec-head', null, block);
  div('vec-name', name, head);
  div('vec-norm', `‖·‖ = ${fmt(norm)}`, head);
  block.appendChild(bars(values, opts));
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'numbers';
  const pre = document.createElement('pre');
  pre.textContent = values.map((v, i) => `${String(i).padStart(3)}  ${fmt(v, 4)}`).join('\n');
  details.append(summary, pre);
  block.appendChild(details);
}

/** "i, f, o ∈ (0,1); g ∈ (−1,1)": the gates grouped by the range of their activations. */
function gateRanges(gates) {
  const groups = new Map();
  for (const g of gates) {
    const range = `(${g.range.map((v) => String(v).replace('-', '−')).join(',')})`;
    groups.set(range, [...(groups.get(range) ?? []), g.name]);
  }
  return [...groups].map(([range, names]) => `${names.join(', ')} ∈ ${range}`).join('; ');
}

function l2(values) {
  return Math.sqrt(values.reduce((a, v) => a + v * v, 0));
}

const shownKeys = new WeakMap();   // container → the key of what it shows

/** Fill `container` with the inspector of selection {node, t, kind} at `cursor`. */
export function renderInspector(container, selection, { store, cursor, meta }) {
  // rebuild only when what it shows changed (keeps an opened "numbers" list open while stepping)
  const key = inspectorKey(selection, store, cursor);
  if (shownKeys.get(container) === key) return;
  shownKeys.set(container, key);
  container.replaceChildren();
  if (!selection || !meta) {
    div('muted', 'Click a node of the graph to inspect its numbers.', container);
    return;
  }
  const { node, t, kind } = selection;
  const s = subscript;
  if (kind === 'x') {
    div('insp-title', `x${s(t)} — input at t = ${t}`, container);
    div('', meta.input_labels?.[t] ? `“${meta.input_labels[t]}”` : 'The input vector (not streamed).', container);
    if (isPadding(meta, t)) div('muted', `Padding: this sentence has ${meta.length} steps; t = ${t} is not run.`, container);
    return;
  }
  if (isPadding(meta, t)) {
    div('insp-title', `${kind}${s(t)} — padding`, container);
    div('muted', `This sentence has ${meta.length} steps: t = ${t} is padding. It is not run (as torch's `
      + 'pack_padded_sequence): no value, no gradient, no loss; a reverse direction starts at the last real step.', container);
    return;
  }
  const fwd = store.find('forward', eventNodeOf(kind, node, 'forward', meta), t, cursor);
  const bwd = store.find('backward', eventNodeOf(kind, node, 'backward', meta), t, cursor);
  const half = halfAt(meta, t);   // an encoder–decoder's
  const where = (node.startsWith('h_l') ? ` · layer ${Number(node[3]) + 1}${node.endsWith('_reverse') ? ' · reverse' : ''}` : '')
    + (half ? ` · ${half}` : '');
  const names = { out: `o${s(t)}`, loss: `L${s(t)}`, e: `e${s(t)} = E[x${s(t)}]` };
  div('insp-title', `${names[kind] ?? `${kind}${s(t)}`}${where}`, container);
  if (!fwd) {
    div('muted', 'Not computed yet at this step of the run.', container);
    return;
  }
  if (kind === 'e') {
    if (meta.input_labels?.[t]) div('', `the row of “${meta.input_labels[t]}” in the embedding table E`, container);
    vectorBlock(container, `e${s(t)}`, fwd.values.e ?? [], fwd.norms.e ?? l2(fwd.values.e ?? []));
    if (bwd?.values.de) vectorBlock(container, `∂L/∂e${s(t)} (added to that row of ∂L/∂E)`, bwd.values.de, bwd.norms.de ?? l2(bwd.values.de));
    else div('muted', 'Gradient: not back-propagated to this node yet.', container);
    contributions(container, store, t, (p) => p === 'embedding.weight');
    return;
  }
  if (kind === 'loss') {
    div('big-number', `L${s(t)} = ${fmt(fwd.norm, 4)}`, container);
    if (meta.target_labels?.[t]) div('', `target y${s(t)} = “${meta.target_labels[t]}”`, container);
    return;
  }
  if (kind === 'out') {
    vectorBlock(container, `o${s(t)} (logits)`, fwd.values.logits ?? [], fwd.norm);
    if (fwd.values.probs) vectorBlock(container, `ŷ${s(t)} = softmax(o${s(t)})`, fwd.values.probs, fwd.norms.probs ?? l2(fwd.values.probs), { signed: false, max: 1 });
    if (meta.output_labels) div('muted', `classes: ${meta.output_labels.join(' · ')}`, container);
    if (bwd) vectorBlock(container, `∂L/∂o${s(t)}`, bwd.values.dlogits ?? [], bwd.norm);
    contributions(container, store, t, (p) => p.startsWith('head.'));
    return;
  }
  // a state row: h, or another recurrent state (an LSTM's c), whose values ride on the h events
  const norm = (ev, name) => (name === 'h' || name === 'dh' ? ev.norm : ev.norms[name] ?? l2(ev.values[name]));
  if (fwd.values[kind]) vectorBlock(container, `${kind}${s(t)}`, fwd.values[kind], norm(fwd, kind));
  if (bwd) {
    if (bwd.values[`d${kind}`]) vectorBlock(container, `∂L/∂${kind}${s(t)}`, bwd.values[`d${kind}`], norm(bwd, `d${kind}`));
  } else {
    div('muted', 'Gradient: not back-propagated to this node yet.', container);
  }
  const gates = gatesOf(meta);
  if (gates.length) {
    div('insp-sub', `Gates (${gateRanges(gates)})`, container);
    for (const gate of gates) {
      const v = fwd.values[gate.name];
      if (v) vectorBlock(container, gate.name, v, fwd.norms[gate.name] ?? l2(v), { signed: gate.range[0] < 0, max: Math.max(...gate.range.map(Math.abs)), title: gate.title });
    }
    if (kind === 'h') {
      for (const state of extraStates(meta)) {
        if (fwd.values[state]) vectorBlock(container, `${state}${s(t)} (cell state)`, fwd.values[state], norm(fwd, state));
      }
    }
  }
  const jac = store.summary?.jacobianNorms?.[node]?.[t];
  if (meta.tree) {   // issue 15: a tree node's edge goes to its parent; every shared weight is a tree's
    const parent = meta.tree.parent[t];
    div('insp-sub', 'Jacobian of the edge to its parent', container);
    div('', parent === null ? 'the root: no parent' : jac === undefined ? 'known once the run is complete'
      : `‖∂h${s(parent)}/∂h${s(t)}‖₂ = ${fmt(jac, 4)} (depth ${meta.tree.depth[t]})`, container);
    contributions(container, store, t, (p) => Number.isFinite(store.summary?.contributions?.[p]?.[t]));   // the weights node t used
    return;
  }
  cellWeights(container, store, meta, node, half);
  div('insp-sub', 'Jacobian into this step', container);
  const across = t === contextStep(meta) ? ' (the context edge: from the encoder’s last state)' : '';
  div('', jac === undefined ? 'known once the run is complete' : `‖∂s${s(t)}/∂s_prev‖₂ = ${fmt(jac, 4)}${Number.isNaN(jac) ? ' (first step: no previous state)' : across}`, container);
  const suffix = node.slice(2);   // "l0" or "l0_reverse"
  contributions(container, store, t, (p) => p.endsWith(`_${suffix}`));
}

/** The cell's extra weights of this layer (the peepholes P of a peephole LSTM), row by row. */
function cellWeights(container, store, meta, node, half) {
  if (!cellSpecOf(meta).extra_weights) return;
  const weights = cellWeightsOf(meta, store.summary, node, half);
  if (!weights.length) div('muted', 'The cell’s own weights: known once the run is complete', container);
  for (const { param, rows } of weights) {
    div('insp-sub', lectureName(param), container);
    for (const [name, values] of rows) vectorBlock(container, name, values, l2(values));
  }
}

/** What the inspector of `selection` depends on at `cursor`: the events it shows and the summary. */
function inspectorKey(selection, store, cursor) {
  if (!selection || !store.meta) return `none|${store.runId}`;
  const { node, t, kind } = selection;
  const fwd = store.find('forward', eventNodeOf(kind, node, 'forward', store.meta), t, cursor);
  const bwd = store.find('backward', eventNodeOf(kind, node, 'backward', store.meta), t, cursor);
  return [store.runId, kind, node, t, fwd?.seq, bwd?.seq, Boolean(store.summary)].join('|');
}

/** The node's per-step contribution to each shared weight's gradient (from the summary). */
function contributions(container, store, t, accept) {
  div('insp-sub', 'Its share of the shared weights’ gradients', container);
  const contrib = store.summary?.contributions;
  if (!contrib) {
    div('muted', 'known once the run is complete', container);
    return;
  }
  const table = document.createElement('table');
  table.className = 'contrib-table';
  for (const [param, series] of Object.entries(contrib)) {
    // an encoder–decoder's parameters are "encoder.…"/"decoder.…": only the step's own half used them
    const own = param.replace(/^(encoder|decoder)\./, '');
    if (!accept(own) || (own !== param && !Number.isFinite(series[t]))) continue;
    const total = series.filter(Number.isFinite).reduce((a, v) => a + v, 0);
    const tr = table.insertRow();
    tr.insertCell().textContent = lectureName(param);
    tr.insertCell().textContent = `‖step ${t}‖ = ${fmt(series[t])}`;
    tr.insertCell().textContent = total > 0 && Number.isFinite(series[t]) ? `${fmt((100 * series[t]) / total, 2)} % of Σₜ` : '';
    tr.title = param;
  }
  container.appendChild(table);
}
