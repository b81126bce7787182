import test from 'node:test';
import assert from 'node:assert/strict';
import { normLabel } from '../../../static/js/graph_norm_labels.js';

test('a node shows its gradient norm once its backward event has arrived, nothing before', () => {
  assert.equal(normLabel(null), '');
  assert.equal(normLabel(undefined), '');
  assert.notEqual(normLabel({ norm: 0.00213 }), '');
  assert.equal(normLabel({ norm: 0.00213 }), '2e-3');
  assert.equal(normLabel({ norm: 0.2213 }), '0.22');
  assert.equal(normLabel({ norm: 45000 }), '5e4');
  assert.equal(normLabel({ norm: NaN }), 'NaN');
});
