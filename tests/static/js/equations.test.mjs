// The evaluated equation of an event (static/js/equations.js): each cell's lecture lines, its gates
// and states read from meta.cell_spec, and a cell without lecture text described from its spec alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { readFileSync } from 'node:fs';

import { describeEvent, fill } from '../../../static/js/equations.js';

// the engine's cell descriptions (pinned to it by tests/static/test_js_fixtures.py)
const SPECS = JSON.parse(readFileSync(new URL('../../fixtures/cell_specs.json', import.meta.url), 'utf8'));
const { lstm: LSTM, gru: GRU, rnn_tanh: TANH, rnn_relu: RELU } = SPECS;

function meta(cell) {
  return { T: 3, layers: 1, directions: 1, cell: cell.name, cell_spec: cell, loss: 'cross_entropy', has_target: [true, true, true], config: {} };
}

/** A store holding `events` (find by phase, node, t). */
function store(events) {
  return { find: (phase, node, t) => events.find((e) => e.phase === phase && e.node === node && e.t === t) };
}

function event(phase, t, values, seq = 0) {
  const norms = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.hypot(...v)]));
  return { seq, phase, node: 'h_l0', t, layer: 0, direction: 0, norm: norms.h ?? norms.dh, values, norms };
}

const texts = (desc) => desc.lines.map(([text]) => text);

test('an LSTM forward step: its lecture lines, the four gates and c', () => {
  const ev = event('forward', 1, { h: [0.1, 0.2], c: [0.3, 0.4], i: [0.5, 0.5], f: [0.9, 0.9], g: [-0.2, 0.1], o: [0.6, 0.6] });
  const lines = texts(describeEvent(ev, store([ev]), meta(LSTM)));
  assert.ok(lines[0].startsWith('i, f, o = σ('));
  assert.equal(lines[1], 'i = [0.5, 0.5]   f = [0.9, 0.9]   g = [−0.2, 0.1]   o = [0.6, 0.6]');
  assert.equal(lines[2], 'c₁ = f ⊙ c₀ + i ⊙ g');
  assert.equal(lines[3], 'c₁ = [0.3, 0.4]');
  assert.equal(lines[4], 'h₁ = o ⊙ tanh(c₁)');
});

test('an LSTM backward step carries ∂L/∂c from the next step', () => {
  const ev = event('backward', 1, { dh: [0.1, 0.1], dc: [0.2, 0.2] }, 9);
  const lines = texts(describeEvent(ev, store([ev]), meta(LSTM)));
  assert.ok(lines.includes('∂L/∂c₁ = ∂L/∂h₁ ⊙ o ⊙ (1 − tanh²c₁) + f₂ ⊙ ∂L/∂c₂'), lines);
  assert.ok(lines.includes('∂L/∂c₁ = [0.2, 0.2]'), lines);
  assert.ok(lines[0].includes('(recurrent path through the gates of step 2)'), lines);
});

test('a GRU and a tanh RNN: their own lines, no c', () => {
  const gru = event('forward', 0, { h: [0.1], r: [0.5], z: [0.5], n: [0.2] });
  const g = texts(describeEvent(gru, store([gru]), meta(GRU)));
  assert.ok(g[0].startsWith('r, z = σ(') && g[1] === 'r = [0.5]   z = [0.5]   n = [0.2]' && g[2].includes('(torch convention)'), g);
  const back = event('backward', 0, { dh: [0.1] }, 5);
  const t = texts(describeEvent(back, store([back]), meta(TANH)));
  assert.equal(t[0], '∂L/∂h₀ = Vᵀ ∂L/∂o₀ + Wᵀ diag(1 − h₁²) ∂L/∂h₁');
});

test('a ReLU RNN: its own φ and φ′', () => {
  const fwd = event('forward', 1, { h: [0.1] });
  assert.equal(texts(describeEvent(fwd, store([fwd]), meta(RELU)))[0], 'h₁ = relu(U x₁ + W h₀ + b)');
  const back = event('backward', 0, { dh: [0.1] }, 5);
  assert.equal(texts(describeEvent(back, store([back]), meta(RELU)))[0], '∂L/∂h₀ = Vᵀ ∂L/∂o₀ + Wᵀ diag𝟙[z₁ > 0] ∂L/∂h₁');
});

test('fill puts the step names into a template and leaves unknown names alone', () => {
  assert.equal(fill('h{t} = φ({U} {input} + {W} h{prev}) {other}', { t: '₃', prev: '₂', U: 'U', W: 'W', input: 'x₃' }),
    'h₃ = φ(U x₃ + W h₂) {other}');
});

test('a cell without lecture text is described from its cell_spec', () => {
  const spec = SPECS.generic;
  const ev = event('forward', 0, { h: [0.1], c: [0.2], f: [0.7] });
  const lines = texts(describeEvent(ev, store([ev]), meta(spec)));
  assert.deepEqual(lines.slice(0, 3), ['h₀ = peephole(U x₀, W h₋₁)', 'f = [0.7]', 'c₀ = [0.2]']);
});
