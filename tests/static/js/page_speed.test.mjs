// Issue 17's page-speed modules, without a browser: which graph columns exist (graph_window.js),
// socket messages applied per frame (event_batcher.js), when plots may draw (plot_pacer.js),
// plotly loaded on demand (plotly_loader.js) and the overview strip's bitmap colours (cell_bitmap.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ColumnIndex, ColumnWindow, wantedRange, itemX, columnAt, WINDOW } from '../../../static/js/graph_window.js';
import { EventBatcher, nextFrame } from '../../../static/js/event_batcher.js';
import { PlotPacer } from '../../../static/js/plot_pacer.js';
import { loadPlotly, plotlyLoaded, plotlySrc, whenPlotly, whenPlotlyLatest } from '../../../static/js/plotly_loader.js';
import { CellBitmap, parseColor } from '../../../static/js/cell_bitmap.js';
import { layoutGraph } from '../../../static/js/graph_layout.js';
import { GRAPH } from '../../../static/js/theme/config.js';

const RNN = { name: 'rnn_tanh', states: ['h'], gates: [] };

function meta(T) {
  return {
    type: 'meta', T, layers: 1, directions: 1, cell: 'rnn_tanh', cell_spec: RNN, loss: 'cross_entropy',
    has_target: Array(T).fill(true), output_size: 4, hidden_size: 3, input_labels: null, target_labels: null,
    config: { unroll: 'teacher_forced', recurrent_gradient: true }, schedule: { segments: [{ name: 'all', start: 0, stop: T, emits: true }] },
  };
}

test('an item starts at its x, its x0 or the first point of its path', () => {
  assert.equal(itemX({ x: 12 }), 12);
  assert.equal(itemX({ x0: 7, x1: 90 }), 7);
  assert.equal(itemX({ d: 'M153.5,20 L200,20' }), 153.5);
  assert.equal(columnAt(GRAPH.marginLeft + 2.5 * GRAPH.columnWidth), 2);
  assert.equal(columnAt(0), 0);
});

test('every node, edge, label and axis label of a layout is in exactly one column, the one of its step', () => {
  const layout = layoutGraph(meta(30));
  const index = new ColumnIndex(layout);
  const all = (kind) => index.buckets.flatMap((b) => b[kind]);
  assert.equal(all('nodes').length, layout.nodes.length);
  assert.equal(all('edges').length, layout.edges.length);
  assert.equal(all('labels').length, layout.labels.length);
  assert.equal(all('axis').length, layout.axis.length);
  // the nodes of step t sit in column t + 1 (column 0 holds the initial state h(−1))
  for (let t = 0; t < 30; t += 1) {
    assert.deepEqual([...new Set(index.items(t + 1).nodes.map((n) => n.t))], [t]);
    assert.deepEqual(index.items(t + 1).axis.map((a) => a.t), [t]);
  }
  assert.equal(index.items(0).initials.length, 1);
});

test('a short graph is drawn whole; a long one around the view, with a margin on each side', () => {
  assert.deepEqual(wantedRange(3, 10, WINDOW.wholeColumns), [0, WINDOW.wholeColumns - 1]);
  const opts = { wholeColumns: 10, margin: 0.5, minMargin: 4 };
  assert.deepEqual(wantedRange(100, 120, 1000, opts), [90, 130]);   // 20 columns visible: 10 on each side
  assert.deepEqual(wantedRange(100, 104, 1000, opts), [96, 108]);   // at least minMargin
  assert.deepEqual(wantedRange(-1, 20, 1000, opts), [0, 31]);        // clipped at the ends
  assert.deepEqual(wantedRange(990, 1005, 1000, opts), [982, 999]);
});

test('the window draws new columns only once the view nears its edge, and removes those left behind', () => {
  const win = new ColumnWindow(1000, { wholeColumns: 10, margin: 0.5, minMargin: 4 });
  const first = win.update(100, 120);
  assert.deepEqual([first.enter[0], first.enter.at(-1), first.exit.length], [90, 130, 0]);
  assert.deepEqual(win.update(101, 121), { enter: [], exit: [] });    // one column on: nothing to do
  assert.deepEqual(win.update(104, 124), { enter: [], exit: [] });
  const moved = win.update(110, 130);                                   // near the drawn edge: move
  assert.deepEqual(moved.enter, [131, 132, 133, 134, 135, 136, 137, 138, 139, 140]);
  assert.deepEqual(moved.exit, [90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
  const jumped = win.update(500, 520);                                  // a jump: all new
  assert.equal(jumped.enter.length, 41);
  assert.equal(jumped.exit.length, 41);
  assert.deepEqual([win.lo, win.hi], [490, 530]);
});

test('the batcher applies queued messages in order, once per scheduled tick; clear drops them', () => {
  const applied = [];
  const ticks = [];
  const batcher = new EventBatcher((m) => applied.push(m), (fn) => ticks.push(fn));
  batcher.push(1);
  batcher.push(2);
  batcher.push(3);
  assert.equal(ticks.length, 1, 'one tick per batch');
  assert.deepEqual(applied, []);
  ticks[0]();
  assert.deepEqual(applied, [1, 2, 3]);
  batcher.push(4);
  assert.equal(batcher.flush(), 1, 'flush applies at once (before a close)');
  assert.deepEqual(applied, [1, 2, 3, 4]);
  ticks[1]();   // the tick of the flushed batch finds nothing
  assert.deepEqual(applied, [1, 2, 3, 4]);
  batcher.push(5);
  batcher.clear();   // a new run: the old run's late messages never arrive
  ticks[2]();
  assert.deepEqual(applied, [1, 2, 3, 4]);
  assert.equal(batcher.pending, 0);
});

test('plots wait while the user moves the cursor and pace themselves by their own cost while streaming', () => {
  const pacer = new PlotPacer({ restMs: 150, throttleMs: 100, costFactor: 4 });
  assert.equal(pacer.wait(0), 0, 'nothing drawn yet: draw now');
  pacer.drew(0, 50);                      // a draw of 50 ms: the next one waits 4 × 50 = 200 ms
  assert.equal(pacer.wait(100), 150);
  assert.equal(pacer.wait(250), 0);
  pacer.moved(300, false);                // the stream moved the cursor: no rest needed
  assert.equal(pacer.wait(300), 0);
  pacer.moved(300, true);                 // the user did: wait until it has rested 150 ms
  assert.equal(pacer.wait(310), 140);
  pacer.moved(400, true);
  assert.equal(pacer.wait(500), 50);
  assert.equal(pacer.wait(550), 0);
  pacer.drew(550, 555);                   // a cheap draw: the throttle's floor applies
  assert.equal(pacer.wait(600), 55);
});

/** A stand-in document that records the scripts appended to <head>. */
function fakeDocument(src) {
  const scripts = [];
  return {
    scripts,
    querySelector: (sel) => (sel === 'meta[name="plotly-src"]' && src ? { getAttribute: () => src } : null),
    createElement: () => {
      const listeners = {};
      return { listeners, addEventListener: (type, fn) => { listeners[type] = fn; } };
    },
    head: { appendChild: (script) => scripts.push(script) },
  };
}

test('(before any load) a page without plotly-src says so instead of hanging', async () => {
  delete globalThis.Plotly;
  await assert.rejects(loadPlotly(fakeDocument(null)), /plotly-src/);
});

test('plotly is loaded once, from the page\'s <meta name="plotly-src">, and waited for', async () => {
  delete globalThis.Plotly;
  const doc = fakeDocument('/vendor/plotly.min.js');
  assert.equal(plotlySrc(doc), '/vendor/plotly.min.js');
  assert.equal(plotlyLoaded(), false);
  const first = loadPlotly(doc);
  const second = loadPlotly(doc);
  assert.equal(first, second, 'one load however often asked');
  assert.equal(doc.scripts.length, 1);
  assert.equal(doc.scripts[0].src, '/vendor/plotly.min.js');
  const drawn = [];
  const waiting = whenPlotly((P) => drawn.push(P.name));
  assert.deepEqual(drawn, []);
  globalThis.Plotly = { name: 'plotly' };
  doc.scripts[0].listeners.load();
  assert.equal((await first).name, 'plotly');
  await waiting;
  assert.deepEqual(drawn, ['plotly']);
  assert.equal(whenPlotly((P) => P.name), 'plotly', 'once loaded, at once');
  delete globalThis.Plotly;
});

test('of the drawings asked for one plot while plotly loads, only the last runs; each plot keeps its own', async () => {
  delete globalThis.Plotly;
  const doc = fakeDocument('/vendor/plotly.min.js');
  const punchline = {};
  const norms = {};
  const drawn = [];
  const first = whenPlotlyLatest(punchline, () => drawn.push('punchline 1'), doc);
  assert.equal(whenPlotlyLatest(punchline, () => drawn.push('punchline 2'), doc), undefined, 'queued behind the first');
  const other = whenPlotlyLatest(norms, () => drawn.push('norms 1'), doc);
  whenPlotlyLatest(punchline, () => drawn.push('punchline 3'), doc);
  globalThis.Plotly = { name: 'plotly' };
  doc.scripts[0]?.listeners.load?.();
  await Promise.all([first, other]);
  assert.deepEqual(drawn, ['punchline 3', 'norms 1']);
  whenPlotlyLatest(punchline, () => drawn.push('punchline 4'), doc);
  assert.deepEqual(drawn.at(-1), 'punchline 4', 'once loaded, at once');
  delete globalThis.Plotly;
});

test('a plot whose plotly load failed asks again with its next drawing', async () => {
  delete globalThis.Plotly;
  const doc = fakeDocument('/vendor/plotly.min.js');
  const plot = {};
  const drawn = [];
  const failing = import('../../../static/js/plotly_loader.js?fresh').then(async (fresh) => {
    const first = fresh.whenPlotlyLatest(plot, () => drawn.push('never'), doc);
    doc.scripts[0].listeners.error();
    await assert.rejects(first, /could not be loaded/);
    const second = fresh.whenPlotlyLatest(plot, () => drawn.push('after retry'), doc);
    assert.equal(doc.scripts.length, 2, 'a second <script> is injected');
    globalThis.Plotly = { name: 'plotly' };
    doc.scripts[1].listeners.load();
    await second;
  });
  await failing;
  assert.deepEqual(drawn, ['after retry']);
  delete globalThis.Plotly;
});

test('the bitmap reads CSS colours and marks itself changed only when a cell changes', () => {
  assert.deepEqual(parseColor('rgb(1,2,3)'), [1, 2, 3, 255]);
  assert.deepEqual(parseColor('rgba(10, 20, 30, 0.5)'), [10, 20, 30, 128]);
  assert.deepEqual(parseColor('#ff8000'), [255, 128, 0, 255]);
  assert.deepEqual(parseColor('#0f0'), [0, 255, 0, 255]);
  const bitmap = new CellBitmap(4, 2);
  bitmap.dirty = false;
  bitmap.set(3, 1, '#102030');
  assert.deepEqual(bitmap.get(3, 1), [16, 32, 48, 255]);
  assert.deepEqual(bitmap.get(0, 0), [0, 0, 0, 0]);
  assert.equal(bitmap.dirty, true);
  bitmap.dirty = false;
  bitmap.set(3, 1, 'rgb(16,32,48)');   // the same colour written differently: nothing changed
  assert.equal(bitmap.dirty, false);
});

test('compact "f32" event values decode to the float32 numbers, NaN and infinities included; plain lists pass through', async () => {
  const { decodeF32, eventValues } = await import('../../../static/js/wire_decode.js');
  const f32 = new Float32Array([0.5, -1.25, 1e-8, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  const text = Buffer.from(f32.buffer).toString('base64');
  const out = decodeF32(text);
  assert.ok(Array.isArray(out));
  assert.deepEqual(out.slice(0, 2), [0.5, -1.25]);
  assert.equal(out[2], Math.fround(1e-8));
  assert.ok(Number.isNaN(out[3]));
  assert.deepEqual(out.slice(4), [Infinity, -Infinity]);
  assert.deepEqual(eventValues({ enc: 'f32', values: { h: text } }, () => 'unused').h.slice(0, 2), [0.5, -1.25]);
  assert.deepEqual(eventValues({ values: { h: [1, 'NaN'] } }, (v) => v.map(Number)).h.slice(0, 1), [1]);
});

test('nextFrame runs once: with the frame\'s timestamp, or with none from the fallback timer', () => {
  const frames = [];
  const timers = [];
  const realTimeout = globalThis.setTimeout;
  globalThis.requestAnimationFrame = (fn) => frames.push(fn);
  globalThis.setTimeout = (fn, ms) => timers.push([fn, ms]);
  try {
    const got = [];
    nextFrame((now) => got.push(now), 100);
    frames[0](1234.5);
    timers[0][0]();   // the fallback timer fires after the frame: nothing more
    assert.deepEqual(got, [1234.5]);
    assert.equal(timers[0][1], 100);
    const late = [];
    nextFrame((now) => late.push(now), 100);   // no frame comes in time (a hidden tab)
    timers[1][0]();
    frames[1](99);
    assert.deepEqual(late, [undefined]);
  } finally {
    delete globalThis.requestAnimationFrame;
    globalThis.setTimeout = realTimeout;
  }
});
