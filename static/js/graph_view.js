// The unrolled graph's viewport: zoom, pan (wheel, drag, the overview strip) and a window that
// follows the step on screen. It owns the <svg>'s viewBox and height, and the overview strip.

import { GRAPH } from './theme/config.js';
import { OverviewStrip } from './overview.js';
import { look } from './look.js';

/** x of column t's centre (SVG user units) in `geometry` (GRAPH, or presenter mode's compact one). */
function columnX(t, geometry = GRAPH) {
  return geometry.marginLeft + (t + 1.5) * geometry.columnWidth;
}

/** Zoom and pan state of one graph <svg>, with its overview strip. */
export class GraphViewport {
  /** svg: the graph's <svg>; overview: the strip's <svg>; onUserMove() when the user pans or jumps. */
  constructor(svg, overview, onUserMove = () => {}) {
    this.svg = svg;
    this.onUserMove = onUserMove;
    this.overview = new OverviewStrip(overview, (t) => this.userMove(() => this.centerOn(t)));
    this.content = null;        // {width, height, labels: <g> kept at the left edge, axisLabels}
    this.zoom = 1;
    this.panX = 0;
    this.followsCursor = true;  // the window moves with the step on screen until the user pans
    this.axisEvery = null;
    this.installPanZoom();
    // issue 17: the width is cached from the observer; reading clientWidth per frame forced a layout
    // of the whole graph after every change
    this.width = null;
    this.onResize = () => {};   // the graph draws the columns a wider view needs
    new ResizeObserver((entries) => {
      this.width = entries[entries.length - 1].contentRect.width;
      this.apply();
      this.onResize();
    }).observe(svg);
  }

  /** Show a newly drawn graph: {width, height} of its content, its row-label layer and axis labels. */
  setContent(content) {
    this.content = content;
    this.geometry = content.geometry ?? GRAPH;   // issue 20: a compact presenter layout's columns
    this.axisEvery = null;
    this.fit();
  }

  /** The user moved the window: stop following the cursor, move, tell the page. */
  userMove(move) {
    this.followsCursor = false;
    move();
    this.onUserMove();
  }

  viewportWidth() {
    if (this.width === null) this.width = this.svg.clientWidth;   // once, before the first observation
    return this.width || 800;
  }

  /** Columns visible at the current zoom, as [first, last] (fractional). */
  visibleColumns() {
    const w = this.viewportWidth() / this.zoom;
    const G = this.geometry ?? GRAPH;
    const first = (this.panX - G.marginLeft) / G.columnWidth - 1;
    return [first, first + w / G.columnWidth];
  }

  /** Zoom so the whole sequence fits, unless that would make nodes too small to read; follow again. */
  fit() {
    if (!this.content) return;
    const floor = look().present ? GRAPH.presentFitZoom : GRAPH.minFitZoom;   // a projector needs bigger nodes
    this.zoom = Math.min(1.4, Math.max(floor, this.viewportWidth() / this.content.width));
    // issue 20: outside presenter mode the graph also fits the height its viewport allows (CSS
    // max-height), so a tall graph (a tree, a deep stack) stays on the first screen, uncut
    const maxHeight = Number.parseFloat(getComputedStyle(this.svg.parentElement).maxHeight);
    if (!look().present && maxHeight > 0 && this.content.height * this.zoom > maxHeight) {
      this.zoom = Math.max(0.3, maxHeight / this.content.height);
    }
    this.panX = 0;
    this.followsCursor = true;
    this.apply();
  }

  /** Multiply the zoom by `factor` keeping the point at client x `anchor` in place. */
  zoomBy(factor, anchor = null) {
    const box = this.svg.getBoundingClientRect();
    const ax = anchor === null ? box.width / 2 : anchor - box.left;
    const worldX = this.panX + ax / this.zoom;
    this.zoom = Math.min(3, Math.max(0.15, this.zoom * factor));
    this.panX = worldX - ax / this.zoom;
    this.apply();
  }

  /** Put column t in the middle of the view. */
  centerOn(t) {
    this.panX = columnX(t, this.geometry) - this.viewportWidth() / this.zoom / 2;
    this.apply();
  }

  /** Show the step at column t: when following it, pan only once it is about to leave the view. */
  show(t) {
    if (t === null || !this.followsCursor) { this.apply(); return; }
    const [first, last] = this.visibleColumns();
    const m = GRAPH.followMargin;
    if (t < first + m || t > last - m - 1) this.centerOn(t);
    else this.apply();
  }

  /** Write the zoom and pan into the <svg> (viewBox, height), the row labels, strip and axis. */
  apply() {
    const c = this.content;
    if (!c) return;
    const w = this.viewportWidth() / this.zoom;
    this.panX = Math.min(Math.max(0, c.width - w), Math.max(0, this.panX));
    this.svg.setAttribute('viewBox', `${this.panX} 0 ${w} ${c.height}`);
    this.svg.style.height = `${Math.round(c.height * this.zoom)}px`;
    c.labels.setAttribute('transform', `translate(${this.panX},0)`);
    const [first, last] = this.visibleColumns();
    this.overview.showWindow(first, last);
    // thin out the time axis when columns get narrow
    const gap = look().present ? 52 : 44;   // issue 20: presenter axis labels are 18 px ("t=38")
    const every = Math.max(1, Math.ceil(gap / ((this.geometry ?? GRAPH).columnWidth * this.zoom)));
    const nice = this.geometry?.labelEvery ?? [1, 2, 5, 10, 20, 50, 100, 200, 500].find((n) => n >= every) ?? every;
    if (nice !== this.axisEvery) {
      this.axisEvery = nice;
      c.axisLabels.forEach((label, t) => { label.style.display = t % nice === 0 ? '' : 'none'; });
    }
  }

  installPanZoom() {
    this.svg.addEventListener('wheel', (e) => {
      if (!this.content) return;
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        this.zoomBy(Math.exp(-e.deltaY * 0.002), e.clientX);
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        this.userMove(() => {
          this.panX += (e.shiftKey ? e.deltaY : e.deltaX) / this.zoom;
          this.apply();
        });
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
      this.userMove(() => {
        this.panX = drag.pan - (e.clientX - drag.x) / this.zoom;
        this.apply();
      });
    });
    this.svg.addEventListener('pointerup', () => { drag = null; });
  }
}
