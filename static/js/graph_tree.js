// A recursive network's graph: the tree drawn as a tree (pure: from meta.tree, no DOM). Leaves
// read the words (x rectangles at the bottom, V), internal nodes combine their children with the
// shared U (left) and W (right), the root's output ŷ and its loss L sit at the top. The layout has
// the fields of graph_layout.js's, so graph_draw.js draws and paints it unchanged: every tree node
// is the events' node "h_tree" at t = its post-order index, each child→parent edge carries the
// parent's ∂L/∂h backward (its width), and `columnOf(t)` tells the viewport where node t is.

import { GRAPH } from './theme/config.js';
import { nodeKey } from './graph_layout.js';

export const TREE_NODE = 'h_tree';

/** The layout of meta.tree ({children, depth, leaves, words, height}) in SVG user units. */
export function layoutTree(meta, geometry = GRAPH) {
  const G = geometry;
  const tree = meta.tree;
  const N = tree.children.length;
  const root = N - 1;
  const R = G.nodeRadius;
  const levelHeight = G.rowHeight * 0.8;
  const top = G.marginTop + 2 * levelHeight;            // L and ŷ above the root
  const x = new Array(N);
  const spacing = tree.leaves.length > 8 ? G.columnWidth * 0.65 : G.columnWidth;   // wide trees: leaves closer
  tree.leaves.forEach((k, i) => { x[k] = G.marginLeft + (i + 1) * spacing; });
  for (let k = 0; k < N; k += 1) {                       // post-order: children are placed first
    const kids = tree.children[k];
    if (kids) x[k] = (x[kids[0]] + x[kids[1]]) / 2;
  }
  const y = (k) => top + (tree.depth[k] + 0.5) * levelHeight;
  const wordsY = top + (tree.height + 1.5) * levelHeight;
  const layout = {
    T: N, tree: true, rowHeight: levelHeight, nodeRadius: R, rowLabelWidth: G.marginLeft - 8,
    width: G.marginLeft + (tree.leaves.length + 1) * spacing,
    height: wordsY + R + G.marginBottom,
    rows: [{ kind: 'h', node: TREE_NODE, label: 'h', index: 0 }],
    nodes: [], initials: [], edges: [], segments: [], labels: [], axis: [],
    rowLabels: [
      { kind: 'loss', text: 'L', x: 12, y: G.marginTop + 0.5 * levelHeight },
      { kind: 'out', text: meta.loss === 'cross_entropy' ? 'ŷ' : 'o', x: 12, y: G.marginTop + 1.5 * levelHeight },
      ...[...Array(tree.height + 1).keys()].map((d) => ({ kind: 'h', text: `depth ${d}`, x: 12, y: top + (d + 0.5) * levelHeight })),
      { kind: 'x', text: 'words', x: 12, y: wordsY },
    ],
    columnOf: (t) => (x[t] ?? x[root]) / G.columnWidth - G.marginLeft / G.columnWidth - 1.5,
  };
  const node = (kind, name, t, px, py, extra = {}) => layout.nodes.push({
    key: nodeKey(kind, name, t), kind, row: 0, node: name, name, t, x: px, y: py,
    stem: kind === 'h' ? 'h' : kind, shape: kind === 'x' || kind === 'loss' ? 'rect' : 'circle', label: '', ...extra,
  });
  const edge = (kind, from, to, d, extra = {}) => layout.edges.push({ kind, cls: `edge tree-edge kind-${kind}`, d, from, to, ...extra });
  const label = (px, py, text) => layout.labels.push({ x: px, y: py, text, cls: 'edge-label' });
  // presenter mode's compact tree (issue 20): the shared U, W, V are named once (at the root, the first leaf)
  for (let k = 0; k < N; k += 1) {
    node('h', TREE_NODE, k, x[k], y(k), { depth: tree.depth[k] });
    const kids = tree.children[k];
    if (kids) {
      kids.forEach((c, side) => {
        edge(side ? 'right' : 'left', nodeKey('h', TREE_NODE, c), nodeKey('h', TREE_NODE, k),
          `M${x[c]},${y(c) - R} L${x[k] + (side ? 0.5 : -0.5) * R},${y(k) + R * 0.9}`,
          { carries: { node: TREE_NODE, t: k }, title: `${side ? 'W' : 'U'}: h(${c}) is the ${side ? 'right' : 'left'} child of h(${k})` });
        if (!G.compact || tree.depth[k] < 1) label((x[c] + x[k]) / 2 + (side ? 10 : -10), (y(c) + y(k)) / 2, side ? 'W' : 'U');
      });
    } else {
      const i = tree.leaves.indexOf(k);
      const word = tree.words?.[i] ?? meta.input_labels?.[i] ?? '';
      node('x', 'x', k, x[k], wordsY, { label: word });
      edge('input', nodeKey('x', 'x', k), nodeKey('h', TREE_NODE, k), `M${x[k]},${wordsY - R * 0.8} L${x[k]},${y(k) + R + 2}`);
      if (!G.compact || i === 0) label(x[k] + 10, (wordsY + y(k)) / 2, 'V');
    }
  }
  const yOut = G.marginTop + 1.5 * levelHeight;
  const yLoss = G.marginTop + 0.5 * levelHeight;
  node('out', 'logits', root, x[root], yOut);
  node('loss', 'loss', root, x[root], yLoss, { label: meta.target_labels?.[meta.target_labels.length - 1] ?? '' });
  edge('output', nodeKey('h', TREE_NODE, root), nodeKey('out', 'logits', root), `M${x[root]},${y(root) - R} L${x[root]},${yOut + R + 2}`);
  label(x[root] + 11, (y(root) + yOut) / 2, 'V\u2092');
  edge('loss', nodeKey('out', 'logits', root), nodeKey('loss', 'loss', root), `M${x[root]},${yOut - R} L${x[root]},${yLoss + R * 0.8 + 2}`);
  return layout;
}
