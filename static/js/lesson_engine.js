// A lesson's scenes as pure data operations (no DOM): which scene a permalink opens, moving between
// scenes, and where on the page each highlight of a scene is (CSS selectors, plus the text of an
// equation term). lesson_view.js draws and plays them.
//
// A lesson file (static/lessons/<name>.json, checked by server/export_lessons.py):
//   {"name", "title", "lecture", "order", "scenes": [{
//      "title", "text": [paragraph…]            paragraphs with {placeholders} (lesson_text.js)
//      "config": {...}                          the run (a partial config: a preset plus overrides)
//      "step": "end" | "start" | seq | {phase, node, t} | {phase, edge}    the event shown
//      "select": {node, t, kind}                open the inspector on a node (optional)
//      "highlight": [{node, t} | {edge, t} | {plot} | {panel} | {equation}]   marked on the page
//   }]}

/** The 0-based scene a permalink's `scene` (1-based) opens, clamped to the lesson. */
export function sceneIndex(sceneParam, count) {
  const n = Number.isInteger(sceneParam) ? sceneParam : 1;
  return Math.min(Math.max(n, 1), Math.max(count, 1)) - 1;
}

/** The scene index after a move of `delta` scenes (stays inside the lesson). */
export function moveScene(index, delta, count) {
  return Math.min(Math.max(index + delta, 0), count - 1);
}

/** "Scene k / n". */
export function counterText(index, count) {
  return `Scene ${index + 1} / ${count}`;
}

const cssString = (v) => `"${String(v).replace(/["\\]/g, '\\$&')}"`;

/**
 * Where a highlight is on the page: {selector, text, card}. `selector` finds its elements, `text`
 * (equation terms only) keeps the lines containing it, `card` marks the enclosing card rather than
 * the element itself (plots and panels).
 */
export function highlightTarget(mark) {
  if (mark.node !== undefined) {
    const t = mark.t !== undefined ? `[data-t=${cssString(mark.t)}]` : '';
    return { selector: `#graph g[data-node=${cssString(mark.node)}]${t}`, text: null, card: false };
  }
  if (mark.edge !== undefined) {
    const t = mark.t !== undefined ? `[data-from-t=${cssString(mark.t)}]` : '';
    return { selector: `#graph path[data-edge=${cssString(mark.edge)}]${t}`, text: null, card: false };
  }
  if (mark.plot !== undefined) return { selector: `[data-testid=${cssString(mark.plot)}]`, text: null, card: true };
  if (mark.panel !== undefined) return { selector: `#${mark.panel}`, text: null, card: true };
  if (mark.equation !== undefined) return { selector: '#equation .eq-line', text: mark.equation, card: false };
  throw new Error(`a highlight names node, edge, plot, panel or equation: ${JSON.stringify(mark)}`);
}

/** A short human name of a highlight (for the list of those not found). */
export function highlightName(mark) {
  return Object.entries(mark).map(([k, v]) => `${k} ${v}`).join(', ');
}
