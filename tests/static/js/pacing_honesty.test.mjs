import test from 'node:test';
import assert from 'node:assert/strict';
import { pacedDelay, progressOf, PACE } from '../../../static/js/pacing.js';
import { weightsNote, scaleWords } from '../../../static/js/page_honesty.js';

test('a preset-sized run plays in about two seconds; a huge one streams at full speed', () => {
  assert.equal(pacedDelay(200), 10);
  assert.ok(pacedDelay(200) * 200 <= PACE.targetMs);
  assert.equal(pacedDelay(20), PACE.maxDelayMs);   // a short run is not rushed past the slowest default
  assert.equal(pacedDelay(4000), 0);
  assert.equal(pacedDelay(0), PACE.maxDelayMs);
});

test('the progress bar is the share of events received', () => {
  assert.deepEqual(progressOf(120, 400), { fraction: 0.3, text: '120 / 400 events' });
  assert.equal(progressOf(10, 0).fraction, 0);
  assert.equal(progressOf(500, 400).fraction, 1);
});

test('a fresh network says it is untrained; trained, uploaded and loaded ones do not', () => {
  assert.match(weightsNote({ seed: 3 }), /^Untrained: random weights \(seed 3\)/);
  assert.equal(weightsNote({ source: 'trained', seed: 3 }), '');
  assert.equal(weightsNote({ source: 'model' }), '');
  assert.equal(weightsNote({ loaded: true }), '');
});

test('the recurrent-scale label shows the value the run uses', () => {
  assert.equal(scaleWords(10), '× 10');
  assert.equal(scaleWords(null), 'default init');
  assert.equal(scaleWords(undefined), 'default init');
});
