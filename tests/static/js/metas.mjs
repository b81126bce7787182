// Meta messages of three shapes of run, with the schedules the engine publishes for them
// (unrolled.engine.plain_schedule(T, layers, directions) and the encoder–decoder's joined schedule
// with T_in = T_out = 8, one layer), copied from the engine's output.

/** A plain run: 1 layer, 1 direction, T = 4. */
export const PLAIN = {
  type: 'meta', T: 4, layers: 1, directions: 1, cell: 'rnn_tanh', nodes: ['h_l0'], hidden_size: 3,
  total_events: 20,
  schedule: {
    total: 20, forward_events: 12, segments: [{ name: 'all', start: 0, stop: 4, emits: true }],
    blocks: [
      { phase: 'forward', kind: 'hidden', segment: 'all', start: 0, stop: 4 },
      { phase: 'forward', kind: 'outputs', segment: 'all', start: 4, stop: 12 },
      { phase: 'backward', kind: 'outputs', segment: 'all', start: 12, stop: 16 },
      { phase: 'backward', kind: 'hidden', segment: 'all', start: 16, stop: 20 },
    ],
  },
};

/** A bidirectional 2-layer run, T = 3. */
export const BIDIRECTIONAL = {
  type: 'meta', T: 3, layers: 2, directions: 2, cell: 'lstm', hidden_size: 2,
  nodes: ['h_l0_fwd', 'h_l0_bwd', 'h_l1_fwd', 'h_l1_bwd'], total_events: 33,
  schedule: {
    total: 33, forward_events: 18, segments: [{ name: 'all', start: 0, stop: 3, emits: true }],
    blocks: [
      { phase: 'forward', kind: 'hidden', segment: 'all', start: 0, stop: 12 },
      { phase: 'forward', kind: 'outputs', segment: 'all', start: 12, stop: 18 },
      { phase: 'backward', kind: 'outputs', segment: 'all', start: 18, stop: 21 },
      { phase: 'backward', kind: 'hidden', segment: 'all', start: 21, stop: 33 },
    ],
  },
};

/** The seq2seq preset: an encoder of 8 steps, then a decoder of 8 (one time axis of 16 steps). */
export const SEQ2SEQ = {
  type: 'meta', T: 16, layers: 1, directions: 1, cell: 'gru', nodes: ['h_l0'], hidden_size: 16,
  total_events: 56,
  segments: [{ name: 'encoder', start: 0, stop: 8 }, { name: 'decoder', start: 8, stop: 16 }],
  schedule: {
    total: 56, forward_events: 32,
    segments: [{ name: 'encoder', start: 0, stop: 8, emits: false }, { name: 'decoder', start: 8, stop: 16, emits: true }],
    blocks: [
      { phase: 'forward', kind: 'hidden', segment: 'encoder', start: 0, stop: 8 },
      { phase: 'forward', kind: 'hidden', segment: 'decoder', start: 8, stop: 16 },
      { phase: 'forward', kind: 'outputs', segment: 'decoder', start: 16, stop: 32 },
      { phase: 'backward', kind: 'outputs', segment: 'decoder', start: 32, stop: 40 },
      { phase: 'backward', kind: 'hidden', segment: 'decoder', start: 40, stop: 48 },
      { phase: 'backward', kind: 'hidden', segment: 'encoder', start: 48, stop: 56 },
    ],
  },
};

/** One wire event (numbers as the server sends them; "NaN"/"Infinity" strings allowed). */
export function wireEvent(seq, phase, node, t, norm, values = {}) {
  const norms = Object.fromEntries(Object.keys(values).map((k) => [k, norm]));
  return { type: 'event', seq, phase, node, t, layer: 0, direction: 'fwd', norm, values, norms };
}
