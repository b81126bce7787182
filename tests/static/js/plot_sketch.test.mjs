// The punchline's plain-SVG sketch, drawn while plotly.js is still loading (plot_sketch.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decadeLabel, decadeRange, logSketchSvg, niceStep } from '../../../static/js/plot_sketch.js';

const OPTIONS = { width: 400, height: 240, xMax: 3, yTitle: '‖∂L/∂hₜ‖', emptyText: 'fills in as the backward pass arrives' };

/** The [x, y] points of every polyline in the markup, one array per polyline. */
function polylines(svg) {
  return [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)]
    .map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
}

test('decades are labelled as plotly writes them and cover every drawable value', () => {
  assert.equal(decadeLabel(0), '1');
  assert.equal(decadeLabel(-45), '10⁻⁴⁵');
  assert.equal(decadeLabel(3), '10³');
  assert.deepEqual(decadeRange([{ y: [2e-46, null, 0, NaN, 0.22] }]), [-46, 0]);
  assert.deepEqual(decadeRange([{ y: [5, 5] }]), [0, 1], 'one value still spans a decade');
  assert.equal(decadeRange([{ y: [null, 0, Infinity] }]), null);
  assert.equal(niceStep(399, 4), 100);
  assert.equal(niceStep(7, 4), 2);
});

test('a decaying series is one falling line on the log axis, with a gap where a value cannot be drawn', () => {
  const svg = logSketchSvg([{ y: [1e-3, 1e-2, 1e-1, 1], color: '#1f77b4' }], OPTIONS);
  assert.match(svg, /^<svg class="plot-sketch"/);
  const [line] = polylines(svg);
  assert.equal(line.length, 4);
  const ys = line.map(([, y]) => y);
  const xs = line.map(([x]) => x);
  ys.slice(1).forEach((y, i) => assert.ok(y < ys[i], 'each larger value is drawn higher'));
  const steps = ys.slice(1).map((y, i) => ys[i] - y);
  steps.forEach((d) => assert.ok(Math.abs(d - steps[0]) < 0.2, 'equal ratios are equal distances on a log axis'));
  xs.slice(1).forEach((x, i) => assert.ok(x > xs[i]));
  assert.match(svg, />10⁻³</);
  assert.match(svg, />time step t</);

  const gapped = polylines(logSketchSvg([{ y: [1e-3, 0, 1e-1, NaN, 1], color: 'red' }], OPTIONS));
  assert.deepEqual(gapped.map((l) => l.length), [1, 1, 1], 'zero and NaN break the line');
});

test('a line with its own x (the fit over the steps it covers) is drawn over those steps only', () => {
  const svg = logSketchSvg([
    { y: [1e-3, 1e-2, 1e-1, 1], color: 'blue' },
    { x: [2, 3], y: [1e-1, 1], color: 'blue', dash: 'dash', width: 1.5 },
  ], OPTIONS);
  const [full, fit] = polylines(svg);
  assert.deepEqual(fit.map(([x]) => x), full.slice(2).map(([x]) => x));
  assert.match(svg, /stroke-dasharray/);
});

test('with nothing to draw the sketch says what will fill it, and text is escaped', () => {
  const svg = logSketchSvg([{ y: [null, null], color: 'blue' }], { ...OPTIONS, emptyText: 'a <b> & "c"' });
  assert.equal(polylines(svg).length, 0);
  assert.match(svg, /a &lt;b&gt; &amp; &quot;c&quot;/);
});
