// Step equations (lecture notation, numbers filled in) of issue 15's topologies: a recursive
// network's tree nodes (meta.tree) and the hidden steps of a Jordan or output-recurrent network
// (meta.topology.feed). equations.js asks here first; null means "a chain step: not mine".

import { fmt, fmtVector, subscript } from './format.js';

const SHORT = 4;

function valueText(name, values, norm) {
  return values && values.length <= SHORT ? `${name} = ${fmtVector(values)}` : `‖${name}‖ = ${fmt(norm)}`;
}

/** The description ({title, lines}) of event `ev` of a tree or feedback network, else null. */
export function describeTopologyEvent(ev, store, meta) {
  if (meta.tree && ev.node === 'h_tree') return treeStep(ev, store, meta.tree);
  if (meta.topology?.feed && ev.node === 'h_l0') return feedbackStep(ev, meta);
  return null;
}

function treeStep(ev, store, tree) {
  const s = subscript;
  const k = ev.t;
  const lines = [];
  const add = (text, cls = '') => lines.push([text, cls]);
  const kids = tree.children[k];
  const depth = tree.depth[k];
  if (ev.phase === 'forward') {
    if (kids) add(`h${s(k)} = tanh(U h${s(kids[0])} + W h${s(kids[1])} + b)`, 'eq');
    else {
      const i = tree.leaves.indexOf(k);
      const word = tree.words?.[i];
      add(`h${s(k)} = tanh(V x${s(i)} + b_leaf)${word ? `   x${s(i)} = “${word}”` : ''}`, 'eq');
    }
    add(valueText(`h${s(k)}`, ev.values.h, ev.norm), 'result');
    return { title: `Forward: tree node ${k} (depth ${depth}, post-order)`, lines };
  }
  const parent = tree.parent[k];
  if (parent === null || parent === undefined) add(`∂L/∂h${s(k)} = V_oᵀ ∂L/∂o   (the root)`, 'eq');
  else {
    const M = tree.side[k] === 'left' ? 'U' : 'W';
    add(`∂L/∂h${s(k)} = ${M}ᵀ diag(1 − h${s(parent)}²) ∂L/∂h${s(parent)}`, 'eq');
    const up = store.find('backward', 'h_tree', parent, ev.seq);
    if (up) add(`‖∂L/∂h${s(parent)}‖ = ${fmt(up.norm)}   →   ‖∂L/∂h${s(k)}‖ / ‖∂L/∂h${s(parent)}‖ = ${fmt(ev.norm / up.norm)}`);
    add(`depth ${depth}: the root's gradient has crossed ${depth} child→parent Jacobian${depth === 1 ? '' : 's'}`);
  }
  add(valueText(`∂L/∂h${s(k)}`, ev.values.dh, ev.norm), 'result');
  return { title: `Backward through structure: node ${k} (depth ${depth})`, lines };
}

function feedbackStep(ev, meta) {
  const s = subscript;
  const t = ev.t;
  const { feed, alpha } = meta.topology;
  const lines = [];
  const add = (text, cls = '') => lines.push([text, cls]);
  const prev = s(t - 1);
  const fed = { memory: `m${s(t)}`, teacher: `y${prev}`, output: `ŷ${prev}` }[feed];
  if (ev.phase === 'forward') {
    if (feed === 'memory') add(`m${s(t)} = ${alpha}·m${prev} + ŷ${prev}   (α fixed, not learned)`, 'eq');
    add(`h${s(t)} = tanh(U x${s(t)} + W ${t === 0 ? '0' : fed} + b)`, 'eq');
    if (feed === 'teacher' && t > 0) add(`y${prev} = “${meta.target_labels?.[t - 1] ?? '?'}”: the true previous output (teacher forcing)`);
    if (feed === 'output' && t > 0) add(`ŷ${prev}: the model's own previous output (free running, test time)`);
    add(valueText(`h${s(t)}`, ev.values.h, ev.norm), 'result');
    return { title: `Forward step t = ${t}`, lines };
  }
  const above = (meta.has_target?.[t] ?? true) ? `Vᵀ ∂L/∂o${s(t)}` : '0';
  const why = t > 0 ? `   (${fed} is a constant: no gradient reaches step ${t - 1})` : '';
  add(`∂L/∂h${s(t)} = ${above}${why}`, 'eq');
  add(valueText(`∂L/∂h${s(t)}`, ev.values.dh, ev.norm), 'result');
  return { title: `Backward step t = ${t}`, lines };
}
