// The equation the current event just evaluated, in lecture notation, with its numbers filled in:
// the actual vectors when they are short (H ≤ 4), their norms otherwise. The cell's own lines,
// gates and states come from meta.cell_spec (its lecture templates: engine/cells/lecture.py).

import { fmt, fmtVector, subscript } from './format.js';
import { contextStep, halfAt, weightMark } from './segments.js';
import { cellSpecOf, cellWeightsOf, extraStates } from './cell_spec.js';
import { describeTopologyEvent } from './equations_topology.js';

const SHORT = 4;

function vec(values) {
  return values && values.length <= SHORT ? fmtVector(values) : null;
}

/** "= [..]" for short vectors, "‖·‖ = n" otherwise. */
function valueText(name, values, norm) {
  const v = vec(values);
  return v ? `${name} = ${v}` : `‖${name}‖ = ${fmt(norm)}`;
}

/** A lecture template with the step's names filled in ("h{t} = …" → "h₃ = …"). */
export function fill(template, names) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in names ? names[key] : whole));
}

function l2(values) {
  if (!values) return NaN;
  return Math.sqrt(values.reduce((a, v) => a + v * v, 0));
}

/** Lines describing event `ev` ({title, lines: [[text, cls]…]}) given the store and meta. */
export function describeEvent(ev, store, meta) {
  if (!ev) return { title: 'Press Run (or →) to start', lines: [] };
  const topology = describeTopologyEvent(ev, store, meta);   // a tree node, a Jordan / output-recurrent step
  if (topology) return topology;
  const s = subscript;
  const t = ev.t;
  const rev = ev.direction === 1;
  const prevT = rev ? t + 1 : t - 1;
  const prevName = rev ? `${t + 1}` : `${t - 1}`;
  const cursor = ev.seq;
  const lines = [];
  const add = (text, cls = '') => lines.push([text, cls]);
  const layerTag = meta.layers > 1 ? ` (layer ${ev.layer + 1}${rev ? ', reverse' : ''})` : rev ? ' (reverse direction)' : '';
  const xName = meta.input_labels?.[t] ? `x${s(t)} “${meta.input_labels[t]}”` : `x${s(t)}`;
  const inName = ev.layer > 0 ? `h${s(t)} of layer ${ev.layer}` : xName;
  const hPrev = store.find('forward', ev.node, prevT, cursor);
  const hPrevText = (prevT < 0 || prevT >= meta.T) ? '0 (initial state)' : hPrev ? (vec(hPrev.values.h) ?? null) : `h${s(prevT)}`;
  // an encoder–decoder marks each step's weights ᴱ (encoder) or ᴰ (decoder); its context is the
  // edge from the encoder's last step into the decoder's first
  const contextT = contextStep(meta);
  const U = `U${weightMark(meta, t)}`;
  const W = `W${weightMark(meta, t)}`;

  if (ev.node === 'logits' && ev.phase === 'forward') {
    add(`o${s(t)} = V h${s(t)} + c`, 'eq');
    add(valueText(`o${s(t)}`, ev.values.logits, ev.norms.logits ?? ev.norm));
    if (ev.values.probs) {
      add(`ŷ${s(t)} = softmax(o${s(t)})`, 'eq');
      add(valueText(`ŷ${s(t)}`, ev.values.probs, ev.norms.probs));
    }
    return { title: `Output at t = ${t}`, lines };
  }
  if (ev.node === 'loss') {
    const target = meta.target_labels?.[t];
    const hasTarget = meta.has_target?.[t] ?? true;
    if (!hasTarget) add(`no target at t = ${t}: L${s(t)} = 0`, 'eq');
    else if (meta.loss === 'cross_entropy') add(`L${s(t)} = −log ŷ${s(t)}[y${s(t)}${target ? ` = “${target}”` : ''}]`, 'eq');
    else add(`L${s(t)} = mean((o${s(t)} − y${s(t)})²)`, 'eq');
    add(`L${s(t)} = ${fmt(ev.norm, 4)}`);
    return { title: `Loss at t = ${t}`, lines };
  }
  if (ev.node === 'logits' && ev.phase === 'backward') {
    add(meta.loss === 'cross_entropy' ? `∂L/∂o${s(t)} = ŷ${s(t)} − y${s(t)}` : `∂L/∂o${s(t)} = 2(o${s(t)} − y${s(t)}) / O`, 'eq');
    add(valueText(`∂L/∂o${s(t)}`, ev.values.dlogits, ev.norm));
    return { title: `Gradient at the output, t = ${t}`, lines };
  }
  const v = ev.values;
  const spec = cellSpecOf(meta);
  const lecture = spec.lecture;
  const gateLine = () => spec.gates.map((g) => g.name).filter((g) => v[g]).map((g) => (vec(v[g]) ? `${g} = ${vec(v[g])}` : `‖${g}‖ = ${fmt(ev.norms[g] ?? l2(v[g]))}`)).join('   ');
  if (ev.phase === 'forward') {
    const names = { t: s(t), prev: s(prevName), U, W, input: inName };
    for (const item of lecture.forward) {
      const state = /^\{state:(\w+)\}$/.exec(item)?.[1];
      if (item === '{gates}') add(gateLine());
      else if (state) add(valueText(`${state}${s(t)}`, v[state], ev.norms[state] ?? l2(v[state])));
      else add(fill(item, names), 'eq');
    }
    for (const { rows } of cellWeightsOf(meta, store.summary, ev.node, halfAt(meta, t))) {   // e.g. the peepholes' numbers
      add(rows.map(([name, values]) => valueText(name, values, l2(values))).join('   '));
    }
    if (t === contextT) add(`h${s(prevName)} is the encoder's last state: the context`, 'eq');
    add(hPrevText === null ? `‖h${s(prevName)}‖ = ${fmt(hPrev.norm)}` : `h${s(prevName)} = ${hPrevText}`);
    add(valueText(`h${s(t)}`, v.h, ev.norm), 'result');
    return { title: `Forward step t = ${t}${layerTag}`, lines };
  }
  // backward h step
  const nextT = rev ? t - 1 : t + 1;
  const nextName = rev ? `${t - 1}` : `${t + 1}`;
  const top = ev.layer === meta.layers - 1;
  // the terms that exist: an output only where there is a target, no recurrent path from
  // beyond the last step or across W cut by Elman's context units
  const above = !top ? `Uᵀ ∂L/∂(layer ${ev.layer + 2} at t=${t})` : (meta.has_target?.[t] ?? true) ? `Vᵀ ∂L/∂o${s(t)}` : null;
  const cut = meta.config?.recurrent_gradient === false;
  const hasNext = nextT >= 0 && nextT < meta.T && !cut;
  const Wn = `W${weightMark(meta, nextT)}`;
  const names = { t: s(t), next: s(nextName), next_step: nextName, Wn };
  const recurrent = fill(lecture.recurrent, names);
  const terms = [above, hasNext ? recurrent : null].filter(Boolean);
  let why = '';
  if (cut && nextT >= 0 && nextT < meta.T) why = '   (context units: no gradient back through W)';
  else if (t + 1 === contextT && !rev) why = '   (from the decoder, across the context)';
  add(`∂L/∂h${s(t)} = ${terms.length ? terms.join(' + ') : '0'}${why}`, 'eq');
  for (const st of extraStates(meta)) {
    const grad = lecture.state_gradients[st];
    if (grad) add(fill(grad + (hasNext ? lecture.state_recurrences[st] ?? '' : ''), names), 'eq');
    if (v[`d${st}`]) add(valueText(`∂L/∂${st}${s(t)}`, v[`d${st}`], ev.norms[`d${st}`] ?? l2(v[`d${st}`])));
  }
  const next = store.find('backward', ev.node, nextT, cursor);
  if (hasNext && next) {
    add(`‖∂L/∂h${s(nextName)}‖ = ${fmt(next.norm)}   →   ‖∂L/∂h${s(t)}‖ / ‖∂L/∂h${s(nextName)}‖ = ${fmt(ev.norm / next.norm)}`);
  }
  add(valueText(`∂L/∂h${s(t)}`, v.dh, ev.norm), 'result');
  return { title: `Backward step t = ${t}${layerTag}`, lines };
}

/** Draw a description into the equation box (text only: textContent, never HTML). */
export function renderEquation(container, desc) {
  const title = document.createElement('div');
  title.className = 'eq-title';
  title.textContent = desc.title;
  const body = desc.lines.map(([text, cls]) => {
    const line = document.createElement('div');
    line.className = `eq-line ${cls}`;
    line.textContent = text;
    return line;
  });
  container.replaceChildren(title, ...body);
}
