// The lectures' cells in the equations panel's step lines (static/js/equations.js reading
// meta.cell_spec): the peephole terms, the coupled gate and the reset gate before the product,
// with the step's numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { readFileSync } from 'node:fs';

import { describeEvent } from '../../../static/js/equations.js';

const SPECS = JSON.parse(readFileSync(new URL('../../fixtures/cell_specs.json', import.meta.url), 'utf8'));

function meta(cell) {
  return { T: 3, layers: 1, directions: 1, cell: cell.name, cell_spec: cell, loss: 'cross_entropy', has_target: [true, true, true], config: {} };
}

function lines(phase, t, values, cell) {
  const norms = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.hypot(...v)]));
  const ev = { seq: 3, phase, node: 'h_l0', t, layer: 0, direction: 0, norm: norms.h ?? norms.dh, values, norms };
  const store = { find: (p, node, step) => (p === phase && node === 'h_l0' && step === t ? ev : undefined) };
  return describeEvent(ev, store, meta(SPECS[cell])).lines.map(([text]) => text);
}

test('the peephole LSTM: i and f peek at c₀, o at c₁, then the gate values', () => {
  const l = lines('forward', 1, { h: [0.1], c: [0.3], i: [0.5], f: [0.9], g: [-0.2], o: [0.6] }, 'lstm_peephole');
  assert.equal(l[0], 'i = σ(U x₁ + W h₀ + b + Pⁱ ⊙ c₀),  f = σ(… + Pᶠ ⊙ c₀),  g = tanh(…)');
  assert.equal(l[1], 'c₁ = f ⊙ c₀ + i ⊙ g');
  assert.equal(l[2], 'c₁ = [0.3]');
  assert.ok(l[3].startsWith('o = σ(U x₁ + W h₀ + b + Pᵒ ⊙ c₁)'), l);
  assert.equal(l[4], 'i = [0.5]   f = [0.9]   g = [−0.2]   o = [0.6]');
  const back = lines('backward', 1, { dh: [0.1], dc: [0.2] }, 'lstm_peephole');
  assert.ok(back.includes('∂L/∂c₁ = ∂L/∂h₁ ⊙ o ⊙ (1 − tanh²c₁) + Pᵒ ⊙ ∂L/∂aₒ₁ + f₂ ⊙ ∂L/∂c₂ + Pⁱ ⊙ ∂L/∂aᵢ₂ + Pᶠ ⊙ ∂L/∂a_f₂'), back);
});

test('the coupled-gate LSTM: three gates, the input gate is 1 − f', () => {
  const l = lines('forward', 0, { h: [0.1], c: [0.3], f: [0.8], g: [0.4], o: [0.6] }, 'lstm_coupled');
  assert.equal(l[1], 'f = [0.8]   g = [0.4]   o = [0.6]');
  assert.ok(l[2].startsWith('c₀ = f ⊙ c₋₁ + (1 − f) ⊙ g'), l);
  assert.deepEqual(SPECS.lstm_coupled.gates.map((g) => g.name), ['f', 'g', 'o']);
});

test('the lectures\' GRU: the reset gate multiplies h before W', () => {
  const l = lines('forward', 2, { h: [0.1], r: [0.5], z: [0.4], n: [0.2] }, 'gru_reset_before');
  assert.equal(l[0], 'r, z = σ(U x₂ + W h₁ + b)');
  assert.ok(l[1].startsWith('n = tanh(Uₙ x₂ + Wₙ (r ⊙ h₁) + bₙ)'), l);
  assert.equal(l[2], 'r = [0.5]   z = [0.4]   n = [0.2]');
});
