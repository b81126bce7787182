// The five plots as one panel: decides which plot needs a redraw for the current cursor (each is
// keyed by exactly what it shows) and links plotly hovers back to the graph.

import * as charts from './charts.js';
import { setTreeHeadings, treePlots } from './plots_tree.js';
import { option } from './elements.js';
import { extraStates, gatesOf } from './cell_spec.js';

/** Redraws the plots of the run on demand, skipping those whose inputs did not change. */
export class PlotPanel {
  /** onHover(node, t) receives hovers on any plot point ((null, null) when it leaves). */
  constructor(onHover) {
    this.onHover = onHover;
    this.keys = new Map();    // plot id → what it was last drawn from
    this.linked = new Set();  // plot ids whose hover is wired
    this.tree = false;        // the headings show a tree's wording (plots_tree.js)
    this.waiting = undefined; // the idle callback that will draw the closed tab's plots (later)
  }

  /** Draw for {store, cursor, node, flowNode, quantity}; `force` redraws all (theme, mode change). */
  draw({ store, cursor, node, flowNode, quantity }, force = false) {
    const meta = store.meta;
    if (!meta) return;
    const ctx = { store, cursor, meta, node, quantity };
    const forwardSeen = Math.min(cursor + 1, store.forwardTotal);
    const backwardSeen = Math.max(0, cursor + 1 - store.forwardTotal);
    const run = `${store.runId}|${Boolean(store.summary)}`;
    const phase = store.get(cursor)?.phase ?? 'forward';   // the step markers move with the cursor
    if (Boolean(meta.tree) !== this.tree) setTreeHeadings((this.tree = Boolean(meta.tree)));
    const plots = meta.tree ? treePlots(ctx, { run, backwardSeen, forwardSeen, phase, cursor, node, quantity }) : {   // issue 15: a tree's own plots
      'plot-grad-norms': [charts.drawGradNorms, `${run}|${backwardSeen}|${phase === 'backward' ? cursor : ''}`],
      'plot-vanishing': [charts.drawVanishing, run],
      'plot-flow': [(div) => charts.drawFlow(div, { ...ctx, node: flowNode }), `${run}|${flowNode}`],
      'plot-hidden': [charts.drawHidden, `${run}|${node}|${quantity}|${quantity.startsWith('d') ? backwardSeen : forwardSeen}|${cursor}`],
      'plot-contributions': [charts.drawContributions, `${run}|${backwardSeen}`],   // fills in as BPTT steps back
    };
    const closed = [];
    for (const [id, [draw, key]] of Object.entries(plots)) {
      if (!force && this.keys.get(id) === key) continue;
      const div = document.getElementById(id);
      if (div.closest('[hidden]')) closed.push([id, draw, key]);   // issue 17: after the frame (see later)
      else this.drawOne(id, draw, key, ctx);
    }
    this.later(closed, ctx);
  }

  /** Draw one plot and remember what it was drawn from. */
  drawOne(id, draw, key, ctx) {
    this.keys.set(id, key);
    const div = document.getElementById(id);
    draw(div, ctx);
    if (!this.linked.has(id)) {
      this.linked.add(id);
      charts.linkHover(div, this.onHover);
    }
  }

  /** Plots in a closed tab are drawn when the browser is idle, not in the frame that shows the graph
   * (issue 17: ~0.4 s for T = 1000); a newer draw replaces the ones still waiting. */
  later(closed, ctx) {
    if (this.waiting !== undefined) (globalThis.cancelIdleCallback ?? clearTimeout)(this.waiting);
    this.waiting = undefined;
    if (!closed.length) return;
    const run = () => {
      this.waiting = undefined;
      for (const [id, draw, key] of closed) this.drawOne(id, draw, key, ctx);
    };
    this.waiting = globalThis.requestIdleCallback ? requestIdleCallback(run, { timeout: 1000 }) : setTimeout(run, 50);
  }
}

/** Fill the plots' layer and quantity pickers for a run; returns the h node shown first. */
export function setupPlotSelectors(meta) {
  const $ = (id) => document.getElementById(id);
  const options = () => meta.nodes.map((n) => option(n, charts.nodeLabel(n, meta)));
  $('flow-node').replaceChildren(...options());
  $('hidden-node').replaceChildren(...options());
  for (const id of ['flow-node', 'hidden-node']) $(id).hidden = meta.nodes.length < 2;
  // the states and gates the cell's events carry (meta.cell_spec), then their gradients
  const states = extraStates(meta);
  const names = { h: 'h (hidden state)', dh: '∂L/∂h' };
  for (const state of states) Object.assign(names, { [state]: `${state} (cell state)`, [`d${state}`]: `∂L/∂${state}` });
  for (const gate of gatesOf(meta)) names[gate.name] = `${gate.name} (${gate.title})`;
  const quantities = ['h', ...states, ...gatesOf(meta).map((g) => g.name), 'dh', ...states.map((st) => `d${st}`)];
  $('hidden-quantity').replaceChildren(...quantities.map((q) => option(q, names[q])));
  return meta.nodes[0];
}
