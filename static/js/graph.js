// The unrolled graph (SVG): a column per timestep, a row per quantity, every edge labelled with
// its shared weight. build(meta) lays it out once per run; render(view) recolours it for a cursor.
// Usage patterns: outputs are drawn only where a loss exists (many-to-one draws one ŷ); a
// free-running run draws ŷ(t) → x(t+1) feedback edges (the decoder's, in an encoder–decoder); Elman context units draw W as cut; an
// encoder–decoder (meta.segments) draws two shaded halves joined by the context edge, its weights
// marked ᴱ (encoder) and ᴰ (decoder).

import { GRAPH, COLORS } from './theme/config.js';
import { fillFor, forwardPosition, logPosition, lightText } from './colors.js';
import { OverviewStrip } from './overview.js';
import { fmt, subscript } from './format.js';
import { contextStep, weightMark } from './segments.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Lecture name of a weight on an edge: U/W with the layer (when stacked) and a prime for reverse. */
function weightLabel(base, layer, layers, direction) {
  return `${base}${layers > 1 ? subscript(layer + 1) : ''}${direction === 1 ? '′' : ''}`;
}

/** The usage pattern a run's meta describes: outputs fed back? gradient through W? */
export function patternOf(meta) {
  return {
    feedback: meta.config?.unroll === 'free_running',
    cut: meta.config?.recurrent_gradient === false,
    segments: meta.segments?.length === 2 ? meta.segments : null,
  };
}

/** The rows of the graph, top to bottom, for a run's meta. */
export function graphRows(meta) {
  const rows = [{ kind: 'loss', node: 'loss', label: 'L(t)' }, { kind: 'out', node: 'logits', label: meta.loss === 'cross_entropy' ? 'ŷ(t)' : 'o(t)' }];
  const stacked = meta.layers > 1;
  for (let layer = meta.layers - 1; layer >= 0; layer -= 1) {
    const dirs = meta.directions === 2 ? [1, 0] : [0];
    for (const direction of dirs) {
      const node = `h_l${layer}${direction === 1 ? '_reverse' : ''}`;
      const suffix = `${stacked ? subscript(layer + 1) : ''}${direction === 1 ? '←' : ''}`;
      if (meta.cell === 'lstm') rows.push({ kind: 'c', node, layer, direction, label: `c${suffix}(t)` });
      rows.push({ kind: 'h', node, layer, direction, label: `h${suffix}(t)` });
    }
  }
  rows.push({ kind: 'x', node: 'x', label: 'x(t)' });
  rows.forEach((r, i) => { r.index = i; });
  return rows;
}

/** The SVG unrolled graph with zoom, pan, an overview strip and a window that follows the cursor. */
export class UnrolledGraph {
  /** svg: the <svg data-testid="graph">; overview: the strip's <svg>; onSelect/onHover(node, t), onUserMove(). */
  constructor(svg, overview, { onSelect, onHover, onUserMove = () => {} }) {
    this.svg = svg;
    this.onUserMove = onUserMove;   // the user panned or jumped: the page stops showing "follow"
    this.overview = new OverviewStrip(overview, (t) => { this.follow = false; this.centerOn(t); onUserMove(); });
    this.onSelect = onSelect;
    this.onHover = onHover;
    this.meta = null;
    this.zoom = 1;
    this.panX = 0;
    this.follow = true;
    this.nodes = new Map();   // "kind|node|t" → {g, circle, text, title, row, t, state}
    this.edges = [];          // recurrent h edges: {path, row, fromT, gradT}
    this.installPanZoom();
    new ResizeObserver(() => this.applyViewBox()).observe(svg);
  }

  /** Lay the graph out for a new run (meta message). */
  build(meta) {
    this.meta = meta;
    this.pattern = patternOf(meta);
    this.rows = graphRows(meta);
    this.svg.replaceChildren();
    this.nodes.clear();
    this.edges = [];
    const T = meta.T;
    this.contentWidth = GRAPH.marginLeft + (T + 2) * GRAPH.columnWidth;
    // deep stacks get denser rows so the whole unrolled network still fits on a screen
    this.rowHeight = this.rows.length > 8 ? GRAPH.denseRowHeight : GRAPH.rowHeight;
    this.contentHeight = GRAPH.marginTop + this.rows.length * this.rowHeight + GRAPH.marginBottom;
    const defs = el('defs', {}, this.svg);
    const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head', fill: 'context-stroke' }, marker);
    this.layers = {
      segments: el('g', { class: 'segments' }, this.svg),
      edges: el('g', { class: 'edges' }, this.svg),
      nodes: el('g', { class: 'nodes' }, this.svg),
      axis: el('g', { class: 'axis' }, this.svg),
      labels: el('g', { class: 'row-labels' }, this.svg),
    };
    this.drawSegments();
    this.drawEdges();
    this.drawNodes();
    this.drawAxis();
    this.drawRowLabels();
    this.overview.build(this.rows.filter((r) => r.kind === 'h'), meta.T);
    this.fit();
  }

  cx(t) { return GRAPH.marginLeft + (t + 1.5) * GRAPH.columnWidth; }

  cy(row) { return GRAPH.marginTop + (row.index + 0.5) * this.rowHeight; }

  rowOf(kind) { return this.rows.find((r) => r.kind === kind); }

  /** Free running: is x(t) the previous output fed back? (from the decoder's second step on in an
   * encoder–decoder, whose encoder reads the given input) */
  fedBackAt(t) { return this.pattern.feedback && t > (contextStep(this.meta) ?? 0); }

  /** A weight's name on an edge into step t: U, W, … with ᴱ/ᴰ in an encoder–decoder. */
  weightName(base, layer, direction, t) {
    return `${weightLabel(base, layer, this.meta.layers, direction)}${weightMark(this.meta, t)}`;
  }

  /** Encoder–decoder: a shaded band and a heading over each half. */
  drawSegments() {
    if (!this.pattern.segments) return;
    const cw = GRAPH.columnWidth;
    const bottom = GRAPH.marginTop + this.rows.length * this.rowHeight + 4;
    const headings = { encoder: 'Encoder: reads the input', decoder: 'Decoder: starts from the context' };
    for (const seg of this.pattern.segments) {
      const x0 = this.cx(seg.start) - cw / 2 + 3;
      const x1 = this.cx(seg.stop - 1) + cw / 2 - 3;
      const g = el('g', { class: `segment segment-${seg.name}`, 'data-segment': seg.name }, this.layers.segments);
      el('rect', { x: x0, y: 2, width: x1 - x0, height: bottom - 2, rx: 10 }, g);
      const text = el('text', { x: x0 + 10, y: 17, class: 'segment-label' }, g);
      text.textContent = headings[seg.name] ?? seg.name;
    }
  }

  /** True when step t carries a target (and so a loss). */
  hasTarget(t) { return this.meta.has_target?.[t] ?? true; }

  /** Which columns hold a node in this row: outputs and losses only where there is a target
   * (an output without a loss takes no part in training, so the graph leaves it out). */
  columnsOf(row) {
    const all = [...Array(this.meta.T).keys()];
    if (row.kind === 'loss' || row.kind === 'out') return all.filter((t) => this.hasTarget(t));
    return all;
  }

  drawNodes() {
    const { meta } = this;
    const R = GRAPH.nodeRadius;
    for (const row of this.rows) {
      const y = this.cy(row);
      if (row.kind === 'h' || row.kind === 'c') {
        // the initial state: h(−1) for the forward direction, h(T) for the reverse one
        const t0 = row.direction === 1 ? meta.T : -1;
        const g = el('g', { class: 'node initial', 'data-role': 'initial', transform: `translate(${this.cx(t0)},${y})` }, this.layers.nodes);
        el('circle', { r: R * 0.8 }, g);
        const text = el('text', { class: 'node-text', dy: '0.35em' }, g);
        text.textContent = '0';
        el('title', {}, g).textContent = `${row.kind}(${t0}) = 0, the initial state`;
        const lab = el('text', { class: 'initial-label', y: R + 16 }, g);
        lab.textContent = `${row.kind}(${t0 === -1 ? '−1' : `T=${t0}`})`;
      }
      for (const t of this.columnsOf(row)) {
        const nodeName = row.kind === 'c' ? `c_${row.node.slice(2)}` : row.node;
        const fedBack = row.kind === 'x' && this.fedBackAt(t);
        const g = el('g', { class: `node kind-${row.kind}`, 'data-node': nodeName, 'data-t': t, transform: `translate(${this.cx(t)},${y})` }, this.layers.nodes);
        if (fedBack) g.dataset.fedBack = '1';
        const circle = row.kind === 'x' || row.kind === 'loss'
          ? el('rect', { x: -R, y: -R * 0.8, width: 2 * R, height: 1.6 * R, rx: 6 }, g)
          : el('circle', { r: R }, g);
        const text = el('text', { class: 'node-text', dy: '0.35em' }, g);
        const title = el('title', {}, g);
        const label = this.staticLabel(row, t);
        if (label) text.textContent = shorten(label, GRAPH.maxLabelChars);
        const entry = { g, circle, text, title, row, t, label, state: '' };
        this.nodes.set(`${row.kind}|${row.node}|${t}`, entry);
        g.addEventListener('click', () => this.onSelect(row.node, t, row.kind));
        g.addEventListener('mouseenter', () => this.onHover(row.node, t));
        g.addEventListener('mouseleave', () => this.onHover(null, null));
      }
    }
  }

  /** Text fixed on a node for the whole run: the input word/char on x, the target on L. */
  staticLabel(row, t) {
    if (row.kind === 'x') return this.meta.input_labels?.[t] ?? '';
    if (row.kind === 'loss') return this.meta.target_labels?.[t] ?? '';
    return '';
  }

  drawEdges() {
    const { meta } = this;
    const R = GRAPH.nodeRadius;
    const g = this.layers.edges;
    const line = (x0, y0, x1, y1, cls, kind) => el('path', { d: `M${x0},${y0} L${x1},${y1}`, class: cls, 'data-edge': kind, 'marker-end': 'url(#arrow)' }, g);
    const curve = (x0, y0, x1, y1, side, cls, kind) => {
      const dx = side * GRAPH.columnWidth * 0.34;
      return el('path', { d: `M${x0 + dx * 0.45},${y0} C${x0 + dx},${y0 - (y0 - y1) * 0.3} ${x1 + dx},${y1 + (y0 - y1) * 0.3} ${x1 + dx * 0.45},${y1}`, class: cls, 'data-edge': kind, 'marker-end': 'url(#arrow)' }, g);
    };
    const label = (x, y, text, cls = '') => {
      const t = el('text', { x, y, class: `edge-label${cls}`, dy: '0.35em' }, g);
      t.textContent = text;
    };
    const vertical = (fromRow, toRow, t, name, side, kind) => {
      const x = this.cx(t);
      const y0 = this.cy(fromRow) - R;
      const y1 = this.cy(toRow) + R + 2;
      const adjacent = fromRow.index - toRow.index === 1;
      if (adjacent) line(x, y0, x, y1, 'edge vertical', kind);
      else curve(x, y0, x, y1, side, 'edge vertical skip', kind);
      const ym = (y0 + y1) / 2;
      if (name) label(x + (adjacent ? 11 : side * GRAPH.columnWidth * 0.34), ym, name);
    };
    const hRows = this.rows.filter((r) => r.kind === 'h');
    const xRow = this.rowOf('x');
    const outRow = this.rowOf('out');
    const lossRow = this.rowOf('loss');
    for (let t = 0; t < meta.T; t += 1) {
      for (const row of hRows) {
        const side = row.direction === 1 ? 1 : -1;
        const inputs = row.layer === 0 ? [xRow] : hRows.filter((r) => r.layer === row.layer - 1);
        inputs.forEach((src, i) => vertical(src, row, t, i === 0 || src.direction === row.direction ? this.weightName('U', row.layer, row.direction, t) : '', side, 'input'));
        if (row.layer === meta.layers - 1 && this.hasTarget(t)) vertical(row, outRow, t, row.direction === 0 || meta.directions === 1 ? 'V' : 'V′', side, 'output');
      }
      if (this.hasTarget(t)) {
        const x = this.cx(t);
        line(x, this.cy(outRow) - R, x, this.cy(lossRow) + R * 0.8 + 2, 'edge vertical', 'loss');
      }
    }
    if (this.pattern.feedback) this.drawFeedback(g, outRow, xRow);
    // recurrences (h: W; LSTM c: the forget-gated conveyor), from the initial state on
    for (const row of this.rows.filter((r) => r.kind === 'h' || r.kind === 'c')) {
      const y = this.cy(row);
      const step = row.direction === 1 ? -1 : 1;
      for (let k = 0; k < meta.T; k += 1) {
        const to = row.direction === 1 ? meta.T - 1 - k : k;
        const from = to - step;
        const x0 = this.cx(from) + step * (R + 1);
        const x1 = this.cx(to) - step * (R + 3);
        const cut = this.pattern.cut;
        const context = to === contextStep(meta);
        const name = row.kind === 'h' ? (context ? 'context' : this.weightName('W', row.layer, row.direction, to)) : 'f⊙';
        const kind = row.kind === 'h' ? (context ? 'context' : 'recurrent') : 'cell';
        const path = el('path', { d: `M${x0},${y} L${x1},${y}`, class: `edge recurrent kind-${row.kind}${cut ? ' cut' : ''}${context ? ' context' : ''}`, 'data-edge': kind, 'marker-end': 'url(#arrow)' }, g);
        if (cut) {
          path.dataset.cut = '1';
          el('title', {}, path).textContent = `${name}: the state is treated as an input — no gradient flows back along this edge`;
        }
        if (context) {
          el('title', {}, path).textContent = `the context: the encoder's last ${row.kind}(${to - 1}) starts the decoder (through Wᴰ); every gradient reaching the encoder crosses here`;
        }
        // "context" is wider than the gap between two nodes: it sits above them
        if (context && row.kind === 'h') label((x0 + x1) / 2, y - R - 12, name, ' context-label');
        else label((x0 + x1) / 2, y - 12, name);
        // the gradient flowing back along this edge is ∂L/∂(state at `to`); a cut edge carries none
        if (row.kind === 'h' && !cut) this.edges.push({ path, row, gradT: to });
      }
      if (row.kind === 'c') {
        for (let t = 0; t < meta.T; t += 1) {
          const hRow = hRows.find((r) => r.node === row.node);
          const x = this.cx(t);
          el('path', { d: `M${x},${y + R} L${x},${this.cy(hRow) - R - 2}`, class: 'edge cell-link', 'marker-end': 'url(#arrow)' }, g);
        }
      }
    }
  }

  /** Free running: ŷ(t) is fed back as x(t+1), a curved arrow from each output to the next input. */
  drawFeedback(g, outRow, xRow) {
    const R = GRAPH.nodeRadius;
    const cw = GRAPH.columnWidth;
    const yOut = this.cy(outRow);
    const yIn = this.cy(xRow);
    const first = contextStep(this.meta) ?? 0;   // an encoder–decoder feeds back from its first decoder step
    for (let t = first; t + 1 < this.meta.T; t += 1) {
      const x0 = this.cx(t) + R * 0.75;
      const y0 = yOut + R * 0.7;
      const x1 = this.cx(t + 1) - R - 2;
      const y1 = yIn - R * 0.35;
      const d = `M${x0},${y0} C${x0 + cw * 0.3},${y0 + (yIn - yOut) * 0.35} ${x1 - cw * 0.5},${y1 - (yIn - yOut) * 0.3} ${x1},${y1}`;
      const path = el('path', { d, class: 'edge feedback', 'data-edge': 'feedback', 'data-from-t': t, 'marker-end': 'url(#arrow)' }, g);
      el('title', {}, path).textContent = `ŷ(${t}) is fed back as x(${t + 1})`;
    }
    if (this.meta.T > first + 1) {
      const text = el('text', { x: this.cx(first) + cw * 0.5, y: yIn + R + 14, class: 'edge-label feedback-label', 'data-label': 'fed-back' }, g);
      text.textContent = 'fed back';
    }
  }

  drawAxis() {
    const y = GRAPH.marginTop + this.rows.length * this.rowHeight + 18;
    this.axisLabels = [];
    for (let t = 0; t < this.meta.T; t += 1) {
      const text = el('text', { x: this.cx(t), y, class: 'axis-label' }, this.layers.axis);
      text.textContent = `t=${t}`;
      this.axisLabels.push(text);
    }
  }

  drawRowLabels() {
    const g = this.layers.labels;
    el('rect', { x: 0, y: 0, width: GRAPH.marginLeft - 8, height: this.contentHeight, class: 'row-label-bg' }, g);
    for (const row of this.rows) {
      const text = el('text', { x: 12, y: this.cy(row), dy: '0.35em', class: `row-label kind-${row.kind}` }, g);
      text.textContent = row.label;
    }
  }

  /** Recolour every node for `view` = {store, cursor, phase, current, hover, selected, pausedSeq}. */
  render(view) {
    if (!this.meta) return;
    const { store, cursor } = view;
    const phase = store.phaseAt(cursor);
    const domain = store.backwardDomain();
    const fwdTop = store.forwardScale();
    const H = this.meta.hidden_size;
    for (const entry of this.nodes.values()) {
      const look = this.look(entry, store, cursor, phase, domain, fwdTop, H);
      const key = `${look.fill}|${look.text}|${look.cls}`;
      if (key !== entry.state) {
        entry.state = key;
        entry.circle.setAttribute('fill', look.fill);
        entry.g.setAttribute('class', `node kind-${entry.row.kind} ${look.cls}`);
        if (look.text !== undefined) entry.text.textContent = look.text;
        const long = (look.text ?? entry.text.textContent).length > 3;
        entry.text.setAttribute('class', `node-text${look.light ? ' light' : ''}${long ? ' long' : ''}`);
        entry.title.textContent = look.title;
      }
    }
    this.renderEdges(store, cursor, phase, domain);
    this.mark(view);
    this.overview.render(store, cursor, phase, domain, fwdTop, H);
    const current = store.get(cursor);
    if (current && this.follow) this.followColumn(current.t);
    else this.applyViewBox();
  }

  /** Fill, text and class of one node at a cursor. */
  look(entry, store, cursor, phase, domain, fwdTop, H) {
    const { row, t } = entry;
    const stem = `${row.label.replace('(t)', '')}(${t})`;
    if (row.kind === 'x') {
      const fedBack = this.fedBackAt(t);
      const what = `x(${t})${entry.label ? ` = “${entry.label}”` : ''}`;
      return { fill: 'var(--node-input)', text: shorten(entry.label, GRAPH.maxLabelChars), cls: fedBack ? 'given fed-back' : 'given', title: fedBack ? `${what}, fed back: the argmax of ŷ(${t - 1})` : what };
    }
    const evNode = row.kind === 'out' ? 'logits' : row.kind === 'loss' ? 'loss' : row.node;
    const fwd = store.find('forward', evNode, t, cursor);
    const bwd = phase === 'backward' && row.kind !== 'loss' ? store.find('backward', evNode, t, cursor) : undefined;
    let text = row.kind === 'loss' || row.kind === 'out' ? undefined : '';
    if (row.kind === 'out') text = this.predictedLabel(fwd);
    if (row.kind === 'loss') text = shorten(entry.label, GRAPH.maxLabelChars);
    if (phase === 'backward' && row.kind !== 'loss') {
      if (!bwd) return { fill: 'var(--node-pending)', text, cls: fwd ? 'waiting' : 'pending', title: `${stem}: gradient not yet computed` };
      const g = row.kind === 'c' ? bwd.norms.dc : bwd.norm;
      const u = logPosition(g, domain);
      if (text === '' && !Number.isFinite(g)) text = Number.isNaN(g) ? 'NaN' : '∞';
      return { fill: fillFor('backward', g, u), text, light: lightText('backward', u, g), cls: 'done', title: `${stem}: ‖∂L/∂${row.kind === 'c' ? 'c' : row.kind === 'out' ? 'o' : 'h'}‖ = ${fmt(g)}` };
    }
    if (!fwd) return { fill: 'var(--node-pending)', text: row.kind === 'loss' ? text : '', cls: 'pending', title: `${stem}: not yet computed` };
    let v;
    let u;
    if (row.kind === 'loss') { v = fwd.norm; u = Math.min(1, v / 3); }
    else if (row.kind === 'out') { v = fwd.norm; u = Math.min(1, v / (3 * Math.sqrt(this.meta.output_size))); }
    else { v = row.kind === 'c' ? fwd.norms.c : fwd.norm; u = forwardPosition(v / Math.sqrt(H), fwdTop); }
    if (text === '' && !Number.isFinite(v)) text = Number.isNaN(v) ? 'NaN' : '∞';
    const what = row.kind === 'loss' ? `L(${t})` : `‖${row.kind === 'out' ? 'o' : row.kind}‖`;
    return { fill: fillFor('forward', v, u), text, light: lightText('forward', u, v), cls: 'done', title: `${stem}: ${what} = ${fmt(v)}` };
  }

  /** The predicted label (argmax of ŷ) of an output node, when the output classes have names. */
  predictedLabel(fwd) {
    const labels = this.meta.output_labels;
    if (!fwd || !labels) return '';
    const p = fwd.values.probs ?? fwd.values.logits;
    if (!p || !p.length) return '';
    let best = 0;
    p.forEach((v, i) => { if (v > p[best]) best = i; });
    return shorten(String(labels[best] ?? ''), GRAPH.maxLabelChars);
  }

  renderEdges(store, cursor, phase, domain) {
    for (const edge of this.edges) {
      let width = '';
      if (phase === 'backward') {
        const ev = store.find('backward', edge.row.node, edge.gradT, cursor);
        if (ev) {
          const u = Number.isFinite(ev.norm) ? logPosition(ev.norm, domain) : 1;
          width = String(GRAPH.minRecurrentWidth + u * (GRAPH.maxRecurrentWidth - GRAPH.minRecurrentWidth));
        }
      }
      if (edge.width !== width) {
        edge.width = width;
        if (width) { edge.path.style.strokeWidth = width; edge.path.classList.add('carrying'); }
        else { edge.path.style.strokeWidth = ''; edge.path.classList.remove('carrying'); }
      }
    }
  }

  /** Mark the current, hovered, selected and breakpoint nodes. */
  mark({ store, cursor, hover, selected, pausedSeq }) {
    for (const node of this.svg.querySelectorAll('.current, .hovered, .selected, .paused-at')) {
      node.classList.remove('current', 'hovered', 'selected', 'paused-at');
    }
    const ev = store.get(cursor);
    const keyOf = (node, t) => {
      if (node === 'logits') return `out|logits|${t}`;
      if (node === 'loss') return `loss|loss|${t}`;
      return `h|${node}|${t}`;
    };
    if (ev) this.nodes.get(keyOf(ev.node, ev.t))?.g.classList.add('current');
    if (pausedSeq !== null && pausedSeq !== undefined && pausedSeq === cursor && ev) this.nodes.get(keyOf(ev.node, ev.t))?.g.classList.add('paused-at');
    if (hover) this.nodes.get(keyOf(hover.node, hover.t))?.g.classList.add('hovered');
    if (selected) this.nodes.get(`${selected.kind}|${selected.kind === 'out' ? 'logits' : selected.kind === 'loss' ? 'loss' : selected.node}|${selected.t}`)?.g.classList.add('selected');
  }

  // ---- zoom, pan, follow ----------------------------------------------------------------------

  viewportWidth() { return this.svg.clientWidth || 800; }

  /** Columns visible at the current zoom, as [first, last] (fractional). */
  visibleColumns() {
    const w = this.viewportWidth() / this.zoom;
    const first = (this.panX - GRAPH.marginLeft) / GRAPH.columnWidth - 1;
    return [first, first + w / GRAPH.columnWidth];
  }

  /** Zoom so the whole sequence fits, unless that would make nodes too small to read. */
  fit() {
    if (!this.meta) return;
    const available = this.viewportWidth();
    const floor = document.body.classList.contains('present') ? GRAPH.presentFitZoom : GRAPH.minFitZoom;
    this.zoom = Math.min(1.4, Math.max(floor, available / this.contentWidth));
    this.panX = 0;
    this.follow = true;
    this.applyViewBox();
  }

  /** Multiply the zoom by `factor` keeping the point at client x `anchor` in place. */
  zoomBy(factor, anchor = null) {
    const box = this.svg.getBoundingClientRect();
    const ax = anchor === null ? box.width / 2 : anchor - box.left;
    const worldX = this.panX + ax / this.zoom;
    this.zoom = Math.min(3, Math.max(0.15, this.zoom * factor));
    this.panX = worldX - ax / this.zoom;
    this.applyViewBox();
  }

  /** Put column t in the middle of the view. */
  centerOn(t) {
    const w = this.viewportWidth() / this.zoom;
    this.panX = this.cx(t) - w / 2;
    this.applyViewBox();
  }

  /** Pan only when column t is about to leave the view (the window follows the current step). */
  followColumn(t) {
    const [first, last] = this.visibleColumns();
    const m = GRAPH.followMargin;
    if (t < first + m || t > last - m - 1) this.centerOn(t);
    else this.applyViewBox();
  }

  applyViewBox() {
    if (!this.meta) return;
    const w = this.viewportWidth() / this.zoom;
    const maxPan = Math.max(0, this.contentWidth - w);
    this.panX = Math.min(maxPan, Math.max(0, this.panX));
    this.svg.setAttribute('viewBox', `${this.panX} 0 ${w} ${this.contentHeight}`);
    this.svg.style.height = `${Math.round(this.contentHeight * this.zoom)}px`;
    this.layers.labels.setAttribute('transform', `translate(${this.panX},0)`);
    const [first, last] = this.visibleColumns();
    this.overview.showWindow(first, last);
    // thin out the time axis when columns get narrow
    const every = Math.max(1, Math.ceil(44 / (GRAPH.columnWidth * this.zoom)));
    const nice = [1, 2, 5, 10, 20, 50, 100, 200, 500].find((n) => n >= every) ?? every;
    if (nice !== this.axisEvery) {
      this.axisEvery = nice;
      this.axisLabels.forEach((label, t) => { label.style.display = t % nice === 0 ? '' : 'none'; });
    }
  }

  installPanZoom() {
    this.svg.addEventListener('wheel', (e) => {
      if (!this.meta) return;
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        this.zoomBy(Math.exp(-e.deltaY * 0.002), e.clientX);
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        this.follow = false;
        this.panX += (e.shiftKey ? e.deltaY : e.deltaX) / this.zoom;
        this.applyViewBox();
        this.onUserMove();
      }
    }, { passive: false });
    let drag = null;
    this.svg.addEventListener('pointerdown', (e) => {
      if (e.target.closest('.node')) return;
      drag = { x: e.clientX, pan: this.panX };
      this.svg.setPointerCapture(e.pointerId);
    });
    this.svg.addEventListener('pointermove', (e) => {
      if (!drag) return;
      this.follow = false;
      this.panX = drag.pan - (e.clientX - drag.x) / this.zoom;
      this.applyViewBox();
      this.onUserMove();
    });
    this.svg.addEventListener('pointerup', () => { drag = null; });
  }
}
