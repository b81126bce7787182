// What the page knows about a run's cell comes from meta.cell_spec (sent by the engine, see
// docs/DESIGN.md, "Cells"): {name, states: ["h"] or ["h", "c"], gates: [{name, title, range}],
// lecture: {forward, recurrent, state_gradients, state_recurrences}} (the step's lecture templates).
// No module of the page keeps a table per cell; these helpers read the spec.

/** The cell's description from meta; a bare h-only cell without gates when meta has none. */
export function cellSpecOf(meta) {
  return meta?.cell_spec ?? {
    name: meta?.cell, states: ['h'], gates: [],
    lecture: {
      forward: [`h{t} = ${meta?.cell}({U} {input}, {W} h{prev})`], recurrent: '(recurrent path through step {next_step})',
      state_gradients: {}, state_recurrences: {},
    },
  };
}

/** The recurrent states beside h (e.g. ["c"] for an LSTM); their values ride on the h events. */
export function extraStates(meta) {
  return cellSpecOf(meta).states.filter((s) => s !== 'h');
}

/** The cell's gates, [{name, title, range: [lo, hi]}] (none for an Elman cell). */
export function gatesOf(meta) {
  return cellSpecOf(meta).gates;
}

/** The cell's extra weights of the h node `node` at step t with their rows' lecture names, from the
 * summary (store.summary.cellWeights; an encoder–decoder's under its half's prefix): [{param, rows:
 * [[name, values]…]}], e.g. the peepholes Pⁱ, Pᶠ, Pᵒ; [] for torch's cells or before the summary. */
export function cellWeightsOf(meta, summary, node, half = null) {
  const out = [];
  for (const [weight, names] of Object.entries(cellSpecOf(meta).extra_weights ?? {})) {
    const param = `${half ? `${half}.` : ''}${weight}${node.slice(1)}`;   // weight_peephole + _l0[_reverse]
    const values = summary?.cellWeights?.[param];
    if (values) out.push({ param, rows: values.map((row, i) => [names[i] ?? `${weight}[${i}]`, row]) });
  }
  return out;
}

/** True when `name` is a gate whose activation lies in [0, 1] (a σ gate: drawn on a 0…1 scale). */
export function isUnitGate(meta, name) {
  const gate = gatesOf(meta).find((g) => g.name === name);
  return Boolean(gate) && gate.range[0] >= 0 && gate.range[1] <= 1;
}
