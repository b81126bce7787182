// The five plots as one panel: decides which plot needs a redraw for the current cursor (each is
// keyed by exactly what it shows) and links plotly hovers back to the graph.

import * as charts from './charts.js';
import { option } from './elements.js';

/** Redraws the plots of the run on demand, skipping those whose inputs did not change. */
export class PlotPanel {
  /** onHover(node, t) receives hovers on any plot point ((null, null) when it leaves). */
  constructor(onHover) {
    this.onHover = onHover;
    this.keys = new Map();    // plot id → what it was last drawn from
    this.linked = new Set();  // plot ids whose hover is wired
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
    const plots = {
      'plot-grad-norms': [charts.drawGradNorms, `${run}|${backwardSeen}|${phase === 'backward' ? cursor : ''}`],
      'plot-vanishing': [charts.drawVanishing, run],
      'plot-flow': [(div) => charts.drawFlow(div, { ...ctx, node: flowNode }), `${run}|${flowNode}`],
      'plot-hidden': [charts.drawHidden, `${run}|${node}|${quantity}|${quantity.startsWith('d') ? backwardSeen : forwardSeen}|${cursor}`],
      'plot-contributions': [charts.drawContributions, run],
    };
    for (const [id, [draw, key]] of Object.entries(plots)) {
      if (!force && this.keys.get(id) === key) continue;
      this.keys.set(id, key);
      const div = document.getElementById(id);
      draw(div, ctx);
      if (!this.linked.has(id)) {
        this.linked.add(id);
        charts.linkHover(div, this.onHover);
      }
    }
  }
}

/** Fill the plots' layer and quantity pickers for a run; returns the h node shown first. */
export function setupPlotSelectors(meta) {
  const $ = (id) => document.getElementById(id);
  const options = () => meta.nodes.map((n) => option(n, charts.nodeLabel(n, meta)));
  $('flow-node').replaceChildren(...options());
  $('hidden-node').replaceChildren(...options());
  for (const id of ['flow-node', 'hidden-node']) $(id).hidden = meta.nodes.length < 2;
  const gates = { lstm: ['c', 'i', 'f', 'g', 'o'], gru: ['r', 'z', 'n'] }[meta.cell] ?? [];
  const quantities = ['h', ...gates, 'dh', ...(meta.cell === 'lstm' ? ['dc'] : [])];
  const names = { h: 'h (hidden state)', c: 'c (cell state)', dh: '∂L/∂h', dc: '∂L/∂c' };
  $('hidden-quantity').replaceChildren(...quantities.map((q) => option(q, names[q] ?? `${q} gate`)));
  return meta.nodes[0];
}
