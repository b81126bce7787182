// Meta messages of three shapes of run, with the schedules the engine publishes for them
// (tests/fixtures/schedules.json, pinned to the engine by tests/static/test_js_fixtures.py), and the
// config table of the page data (tests/fixtures/config_fields.json, pinned the same way).

import { readFileSync } from 'node:fs';

const fixture = (name) => JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8'));
const SCHEDULES = fixture('schedules.json');

/** page_data.config_fields. */
export const CONFIG_FIELDS = fixture('config_fields.json');

/** A plain run: 1 layer, 1 direction, T = 4. */
export const PLAIN = {
  type: 'meta', T: 4, layers: 1, directions: 1, cell: 'rnn_tanh', nodes: ['h_l0'], hidden_size: 3,
  total_events: 20, schedule: SCHEDULES.plain,
};

/** A bidirectional 2-layer run, T = 3. */
export const BIDIRECTIONAL = {
  type: 'meta', T: 3, layers: 2, directions: 2, cell: 'lstm', hidden_size: 2,
  nodes: ['h_l0_fwd', 'h_l0_bwd', 'h_l1_fwd', 'h_l1_bwd'], total_events: 33, schedule: SCHEDULES.bidirectional,
};

/** The seq2seq preset: an encoder of 8 steps, then a decoder of 8 (one time axis of 16 steps). */
export const SEQ2SEQ = {
  type: 'meta', T: 16, layers: 1, directions: 1, cell: 'gru', nodes: ['h_l0'], hidden_size: 16,
  total_events: 56, segments: [{ name: 'encoder', start: 0, stop: 8 }, { name: 'decoder', start: 8, stop: 16 }],
  schedule: SCHEDULES.seq2seq,
};

/** One wire event (numbers as the server sends them; "NaN"/"Infinity" strings allowed). */
export function wireEvent(seq, phase, node, t, norm, values = {}) {
  const norms = Object.fromEntries(Object.keys(values).map((k) => [k, norm]));
  return { type: 'event', seq, phase, node, t, layer: 0, direction: 'fwd', norm, values, norms };
}
