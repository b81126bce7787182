// The unrolled graph: one object per <svg> that lays a run out (graph_layout.js, pure), draws it
// (graph_draw.js) and moves the window over it (graph_view.js).
//
//   const graph = new UnrolledGraph(svg, overviewSvg, { onSelect(node, t, kind), onHover(node, t), onUserMove() });
//   graph.build(meta)                    // once per run
//   graph.render({ store, cursor, hover, selected, pausedSeq })   // per frame
//   graph.viewport.fit() / .zoomBy(f) / .centerOn(t) / .followsCursor

import { graphRows, layoutGraph } from './graph_layout.js';
import { drawGraph, paint, showColumns } from './graph_draw.js';
import { frameScales } from './graph_look.js';
import { GraphViewport } from './graph_view.js';
import { layoutTree } from './graph_tree.js';
import { feedbackLayout, isFeedback } from './graph_feedback.js';
import { look } from './look.js';
import { compactGeometry, compactTreeGeometry, thinLabels } from './graph_compact.js';   // issue 20

/** The SVG unrolled graph of one run, with zoom, pan, an overview strip and a following window. */
export class UnrolledGraph {
  /** svg: the <svg data-testid="graph">; overview: the strip's <svg>; onSelect/onHover(node, t), onUserMove(). */
  constructor(svg, overview, { onSelect, onHover, onUserMove = () => {}, onRelayout = () => {} }) {
    this.svg = svg;
    this.handlers = { onSelect, onHover };
    this.onRelayout = onRelayout;   // issue 20: the layout changed with the look or the width: draw again
    this.viewport = new GraphViewport(svg, overview, onUserMove);
    this.meta = null;
    this.layout = null;
    this.drawing = null;
    this.viewport.onResize = () => {   // issue 17
      if (this.drawing && this.relayoutIfNeeded()) this.onRelayout();
      else if (this.drawing) this.syncColumns();
    };
  }

  /** Lay the graph out and draw it for a new run (its meta message); the view fits and follows. */
  build(meta) {
    this.meta = meta;
    // issue 20: presenter mode fits the whole run in the graph's box (graph_compact.js)
    const geometry = this.geometryFor(meta);
    this.geometryKey = JSON.stringify(geometry);
    // issue 15's topologies: a recursive net is drawn as a tree; Jordan / output recurrence edit the chain's layout
    if (meta.tree) this.layout = Object.assign(layoutTree(meta, geometry ?? undefined), { geometry: geometry ?? undefined });
    else this.layout = thinLabels(isFeedback(meta) ? feedbackLayout(meta, geometry ?? undefined) : layoutGraph(meta, geometry ?? undefined), geometry);
    this.svg.classList.toggle('compact', Boolean(geometry?.compact));
    this.svg.classList.toggle('no-node-text', geometry?.nodeText === false);
    if (geometry?.compact) this.svg.dataset.labelEvery = String(geometry.labelEvery);
    else delete this.svg.dataset.labelEvery;
    this.drawing = drawGraph(this.svg, this.layout, this.handlers);
    this.viewport.overview.build(this.layout.rows.filter((r) => r.kind === 'h'), this.layout.T, meta);   // meta: padded columns
    // a tree's nodes have no time columns for the strip to map: hidden (drag or scroll the tree itself)
    this.viewport.overview.svg.style.display = meta.tree ? 'none' : '';
    this.viewport.setContent({
      width: this.layout.width, height: this.layout.height,
      labels: this.drawing.layers.labels, axisLabels: this.drawing.axisLabels, geometry: this.layout.geometry,
    });
    this.syncColumns();
  }

  // ---- issue 17 (page speed): only the columns around the view exist in the DOM ----
  /** Draw the columns the view now needs and remove those far from it (graph_window.js). */
  syncColumns() {
    const [first, last] = this.viewport.visibleColumns();   // in t units: column c holds t = c − 1
    const change = this.drawing.window.update(first + 1, last + 1);
    if (!change.enter.length && !change.exit.length) return;
    showColumns(this.drawing, change);
    this.viewport.axisEvery = null;   // the new axis labels need thinning too
    this.viewport.apply();
  }
  // ---- end issue 17 ----

  // ---- issue 20: presenter mode's compact layout ----
  /** The geometry `meta` is laid out in now: a compact one in presenter mode when the full size does
   * not fit the graph's box, else null (GRAPH). */
  geometryFor(meta) {
    const { present } = look();
    if (!present) return null;
    const width = this.viewport.viewportWidth();
    const maxHeight = Number.parseFloat(getComputedStyle(this.svg.parentElement).maxHeight);
    if (meta.tree) return compactTreeGeometry(meta.tree, width, maxHeight, present);
    return compactGeometry(meta.T, graphRows(meta).length * (meta.topology?.feed === 'memory' ? 1.4 : 1), width, maxHeight, present);
  }

  /** Lay the run out again when the look or the width asks for another geometry; true if it did. */
  relayoutIfNeeded() {
    if (!this.meta || JSON.stringify(this.geometryFor(this.meta)) === this.geometryKey) return false;
    this.build(this.meta);
    return true;
  }
  // ---- end issue 20 ----

  /** Recolour for `view` = {store, cursor, hover, selected, pausedSeq} and keep the step in view. */
  render(view) {
    if (!this.meta) return;
    this.relayoutIfNeeded();   // issue 20: presenter mode toggled
    const { store, cursor } = view;
    const scales = frameScales(store, cursor);
    const t = store.get(cursor)?.t ?? null;
    // issue 17: move the view first, then draw its columns, then paint only what is drawn
    this.viewport.show(t !== null && this.layout.columnOf ? this.layout.columnOf(t) : t);   // a tree's node t is not column t
    this.syncColumns();
    paint(this.drawing, { store, cursor, meta: this.meta, scales }, view);
    this.viewport.overview.render(store, cursor, scales);
  }
}
