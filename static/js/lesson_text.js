// A lesson's text with its numbers filled from the trace (pure: no DOM). A placeholder is
// {expression} or {expression:digits}; an expression reads the scope (lesson_scope.js) with paths
// (bwd.h_l0[3].dh[0], summary.vanishing.h_l0.factor, dL_dh[0], summary.grad_norms['head.weight']),
// numbers, quoted keys, + − * / ^, parentheses,
// negative indices (x[-1] is the last) and a few functions (abs, sqrt, exp, log, min, max, norm,
// sum, len). A text therefore never holds a typed number that could disagree with its own trace.

import { fmt, fmtVector } from './format.js';

const PLACEHOLDER = /\{([^{}]+)\}/g;
const FUNCTIONS = {
  abs: Math.abs, sqrt: Math.sqrt, exp: Math.exp, log: Math.log, log10: Math.log10,
  min: (...a) => Math.min(...a.flat()), max: (...a) => Math.max(...a.flat()),
  norm: (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)),
  sum: (v) => v.reduce((s, x) => s + x, 0),
  len: (v) => v.length,
};

/** The tokens of an expression: numbers, names, and the one-character operators. */
export function tokenize(source) {
  const tokens = [];
  const re = /\s*(?:(\d+\.?\d*(?:e[+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|([-+*/^()[\].,])|'([^']*)')/gy;
  let m;
  let at = 0;
  while (at < source.length && (m = re.exec(source))) {
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: 'name', value: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: 'op', value: m[3] });
    else tokens.push({ kind: 'str', value: m[4] });
    at = re.lastIndex;
  }
  if (source.slice(at).trim() !== '') throw new Error(`cannot read “${source.slice(at).trim()}”`);
  return tokens;
}

/** Parse an expression into a tree ({num}, {path: [name, key…]}, {call, args}, {op, a, b}, {neg}). */
export function parse(source) {
  const tokens = tokenize(source);
  let i = 0;
  const peek = () => tokens[i];
  const isOp = (v) => peek()?.kind === 'op' && peek().value === v;
  const expect = (v) => { if (!isOp(v)) throw new Error(`expected “${v}” in “${source}”`); i += 1; };
  function expr() {
    let a = term();
    while (isOp('+') || isOp('-')) { const op = tokens[i++].value; a = { op, a, b: term() }; }
    return a;
  }
  function term() {
    let a = unary();
    while (isOp('*') || isOp('/')) { const op = tokens[i++].value; a = { op, a, b: unary() }; }
    return a;
  }
  function unary() {
    if (isOp('-')) { i += 1; return { neg: unary() }; }
    const base = postfix();
    if (isOp('^')) { i += 1; return { op: '^', a: base, b: unary() }; }
    return base;
  }
  function postfix() {
    let node = primary();
    for (;;) {
      if (isOp('.')) {
        i += 1;
        const name = tokens[i++];
        if (name?.kind !== 'name' && name?.kind !== 'num') throw new Error(`a name must follow “.” in “${source}”`);
        node = { index: node, key: { num: String(name.value) } };
      } else if (isOp('[')) {
        i += 1;
        node = { index: node, key: expr() };
        expect(']');
      } else return node;
    }
  }
  function primary() {
    const tok = tokens[i++];
    if (!tok) throw new Error(`“${source}” ends too soon`);
    if (tok.kind === 'num' || tok.kind === 'str') return { num: tok.value };
    if (tok.kind === 'name') {
      if (!isOp('(')) return { name: tok.value };
      i += 1;
      const args = [];
      if (!isOp(')')) { args.push(expr()); while (isOp(',')) { i += 1; args.push(expr()); } }
      expect(')');
      if (!(tok.value in FUNCTIONS)) throw new Error(`unknown function ${tok.value}()`);
      return { call: tok.value, args };
    }
    if (tok.value === '(') { const inner = expr(); expect(')'); return inner; }
    throw new Error(`unexpected “${tok.value}” in “${source}”`);
  }
  const tree = expr();
  if (i < tokens.length) throw new Error(`unexpected “${tokens[i].value}” in “${source}”`);
  return tree;
}

function member(value, key, what) {
  if (value === null || value === undefined) throw new Error(`${what} does not exist`);
  if (Array.isArray(value) && typeof key === 'number') {
    const item = value[key < 0 ? value.length + key : key];
    if (item === undefined) throw new Error(`${what}[${key}] is out of range`);
    return item;
  }
  const item = value[key];
  if (item === undefined) throw new Error(`${what} has no “${key}”`);
  return item;
}

function arithmetic(op, a, b) {
  if (op === '+') return a + b;
  if (op === '-') return a - b;
  if (op === '*') return a * b;
  if (op === '/') return a / b;
  return a ** b;
}

/** Evaluate a parsed expression in `scope`; throws an Error saying what is missing. */
export function evaluate(tree, scope, what = '') {
  if ('num' in tree) return tree.num;
  if ('name' in tree) return member(scope, tree.name, 'the trace');
  if ('neg' in tree) return -evaluate(tree.neg, scope);
  if ('call' in tree) return FUNCTIONS[tree.call](...tree.args.map((a) => evaluate(a, scope)));
  if ('index' in tree) {
    const base = evaluate(tree.index, scope, what);
    const key = evaluate(tree.key, scope);
    return member(base, key, describe(tree.index));
  }
  return arithmetic(tree.op, Number(evaluate(tree.a, scope)), Number(evaluate(tree.b, scope)));
}

function describe(tree) {
  if ('name' in tree) return tree.name;
  if ('index' in tree) return `${describe(tree.index)}[${'num' in tree.key ? tree.key.num : '…'}]`;
  return 'a value';
}

/** A value as lesson text: a number with `digits` significant digits, a vector as [a, b, …]. */
export function formatValue(value, digits = 3) {
  if (typeof value === 'number') return fmt(value, digits);
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return fmtVector(value, digits);
  if (typeof value === 'string') return value;
  throw new Error('not a number');
}

/** The expressions of a text's placeholders, with their digits: [{source, expr, digits}]. */
export function placeholders(text) {
  return [...text.matchAll(PLACEHOLDER)].map(([, inner]) => {
    const m = /^(.*?)(?::(\d+))?$/s.exec(inner);
    return { source: inner, expr: m[1].trim(), digits: m[2] ? Number(m[2]) : 3 };
  });
}

/**
 * Fill every placeholder of `text` from `scope`. Returns {text, values, problems}: `values` the raw
 * numbers filled in (for checks: finite, or an explicit NaN/±∞), `problems` one line per placeholder
 * that could not be filled (its place shows ⟨?⟩).
 */
export function fillText(text, scope) {
  const values = [];
  const problems = [];
  const out = text.replace(PLACEHOLDER, (whole, inner) => {
    const [{ expr, digits }] = placeholders(whole);
    try {
      const value = evaluate(parse(expr), scope);
      const shown = formatValue(value, digits);
      values.push(value);
      return shown;
    } catch (err) {
      problems.push(`{${inner}}: ${err.message}`);
      return '⟨?⟩';
    }
  });
  return { text: out, values, problems };
}
