// No overlapping text on the graph in presenter mode (issue 20): a pass after each render that hides
// (data-overlap, display: none) any graph text whose box overlaps a text of higher rank already kept
// — node text first, then the ‖∂L/∂h‖ labels, initial-state labels, the time axis, the edge labels.
// It reruns only when the drawing, the window or a label's text changed; outside presenter mode it
// shows everything again.

/** Text classes in the order they are kept (earlier wins). */
export const RANKS = ['row-label', 'segment-label', 'node-text', 'norm-label', 'context-label', 'feedback-label', 'initial-label', 'axis-label', 'edge-label'];

let lastKey = '';

/** The rank of a <text> (its first class found in RANKS; unknown classes last). */
export function rankOf(classes) {
  const i = RANKS.findIndex((c) => classes.includes(c));
  return i < 0 ? RANKS.length : i;
}

/** Whether two boxes {left, right, top, bottom} overlap by more than `slack` px each way. */
export function overlaps(a, b, slack = 0.5) {
  return a.left < b.right - slack && b.left < a.right - slack && a.top < b.bottom - slack && b.top < a.bottom - slack;
}

/** Given boxes [{rank, box}], the indices to hide: greedy in rank order, then left to right. */
export function toHide(items) {
  const order = items.map((item, i) => i).sort((i, j) => items[i].rank - items[j].rank || items[i].box.left - items[j].box.left);
  const kept = [];
  const hide = [];
  for (const i of order) {
    if (kept.some((k) => overlaps(items[k].box, items[i].box))) hide.push(i);
    else kept.push(i);
  }
  return hide;
}

/** Hide the overlapping texts of `svg` (present), or show them all (not present). */
export function hideOverlaps(svg, present) {
  if (!present) {
    if (lastKey === 'off') return;
    lastKey = 'off';
    for (const t of svg.querySelectorAll('text[data-overlap]')) t.removeAttribute('data-overlap');
    return;
  }
  const texts = [...svg.querySelectorAll('text')];
  const key = `${svg.getAttribute('viewBox')}|${texts.length}|${texts.map((t) => t.textContent).join('\u0001')}`;
  if (key === lastKey) return;
  lastKey = key;
  for (const t of texts) t.removeAttribute('data-overlap');
  const items = [];
  const els = [];
  for (const t of texts) {
    if (!t.textContent.trim() || t.style.visibility === 'hidden' || t.closest('[style*="visibility: hidden"]')) continue;
    const r = t.getBoundingClientRect();
    if (!r.width || !r.height) continue;   // not displayed
    items.push({ rank: rankOf(t.getAttribute('class') ?? ''), box: r });
    els.push(t);
  }
  for (const i of toHide(items)) els[i].setAttribute('data-overlap', '1');
}
