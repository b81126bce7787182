import test from 'node:test';
import assert from 'node:assert/strict';
import { fitFactor, fitLine, factorVerdict, factorWords, logSafe } from '../../../static/js/punchline.js';

test('a geometric decay is fitted to its ratio per step back', () => {
  const series = [0.001, 0.01, 0.1, 1];   // ×10 per step forward: ×0.1 per step back
  const fit = fitFactor(series);
  assert.ok(Math.abs(fit.factor - 0.1) < 1e-12);
  assert.equal(fit.n, 4);
  assert.deepEqual([fit.first, fit.last], [0, 3]);
  const line = fitLine(fit);
  line.y.forEach((v, i) => assert.ok(Math.abs(v / series[i] - 1) < 1e-9));
});

test('padding zeros, non-finite and unseen steps are left out of the fit and out of a log plot', () => {
  const series = [null, 0.25, 0.5, 1, 0, Infinity, NaN];
  const fit = fitFactor(series);
  assert.ok(Math.abs(fit.factor - 0.5) < 1e-12);
  assert.equal(fit.n, 3);
  assert.deepEqual(logSafe(series), [null, 0.25, 0.5, 1, null, null, null]);
});

test('under two points there is no fit, and the words say it is coming', () => {
  assert.equal(fitFactor([null, 1, 0]), null);
  assert.match(factorWords(null), /backward pass/);
});

test('the verdict names vanishing, steady and exploding', () => {
  assert.equal(factorVerdict(0.5), 'vanishing');
  assert.equal(factorVerdict(1.0), 'steady');
  assert.equal(factorVerdict(3), 'exploding');
  assert.match(factorWords(fitFactor([16, 8, 4, 2, 1])), /×2\.0 per step back: exploding \(fit over 5 steps\)/);
  assert.match(factorWords(fitFactor([1e-6, 1e-3, 1])), /×1\.0e-3 per step back: vanishing/);
});

test('a mild factor over a short fit shrinks or grows, it does not vanish or explode', () => {
  assert.equal(factorVerdict(0.91, 12), 'shrinking');     // ×0.35 overall: no diagnosis would flag it
  assert.equal(factorVerdict(0.79, 16), 'vanishing');     // ×0.029 overall
  assert.equal(factorVerdict(1.1, 7), 'growing');         // ×1.8 overall
  assert.equal(factorVerdict(2, 4), 'growing');           // ×8
  assert.equal(factorVerdict(2, 5), 'exploding');         // ×16
  const mild = [...Array(12).keys()].map((t) => 0.91 ** (11 - t));
  assert.match(factorWords(fitFactor(mild)), /×0\.91 per step back: shrinking \(fit over 12 steps\)/);
});
