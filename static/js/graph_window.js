// Which columns of the unrolled graph exist in the DOM (pure: no DOM). A long run (T up to 1000)
// laid out whole is tens of thousands of SVG elements, and every style or layout pass walks all of
// them; so a graph wider than WINDOW.wholeColumns columns (T above ~250) is drawn only around the columns on
// screen (the overview strip shows the rest), and the window moves in steps, with a margin, so that
// scrolling one column does not create and remove elements every frame.
//
//   const index = new ColumnIndex(layout, geometry);      // every drawable item bucketed by column
//   const win = new ColumnWindow(index.count);
//   const change = win.update(first, last);                // the visible columns (fractional)
//   change.enter / change.exit: column numbers to draw / remove; index.items(col) → {nodes, edges, …}

import { GRAPH } from './theme/config.js';

export const WINDOW = {
  wholeColumns: 256,   // graphs with at most this many columns are drawn whole (T up to ~250)
  margin: 0.5,         // columns drawn on each side of the view, in view widths
  minMargin: 8,        // … and at least this many columns
};

/** x (SVG user units) where an item starts: its x, or the first point of its path `d`. */
export function itemX(item) {
  if (Number.isFinite(item.x)) return item.x;
  if (Number.isFinite(item.x0)) return item.x0;
  const m = /^M\s*(-?[\d.]+)/.exec(item.d ?? '');
  return m ? Number(m[1]) : 0;
}

/** The column an x falls in (column c spans [marginLeft + c·w, marginLeft + (c+1)·w)). */
export function columnAt(x, geometry = GRAPH) {
  return Math.max(0, Math.floor((x - geometry.marginLeft) / geometry.columnWidth));
}

/** A layout's drawable items (nodes, initials, edges, labels, axis labels) bucketed by column. */
export class ColumnIndex {
  /** layout: graph_layout.js's (or graph_tree.js's) layout; geometry: GRAPH. */
  constructor(layout, geometry = GRAPH) {
    this.count = Math.max(1, Math.ceil(layout.width / geometry.columnWidth));
    this.buckets = Array.from({ length: this.count }, () => ({ nodes: [], initials: [], edges: [], labels: [], axis: [] }));
    const put = (kind, list) => {
      for (const item of list) this.buckets[Math.min(this.count - 1, columnAt(itemX(item), geometry))][kind].push(item);
    };
    put('nodes', layout.nodes);
    put('initials', layout.initials);
    put('edges', layout.edges);
    put('labels', layout.labels);
    put('axis', layout.axis);
  }

  /** The items of column `col`: {nodes, initials, edges, labels, axis}. */
  items(col) {
    return this.buckets[col];
  }
}

/** The columns a visible range [first, last] (fractional columns) needs drawn: [lo, hi], inclusive. */
export function wantedRange(first, last, count, opts = WINDOW) {
  if (count <= opts.wholeColumns) return [0, count - 1];
  const margin = Math.max(opts.minMargin, Math.ceil((last - first) * opts.margin));
  return [Math.max(0, Math.floor(first) - margin), Math.min(count - 1, Math.ceil(last) + margin)];
}

/** The drawn columns: moves only when the view gets within half a margin of the drawn range's edge. */
export class ColumnWindow {
  constructor(count, opts = WINDOW) {
    this.count = count;
    this.opts = opts;
    this.lo = 0;
    this.hi = -1;   // nothing drawn yet
  }

  /** Update for the visible columns [first, last]; returns {enter, exit}: column numbers. */
  update(first, last) {
    const [lo, hi] = wantedRange(first, last, this.count, this.opts);
    if (this.hi >= this.lo) {
      // still well inside the drawn range: keep it (no DOM work while scrolling a few columns)
      const slack = Math.floor(Math.max(this.opts.minMargin, (last - first) * this.opts.margin) / 2);
      const inside = (first - slack >= this.lo || this.lo === 0) && (last + slack <= this.hi || this.hi === this.count - 1);
      if (inside) return { enter: [], exit: [] };
    }
    const enter = [];
    const exit = [];
    for (let c = lo; c <= hi; c += 1) if (c < this.lo || c > this.hi) enter.push(c);
    for (let c = this.lo; c <= this.hi; c += 1) if (c < lo || c > hi) exit.push(c);
    this.lo = lo;
    this.hi = hi;
    return { enter, exit };
  }
}
