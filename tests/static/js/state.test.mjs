// The permalink: config and view settings read from and written to a query string, from the config table.

import test from 'node:test';
import assert from 'node:assert/strict';

import { readUrl, toQuery, pickConfig } from '../../../static/js/state.js';
import { CONFIG_FIELDS } from './metas.mjs';

const CONFIG = {
  preset: 'seq2seq', cell: 'lstm', task: 'reverse', hidden_size: 6, num_layers: 2, bidirectional: true, seq_len: 12,
  recurrent_scale: 1.5, forget_bias: -0.5, seed: 7, dtype: 'float32', text: 'a b&c=d', epochs: 30, optimizer: 'sgd',
  lr: 0.05, clip: 1, tbptt: 4, recurrent_gradient: false, unroll: 'free_running', batch_size: 4, batch_index: 3,
};
const VIEW = { present: true, theme: 'dark', delay: 120, break_nan: true, break_below: 1e-6, break_above: 1000, lesson: 'bptt', scene: 4 };

test('a config and a view survive a write and a read unchanged', () => {
  const { config, view } = readUrl(toQuery(CONFIG, VIEW, CONFIG_FIELDS), CONFIG_FIELDS);
  assert.deepEqual(config, CONFIG);
  assert.deepEqual(view, VIEW);
});

test('every settable field of the table has a URL parameter, the derived loss none', () => {
  const all = Object.fromEntries(CONFIG_FIELDS.map((f) => [f.name, f.type === 'bool' ? true : f.type === 'string' ? 'x' : 2]));
  const query = new URLSearchParams(toQuery(all, {}, CONFIG_FIELDS));
  assert.deepEqual([...query.keys()], CONFIG_FIELDS.filter((f) => !f.derived).map((f) => f.name));
  assert.ok(!query.has('loss'));
  assert.deepEqual(readUrl('?loss=mse&cell=gru', CONFIG_FIELDS).config, { cell: 'gru' });
});

test('unknown parameters are ignored', () => {
  const { config, view } = readUrl('?cell=gru&colour=red&__proto__=1&constructor=x', CONFIG_FIELDS);
  assert.deepEqual(config, { cell: 'gru' });
  assert.ok(!('colour' in view));
});

test('values that are not numbers of their type are ignored', () => {
  const { config, view } = readUrl('?seq_len=abc&hidden_size=12.5&seed=&lr=1e-3&recurrent_scale=NaN&clip=Infinity&delay=x&break_below=y', CONFIG_FIELDS);
  assert.deepEqual(config, { lr: 0.001 });
  assert.equal(view.delay, null);
  assert.equal(view.break_below, null);
});

test('booleans read 1/true as true and anything else as false, and are written 1/0', () => {
  assert.deepEqual(readUrl('?bidirectional=true&recurrent_gradient=0', CONFIG_FIELDS).config,
    { bidirectional: true, recurrent_gradient: false });
  assert.equal(toQuery({ bidirectional: false }, {}, CONFIG_FIELDS), '?bidirectional=0');
});

test('view settings at their fallback stay out of the URL; null and empty config values too', () => {
  const q = toQuery({ cell: 'gru', text: '', clip: null, tbptt: undefined }, { present: false, theme: 'light', delay: null }, CONFIG_FIELDS);
  assert.equal(q, '?cell=gru');
  assert.deepEqual(readUrl('', CONFIG_FIELDS).view, {
    present: false, theme: 'light', delay: null, break_nan: false, break_below: null, break_above: null,
    lesson: null, scene: null,
  });
});

test('pickConfig keeps the settable, non-null fields of a resolved config', () => {
  const resolved = { cell: 'gru', loss: 'cross_entropy', clip: null, seq_len: 8, title: 'x' };
  assert.deepEqual(pickConfig(resolved, CONFIG_FIELDS), { cell: 'gru', seq_len: 8 });
  assert.deepEqual(pickConfig(null, CONFIG_FIELDS), {});
});
