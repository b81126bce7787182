// A tiny DOM builder shared by the page's modules: text is always set as text nodes, never parsed as HTML.

/** Build an element with attributes and children (strings become text nodes; null/false are skipped). */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    node.setAttribute(k, v === true ? '' : v);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** An <option> of a <select>: its value and its visible text. */
export function option(value, text) {
  return el('option', { value }, [text]);
}

/**
 * Keep an input's value in state[key], parsed (read at start and on each input/change event): the
 * page decides from that state and never reads the input back later.
 */
export function bindValue(input, state, key, parse = (text) => text) {
  const read = () => { state[key] = parse(input.value); };
  input.addEventListener('input', read);
  input.addEventListener('change', read);
  read();
}
