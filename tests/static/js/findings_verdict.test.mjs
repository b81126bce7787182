// The story card's one-line verdict: measurements (severity info) are never reported as problems.
import test from 'node:test';
import assert from 'node:assert/strict';
import { findingsVerdict } from '../../../static/js/findings.js';

test('a warning is named in the verdict and the run is not healthy', () => {
  const v = findingsVerdict([{ severity: 'warning', title: 'Vanishing gradient (h_l0)' }, { severity: 'info', title: 'Memory horizon (h_l0)' }]);
  assert.equal(v.healthy, false);
  assert.equal(v.text, 'Diagnosis: Vanishing gradient (h_l0)');
});

test('only measurements: no problems found, and the measurement follows', () => {
  const v = findingsVerdict([{ severity: 'info', title: 'Memory horizon (h_l0)' }]);
  assert.equal(v.healthy, true);
  assert.equal(v.text, 'Diagnosis: no problems found. Memory horizon (h_l0).');
});

test('no findings at all, or no diagnosis: no problems found', () => {
  assert.deepEqual(findingsVerdict([]), { healthy: true, text: 'Diagnosis: no problems found.' });
  assert.deepEqual(findingsVerdict(undefined), { healthy: true, text: 'Diagnosis: no problems found.' });
});
