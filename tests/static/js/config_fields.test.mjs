// The config table: fields by group, types parsed and written, input bounds.

import test from 'node:test';
import assert from 'node:assert/strict';

import {
  settableFields, fieldNames, fieldNamed, parseValue, formatValue, inputBounds,
} from '../../../static/js/config_fields.js';
import { CONFIG_FIELDS } from './metas.mjs';

test('the training fields are the table\'s training group, in its order', () => {
  assert.deepEqual(fieldNames(CONFIG_FIELDS, 'training'), ['epochs', 'optimizer', 'lr', 'clip', 'tbptt']);
  const trace = fieldNames(CONFIG_FIELDS, 'trace');
  for (const name of ['preset', 'cell', 'task', 'seq_len', 'unroll', 'recurrent_gradient']) assert.ok(trace.includes(name), name);
});

test('the derived loss is in no group and no client config', () => {
  assert.ok(fieldNamed(CONFIG_FIELDS, 'loss').derived);
  assert.ok(!settableFields(CONFIG_FIELDS).some((f) => f.name === 'loss'));
  assert.ok(!fieldNames(CONFIG_FIELDS, 'trace').includes('loss'));
});

test('a new field in the table is a new parameter everywhere, with no JS change', () => {
  const fields = [...CONFIG_FIELDS, { name: 'dropout', type: 'float', group: 'trace', derived: false, minimum: 0, maximum: 1 }];
  assert.ok(fieldNames(fields, 'trace').includes('dropout'));
  assert.deepEqual(inputBounds(fieldNamed(fields, 'dropout')), { step: 'any', min: '0', max: '1' });
});

test('parseValue reads each type and refuses what is not one', () => {
  assert.equal(parseValue('int', '12'), 12);
  assert.equal(parseValue('int', ' 3 '), 3);
  assert.equal(parseValue('int', '12.5'), undefined);
  assert.equal(parseValue('int', '12abc'), undefined);
  assert.equal(parseValue('int', ''), undefined);
  assert.equal(parseValue('float', '1e-4'), 1e-4);
  assert.equal(parseValue('float', '-0.5'), -0.5);
  assert.equal(parseValue('float', 'Infinity'), undefined);
  assert.equal(parseValue('float', 'NaN'), undefined);
  assert.equal(parseValue('bool', '1'), true);
  assert.equal(parseValue('bool', 'no'), false);
  assert.equal(parseValue('string', 'lstm'), 'lstm');
  assert.equal(formatValue('bool', true), '1');
  assert.equal(formatValue('float', 0.25), '0.25');
});

test('input bounds are the schema\'s, narrowed by the server\'s limits', () => {
  const seqLen = fieldNamed(CONFIG_FIELDS, 'seq_len');
  assert.deepEqual(inputBounds(seqLen), { step: '1', min: '2', max: '1000' });
  assert.deepEqual(inputBounds(seqLen, { seq_len: [2, 400] }), { step: '1', min: '2', max: '400' });
  assert.deepEqual(inputBounds(fieldNamed(CONFIG_FIELDS, 'recurrent_scale'), { recurrent_scale: [0, 3] }),
    { step: 'any', min: '0', max: '3' });
  // an exclusive minimum is the input's min (the server refuses the bound itself)
  assert.deepEqual(inputBounds(fieldNamed(CONFIG_FIELDS, 'lr')), { step: 'any', min: '0', max: '10' });
  assert.deepEqual(inputBounds(fieldNamed(CONFIG_FIELDS, 'batch_index')), { step: '1', min: '0' });
});
