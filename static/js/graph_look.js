// How one node of the unrolled graph looks at a cursor: its fill, text, class and tooltip (pure:
// reads the event store, touches no DOM). Forward: the size of the value; backward: log ‖∂L/∂node‖.

import { GRAPH } from './theme/config.js';
import { fillFor, forwardPosition, logPosition, lightText } from './colors.js';
import { fmt } from './format.js';
import { eventNodeOf } from './graph_layout.js';

/** `text` cut to `max` characters with an ellipsis. */
export function shorten(text, max = GRAPH.maxLabelChars) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The scales every node of a frame shares: {phase, domain, fwdTop, H} at `cursor`. */
export function frameScales(store, cursor) {
  return {
    phase: store.phaseAt(cursor),
    domain: store.backwardDomain(),
    fwdTop: store.forwardScale(),
    embTop: store.embeddingScale?.() ?? store.forwardScale(),   // issue 20: e(t)'s own scale
    H: store.meta?.hidden_size ?? 1,
  };
}


/** The text of a non-finite number on a node. */
function nonFinite(v) {
  return Number.isNaN(v) ? 'NaN' : '∞';
}

/** {fill, text, light, cls, title} of layout node `node` at `cursor` (text undefined: keep it). */
export function nodeLook(node, { store, cursor, meta, scales }) {
  if (node.look) return node.look({ store, cursor, meta, scales });   // a node with its own look (graph_feedback.js's memory)
  const { kind, t } = node;
  const { phase, domain, fwdTop, H } = scales;
  const stem = `${node.stem}(${t})`;
  if (node.padded) {
    const why = `padding: this sentence has ${meta.length} steps, so t=${t} is not run (no value, no gradient, no loss)`;
    return kind === 'x'
      ? { fill: 'none', text: shorten(node.label), cls: 'given padded', title: `x(${t}) = “${node.label}”, ${why}` }
      : { fill: 'none', text: '', cls: 'padded', title: `${stem}: ${why}` };
  }
  if (kind === 'x') {
    const what = `x(${t})${node.label ? ` = “${node.label}”` : ''}`;
    return {
      fill: 'var(--node-input)', text: shorten(node.label), cls: node.fedBack ? 'given fed-back' : 'given',
      title: node.fedBack ? `${what}, fed back: the argmax of ŷ(${t - 1})` : what,
    };
  }
  const isState = kind !== 'out' && kind !== 'loss';
  const fwd = store.find('forward', eventNodeOf(kind, node.node, 'forward', meta), t, cursor);
  let text = isState ? '' : undefined;
  if (kind === 'out') text = predictedLabel(fwd, meta.output_labels);
  if (kind === 'loss') text = shorten(node.label);
  if (phase === 'backward' && kind !== 'loss') {
    const bwd = store.find('backward', eventNodeOf(kind, node.node, 'backward', meta), t, cursor);
    if (!bwd) return { fill: 'var(--node-pending)', text, cls: fwd ? 'waiting' : 'pending', title: `${stem}: gradient not yet computed` };
    const g = kind === 'h' || kind === 'out' ? bwd.norm : bwd.norms[`d${kind}`];
    const u = logPosition(g, domain);
    if (text === '' && !Number.isFinite(g)) text = nonFinite(g);
    text = scalarText(node, bwd, 'backward', meta) ?? text;
    return { fill: fillFor('backward', g, u), text, light: lightText(u, g), cls: 'done', title: `${stem}: ‖∂L/∂${kind === 'out' ? 'o' : kind}‖ = ${fmt(g)}` };
  }
  if (!fwd) return { fill: 'var(--node-pending)', text: kind === 'loss' ? text : '', cls: 'pending', title: `${stem}: not yet computed` };
  let v;
  let u;
  if (kind === 'loss') { v = fwd.norm; u = Math.min(1, v / 3); }
  else if (kind === 'out') { v = fwd.norm; u = Math.min(1, v / (3 * Math.sqrt(meta.output_size))); }
  else {
    v = kind === 'h' ? fwd.norm : fwd.norms[kind];
    u = forwardPosition(v / Math.sqrt(kind === 'e' ? meta.embedding_size : H), kind === 'e' ? scales.embTop ?? fwdTop : fwdTop);
  }
  if (text === '' && !Number.isFinite(v)) text = nonFinite(v);
  text = scalarText(node, fwd, 'forward', meta) ?? text;
  const what = kind === 'loss' ? `L(${t})` : `‖${kind === 'out' ? 'o' : kind}‖`;
  return { fill: fillFor('forward', v, u), text, light: lightText(u, v), cls: 'done', title: `${stem}: ${what} = ${fmt(v)}` };
}

/** Scalar mode (hidden size 1; an output of size 1): the node's one number, forward or its gradient
 * backward, written on it (undefined otherwise). */
export function scalarText(node, ev, phase, meta) {
  const kind = node.kind === 'out' ? 'logits' : node.kind;
  const size = node.kind === 'out' ? meta.output_size : meta.hidden_size;
  if (size !== 1 || node.kind === 'loss' || node.kind === 'x') return undefined;
  const value = ev?.values[phase === 'backward' ? `d${kind}` : kind]?.[0];
  return value === undefined ? undefined : fmt(value);
}

/** The predicted label (argmax of ŷ) of an output node, when the output classes have names. */
function predictedLabel(fwd, labels) {
  if (!fwd || !labels) return '';
  const p = fwd.values.probs ?? fwd.values.logits;
  if (!p || !p.length) return '';
  let best = 0;
  p.forEach((v, i) => { if (v > p[best]) best = i; });
  return shorten(String(labels[best] ?? ''));
}

/** Stroke width of a recurrent edge carrying ‖∂L/∂h‖ back at `cursor` ('' when it carries nothing yet). */
export function edgeWidth(carries, { store, cursor, scales }) {
  if (!carries || scales.phase !== 'backward') return '';
  const ev = store.find('backward', carries.node, carries.t, cursor);
  if (!ev) return '';
  const u = Number.isFinite(ev.norm) ? logPosition(ev.norm, scales.domain) : 1;
  return String(GRAPH.minRecurrentWidth + u * (GRAPH.maxRecurrentWidth - GRAPH.minRecurrentWidth));
}
