// No half nodes at the graph's edges (issue 20): a node or a label that the visible box of the graph
// would cut is hidden whole (the overview strip shows where the window is), so no "·7" or "t=2(" is
// ever projected. A pass after each render; it reruns only when the window or the drawing changed.

let lastKey = '';

/** Whether a box [left, right] lies partly (not wholly) inside [lo, hi]. */
export function isCut(left, right, lo, hi) {
  const inside = left >= lo - 0.5 && right <= hi + 0.5;
  const outside = right <= lo || left >= hi;
  return !inside && !outside;
}

/** Hide the nodes and texts of `svg` that its viewport's left or right edge cuts; show the others. */
export function hideCutAtEdges(svg) {
  const viewport = svg.parentElement;
  const items = svg.querySelectorAll('g.node, text:not(.row-label)');
  // issue 17: no clientWidth in the key (a forced layout every frame); the viewBox already holds the view's width
  const key = `${svg.getAttribute('viewBox')}|${items.length}`;
  if (key === lastKey) return;
  lastKey = key;
  const box = viewport.getBoundingClientRect();
  for (const item of items) item.style.visibility = '';
  for (const item of items) {
    if (item.closest('g.node') && item.tagName === 'text') continue;   // a node's text goes with its node
    const r = item.getBoundingClientRect();
    if (r.width && isCut(r.left, r.right, box.left, box.right)) item.style.visibility = 'hidden';
  }
}
