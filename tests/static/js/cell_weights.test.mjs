// The peephole LSTM's P reaches the step equations: once the summary has arrived, a forward step of
// h_l0 (or h_l0_reverse) shows the rows Pⁱ, Pᶠ, Pᵒ of its own layer and direction (cell_spec.extra_weights).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { describeEvent } from '../../../static/js/equations.js';
import { cellWeightsOf } from '../../../static/js/cell_spec.js';

const SPECS = JSON.parse(readFileSync(new URL('../../fixtures/cell_specs.json', import.meta.url), 'utf8'));
const META = { T: 3, layers: 1, directions: 2, cell: 'lstm_peephole', cell_spec: SPECS.lstm_peephole, loss: 'mse', has_target: [true, true, true], config: {} };
const SUMMARY = { cellWeights: { weight_peephole_l0: [[0.5], [-0.25], [2]], weight_peephole_l0_reverse: [[1], [3], [-1]] } };

function lines(node, summary) {
  const values = { h: [0.1], c: [0.3], i: [0.5], f: [0.9], g: [-0.2], o: [0.6] };
  const ev = { seq: 3, phase: 'forward', node, t: 1, layer: 0, direction: node.endsWith('_reverse') ? 1 : 0, norm: 0.1, values, norms: {} };
  const store = { summary, find: () => undefined };
  return describeEvent(ev, store, META).lines.map(([text]) => text);
}

test('a forward step shows its own direction\'s peepholes once the summary is in', () => {
  assert.ok(lines('h_l0', SUMMARY).includes('Pⁱ = [0.5]   Pᶠ = [−0.25]   Pᵒ = [2]'), lines('h_l0', SUMMARY));
  assert.ok(lines('h_l0_reverse', SUMMARY).includes('Pⁱ = [1]   Pᶠ = [3]   Pᵒ = [−1]'));
  assert.ok(!lines('h_l0', null).some((l) => l.startsWith('Pⁱ')));
});

test('cellWeightsOf: rows named from the cell spec; an encoder–decoder half reads its own prefix; torch cells none', () => {
  assert.deepEqual(cellWeightsOf(META, SUMMARY, 'h_l0')[0].rows.map(([n]) => n), ['Pⁱ', 'Pᶠ', 'Pᵒ']);
  const halves = { cellWeights: { 'decoder.weight_peephole_l0': [[7], [8], [9]] } };
  assert.equal(cellWeightsOf(META, halves, 'h_l0', 'decoder')[0].param, 'decoder.weight_peephole_l0');
  assert.deepEqual(cellWeightsOf({ ...META, cell_spec: SPECS.lstm }, SUMMARY, 'h_l0'), []);
});
