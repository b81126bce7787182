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

/** True when `name` is a gate whose activation lies in [0, 1] (a σ gate: drawn on a 0…1 scale). */
export function isUnitGate(meta, name) {
  const gate = gatesOf(meta).find((g) => g.name === name);
  return Boolean(gate) && gate.range[0] >= 0 && gate.range[1] <= 1;
}
