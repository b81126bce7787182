// issue 21: the compare panel's body for two checkpoints: the second model reads the first one's data.
import test from 'node:test';
import assert from 'node:assert/strict';
import { checkpointRequest } from '../../../static/js/compare.js';

test('two checkpoints are compared on the first one\'s data', () => {
  assert.deepEqual(checkpointRequest('aaa', 'bbb'), { configs: [{ model_id: 'aaa' }, { model_id: 'bbb', data_from: 'aaa' }] });
});
