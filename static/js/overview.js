// The overview strip under the graph: every timestep of every h row as one thin cell in the
// graph's colours, with the rectangle of the columns currently visible; click or drag to move.

import { fillFor, forwardPosition, logPosition } from './colors.js';
import { drawHealthFlags } from './findings.js';
import { CellBitmap, cssColor } from './cell_bitmap.js';   // issue 17

const SVG_NS = 'http://www.w3.org/2000/svg';

function rect(attrs, parent) {
  const r = document.createElementNS(SVG_NS, 'rect');
  for (const [k, v] of Object.entries(attrs)) r.setAttribute(k, v);
  parent.appendChild(r);
  return r;
}

/** The strip: build(rows, T) once per run, render(...) per frame, showWindow(first, last). */
export class OverviewStrip {
  /** svg: the strip's <svg>; onJump(t) when the user points at column t. */
  constructor(svg, onJump) {
    this.svg = svg;
    this.bitmap = null;
    this.T = 0;
    this.rows = 0;
    this.flags = null;   // the <g> of the findings' marks
    const jump = (e) => {
      const box = svg.getBoundingClientRect();
      if (this.T) onJump(((e.clientX - box.left) / box.width) * this.T);
    };
    svg.addEventListener('pointerdown', (e) => { jump(e); svg.setPointerCapture(e.pointerId); this.dragging = true; });
    svg.addEventListener('pointermove', (e) => { if (this.dragging) jump(e); });
    svg.addEventListener('pointerup', () => { this.dragging = false; });
  }

  /** One row of cells per h row (top to bottom as in the graph): one pixel each of a bitmap
   * (issue 17: a rect per timestep was thousands of SVG elements recoloured per frame). */
  build(hRows, T) {
    this.svg.replaceChildren();
    this.T = T;
    this.rows = hRows.length;
    this.flags = null;
    this.nodes = hRows.map((row) => row.node);
    this.svg.setAttribute('viewBox', `0 0 ${T} ${hRows.length}`);
    this.svg.setAttribute('preserveAspectRatio', 'none');
    this.bitmap = new CellBitmap(T, this.rows);
    this.image = document.createElementNS(SVG_NS, 'image');
    for (const [k, v] of Object.entries({ x: 0, y: 0, width: T, height: this.rows, preserveAspectRatio: 'none', class: 'overview-cells' })) this.image.setAttribute(k, v);
    this.svg.appendChild(this.image);
    this.frameKey = null;
    this.window = rect({ class: 'overview-window', y: 0, height: hRows.length, x: 0, width: T }, this.svg);
  }

  /** Colour every cell as its graph node is coloured at `cursor` (`scales` as graph_look.frameScales gives). */
  render(store, cursor, { phase, domain, fwdTop, H }) {
    if (!this.bitmap) return;
    const pending = cssColor(this.svg, '--node-pending');
    const length = Number.isInteger(store.meta?.length) ? store.meta.length : Infinity;   // the shown element's padding starts here
    const key = `${store.runId}|${store.count}|${phase}|${domain}|${fwdTop}|${pending}`;
    if (key === this.frameKey && cursor === this.frameCursor) return;   // nothing it shows has changed
    const paintCell = (row, node, t) => {
      const ev = store.find(phase, node, t, cursor);
      let fill = pending;
      if (t >= length) fill = 'transparent';   // issue 20: a padding step is absent, as on the graph
      else if (ev) {
        fill = phase === 'backward'
          ? fillFor('backward', ev.norm, logPosition(ev.norm, domain))
          : fillFor('forward', ev.norm, forwardPosition(ev.norm / Math.sqrt(H), fwdTop));
      }
      this.bitmap.set(t, row, fill);
    };
    if (key === this.frameKey) {
      // only the cursor moved (scrubbing): only the cells of the events between the two cursors change
      const [lo, hi] = [Math.min(cursor, this.frameCursor), Math.max(cursor, this.frameCursor)];
      for (let seq = lo + 1; seq <= hi; seq += 1) {
        const ev = store.get(seq);
        const row = ev ? this.nodes.indexOf(ev.node) : -1;
        if (row >= 0 && ev.phase === phase && ev.t < this.T) paintCell(row, ev.node, ev.t);
      }
    } else {
      this.nodes.forEach((node, row) => { for (let t = 0; t < this.T; t += 1) paintCell(row, node, t); });
    }
    this.frameKey = key;
    this.frameCursor = cursor;
    const url = this.bitmap.url();
    if (url) this.image.setAttribute('href', url);
  }

  /** Mark the steps of the diagnosis's findings along the strip's top edge (replacing earlier marks). */
  showFindings(diagnosis) {
    this.flags?.remove();
    this.flags = drawHealthFlags(this.svg, diagnosis, this.rows);
  }

  /** Outline the visible columns [first, last]. */
  showWindow(first, last) {
    if (!this.window) return;
    this.window.setAttribute('x', Math.max(0, first));
    this.window.setAttribute('width', Math.max(0.5, Math.min(this.T, last) - Math.max(0, first)));
  }
}
