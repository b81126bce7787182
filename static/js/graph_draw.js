// The unrolled graph's SVG: drawGraph(svg, layout) creates one element per node, edge and label of
// a layout (graph_layout.js) once per run; paint(...) recolours them for a cursor (graph_look.js
// decides how each looks) and marks the current, hovered, selected and paused-at nodes.

import { nodeKey, eventNodeKey } from './graph_layout.js';
import { nodeLook, edgeWidth, shorten } from './graph_look.js';
import { ColumnIndex, ColumnWindow } from './graph_window.js';   // issue 17: columns drawn by window

const SVG_NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function text(name, attrs, content, parent) {
  const node = el(name, attrs, parent);
  node.textContent = content;
  return node;
}

/** Draw `layout` into `svg` (emptied first); onSelect(node, t, kind) on click, onHover(node, t) on
 * hover ((null, null) on leave). Returns the drawing: {layers, nodes: key → entry, edges, axisLabels, marked}.
 * Only the static parts and the first window of columns are drawn here (issue 17: a long run is
 * drawn around the view only); showColumns(drawing, change) draws and removes columns as the view moves. */
export function drawGraph(svg, layout, { onSelect, onHover }) {
  svg.replaceChildren();
  const defs = el('defs', {}, svg);
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs);
  el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head', fill: 'context-stroke' }, marker);
  const layers = {
    segments: el('g', { class: 'segments' }, svg),
    edges: el('g', { class: 'edges' }, svg),
    nodes: el('g', { class: 'nodes' }, svg),
    axis: el('g', { class: 'axis' }, svg),
    labels: el('g', { class: 'row-labels' }, svg),
  };
  for (const seg of layout.segments) {
    const g = el('g', { class: `segment segment-${seg.name}`, 'data-segment': seg.name }, layers.segments);
    el('rect', { x: seg.x0, y: seg.y0, width: seg.x1 - seg.x0, height: seg.y1 - seg.y0, rx: 10 }, g);
    text('text', { x: seg.x0 + 10, y: 17, class: 'segment-label' }, seg.heading, g);
  }
  // ---- issue 17 (page speed): the columns are drawn by window (graph_window.js) ----
  const index = new ColumnIndex(layout);
  const drawing = {
    layers, nodes: new Map(), edges: new Set(), axisLabels: new Map(), marked: [],
    index, window: new ColumnWindow(index.count), columns: new Map(), handlers: { onSelect, onHover }, nodeRadius: layout.nodeRadius,
  };
  // ---- end issue 17 ----
  el('rect', { x: 0, y: 0, width: layout.rowLabelWidth, height: layout.height, class: 'row-label-bg' }, layers.labels);
  for (const label of layout.rowLabels) text('text', { x: label.x, y: label.y, dy: '0.35em', class: `row-label kind-${label.kind}` }, label.text, layers.labels);
  return drawing;
}

// ---- issue 17 (page speed): draw and remove whole columns ----
/** Draw the columns of `change.enter` and remove those of `change.exit` (graph_window.js's update). */
export function showColumns(drawing, { enter, exit }) {
  for (const col of exit) {
    for (const elt of drawing.columns.get(col) ?? []) elt.remove();
    drawing.columns.delete(col);
    const items = drawing.index.items(col);
    for (const node of items.nodes) drawing.nodes.delete(node.key);
    for (const { t } of items.axis) drawing.axisLabels.delete(t);
  }
  if (exit.length) for (const edge of drawing.edges) if (!edge.path.isConnected) drawing.edges.delete(edge);
  for (const col of enter) {
    const items = drawing.index.items(col);
    const made = [];
    drawEdges(drawing, items, made);
    drawNodes(drawing, items, drawing.handlers, made);
    for (const { t, x, y } of items.axis) {
      const label = text('text', { x, y, class: 'axis-label' }, `t=${t}`, drawing.layers.axis);
      drawing.axisLabels.set(t, label);
      made.push(label);
    }
    drawing.columns.set(col, made);
  }
}
// ---- end issue 17 ----

function drawEdges(drawing, layout, made) {
  const g = drawing.layers.edges;
  for (const edge of layout.edges) {
    const attrs = { d: edge.d, class: edge.cls, 'marker-end': 'url(#arrow)' };
    if (edge.kind) attrs['data-edge'] = edge.kind;
    if (edge.fromT !== undefined) attrs['data-from-t'] = edge.fromT;
    if (edge.cut) attrs['data-cut'] = '1';
    const path = el('path', attrs, g);
    made.push(path);
    if (edge.title) el('title', {}, path).textContent = edge.title;
    if (edge.carries) drawing.edges.add({ path, carries: edge.carries, width: '' });
  }
  for (const label of layout.labels) {
    const attrs = { x: label.x, y: label.y, class: label.cls };
    if (label.tag) attrs['data-label'] = label.tag;
    else attrs.dy = '0.35em';
    made.push(text('text', attrs, label.text, g));
  }
}

function drawNodes(drawing, layout, { onSelect, onHover }, made) {
  const g = drawing.layers.nodes;
  const R = drawing.nodeRadius;
  for (const init of layout.initials) {
    const node = el('g', { class: 'node initial', 'data-role': 'initial', transform: `translate(${init.x},${init.y})` }, g);
    made.push(node);
    el('circle', { r: R * 0.8 }, node);
    text('text', { class: 'node-text', dy: '0.35em' }, '0', node);
    text('title', {}, `${init.kind}(${init.t}) = 0, the initial state`, node);
    text('text', { class: 'initial-label', y: R + 16 }, `${init.kind}(${init.t === -1 ? '−1' : `T=${init.t}`})`, node);
  }
  for (const node of layout.nodes) {
    const group = el('g', { class: `node kind-${node.kind}`, 'data-node': node.name, 'data-t': node.t, transform: `translate(${node.x},${node.y})` }, g);
    made.push(group);
    if (node.fedBack) group.dataset.fedBack = '1';
    const shape = node.shape === 'rect'
      ? el('rect', { x: -R, y: -R * 0.8, width: 2 * R, height: 1.6 * R, rx: 6 }, group)
      : el('circle', { r: R }, group);
    const shown = node.label ? shorten(node.label) : '';
    const label = text('text', { class: 'node-text', dy: '0.35em' }, shown, group);
    const title = el('title', {}, group);
    drawing.nodes.set(node.key, { node, g: group, shape, label, shown, title, state: '' });
    group.addEventListener('click', () => onSelect(node.node, node.t, node.kind));
    group.addEventListener('mouseenter', () => onHover(node.node, node.t));
    group.addEventListener('mouseleave', () => onHover(null, null));
  }
}

/** Recolour every node and recurrent edge for `ctx` = {store, cursor, meta, scales}, then mark
 * the nodes of `view` = {hover, selected, pausedSeq}. */
export function paint(drawing, ctx, view) {
  for (const entry of drawing.nodes.values()) {
    const look = nodeLook(entry.node, ctx);
    const key = `${look.fill}|${look.text}|${look.cls}|${look.title}`;   // the title too: a summary may change only it
    if (key === entry.state) continue;
    entry.state = key;
    entry.shape.setAttribute('fill', look.fill);
    entry.g.setAttribute('class', `node kind-${entry.node.kind} ${look.cls}`);
    if (look.text !== undefined) {
      entry.shown = look.text;
      entry.label.textContent = look.text;
    }
    const long = entry.shown.length > 3;
    entry.label.setAttribute('class', `node-text${look.light ? ' light' : ''}${long ? ' long' : ''}`);
    entry.title.textContent = look.title;
  }
  for (const edge of drawing.edges) {
    const width = edgeWidth(edge.carries, ctx);
    if (edge.width === width) continue;
    edge.width = width;
    edge.path.style.strokeWidth = width;
    edge.path.classList.toggle('carrying', Boolean(width));
  }
  mark(drawing, ctx, view);
}

/** Mark the current, hovered, selected and breakpoint nodes (unmarking the last frame's). */
function mark(drawing, { store, cursor }, { hover, selected, pausedSeq }) {
  for (const [g, cls] of drawing.marked) g.classList.remove(cls);
  drawing.marked = [];
  const add = (key, cls) => {
    const g = drawing.nodes.get(key)?.g;
    if (!g) return;
    g.classList.add(cls);
    drawing.marked.push([g, cls]);
  };
  const ev = store.get(cursor);
  if (ev) add(eventNodeKey(ev.node, ev.t), 'current');
  if (ev && pausedSeq !== null && pausedSeq !== undefined && pausedSeq === cursor) add(eventNodeKey(ev.node, ev.t), 'paused-at');
  if (hover) add(eventNodeKey(hover.node, hover.t), 'hovered');
  if (selected) {
    const node = selected.kind === 'out' ? 'logits' : selected.kind === 'loss' ? 'loss' : selected.node;
    add(nodeKey(selected.kind, node, selected.t), 'selected');
  }
}
