import test from 'node:test';
import assert from 'node:assert/strict';
import { GRAPH } from '../../../static/js/theme/config.js';
import { compactGeometry, compactTreeGeometry, labelEvery, thinLabels, COMPACT } from '../../../static/js/graph_compact.js';
import { graphRows, layoutGraph } from '../../../static/js/graph_layout.js';
import { toHide, rankOf } from '../../../static/js/graph_overlap.js';
import { PLAIN, SEQ2SEQ } from './metas.mjs';

test('presenter mode compacts a 40-step chain so that all its columns fit the box, text size kept', () => {
  const width = 686;
  const g = compactGeometry(40, 4, width, 468, true);
  assert.ok(g.compact);
  const layout = layoutGraph({ ...PLAIN, T: 40 }, g);
  assert.ok(layout.width * g.presentFitZoom <= width, `${layout.width * g.presentFitZoom} > ${width}`);
  assert.ok(layout.height * g.presentFitZoom <= 468);
  assert.ok(g.nodeRadius <= g.columnWidth / 2);   // neighbouring nodes never touch
  assert.ok(g.labelEvery * g.columnWidth * g.presentFitZoom >= COMPACT.labelGapPx);
});

test('no compact layout outside presenter mode, when the full size fits, or when columns would vanish', () => {
  assert.equal(compactGeometry(40, 4, 686, 468, false), null);
  assert.equal(compactGeometry(4, 4, 686, 468, true), null);
  assert.equal(compactGeometry(1000, 4, 686, 468, true), null);
});

test('a graph that is too tall gets lower rows, a tree closer leaves and lower levels', () => {
  const g = compactGeometry(8, 7, 2000, 468, true);
  assert.ok((GRAPH.marginTop + 7 * g.rowHeight + GRAPH.marginBottom) * g.presentFitZoom <= 468);
  const tree = { leaves: [...Array(32).keys()], height: 5 };
  const t = compactTreeGeometry(tree, 686, 468, true);
  assert.ok(t.compact && t.rowHeight < GRAPH.rowHeight && t.columnWidth < GRAPH.columnWidth);
});

test('labels repeat every k-th step, k a round number making room for an 18 px label', () => {
  assert.equal(labelEvery(74), 1);
  assert.equal(labelEvery(14), 5);
  const g = compactGeometry(40, 4, 686, 468, true);
  const layout = thinLabels(layoutGraph({ ...PLAIN, T: 40 }, g), g);
  const ws = layout.labels.filter((l) => l.text === 'W');
  assert.ok(ws.length > 0 && ws.length <= Math.ceil(40 / g.labelEvery) + 1);
  const seq = compactGeometry(16, 4, 500, 468, true);
  const segs = thinLabels(layoutGraph(SEQ2SEQ, seq), seq).segments.map((s) => s.heading);
  assert.deepEqual(segs, ['Encoder', 'Decoder']);
});

test('a run without any target has no L and ŷ rows', () => {
  assert.deepEqual(graphRows({ ...PLAIN, has_target: [false, false, false, false] }).map((r) => r.kind), ['h', 'x']);
  assert.deepEqual(graphRows({ ...PLAIN, has_target: [false, false, false, true] }).map((r) => r.kind), ['loss', 'out', 'h', 'x']);
  const layout = layoutGraph({ ...PLAIN, has_target: [false, false, false, false] });
  assert.ok(layout.edges.every((e) => !e.to.startsWith('loss') && !e.to.startsWith('out')));
});

test('overlapping texts: the higher rank is kept, the lower hidden; apart, both kept', () => {
  const box = (left, top) => ({ left, right: left + 40, top, bottom: top + 20 });
  const items = [
    { rank: rankOf('edge-label'), box: box(10, 10) },
    { rank: rankOf('norm-label'), box: box(30, 15) },
    { rank: rankOf('edge-label'), box: box(200, 10) },
  ];
  assert.deepEqual(toHide(items), [0]);
});
