// One declarative table of parameters drives the permalink: the URL holds the whole config
// (so every student who opens it gets the same trace) plus a few view settings.

/** The trace config fields (DESIGN.md §3 "The config"), in the order they appear in the URL. */
export const CONFIG_PARAMS = [
  { key: 'preset', type: 'string' },
  { key: 'cell', type: 'string' },
  { key: 'num_layers', type: 'int' },
  { key: 'bidirectional', type: 'bool' },
  { key: 'hidden_size', type: 'int' },
  { key: 'seq_len', type: 'int' },
  { key: 'recurrent_scale', type: 'float' },
  { key: 'task', type: 'string' },
  { key: 'seed', type: 'int' },
  { key: 'batch_size', type: 'int' },
  { key: 'batch_index', type: 'int' },
  { key: 'forget_bias', type: 'float' },
  { key: 'dtype', type: 'string' },
  { key: 'text', type: 'string' },
  { key: 'epochs', type: 'int' },
  { key: 'optimizer', type: 'string' },
  { key: 'lr', type: 'float' },
  { key: 'clip', type: 'float' },
  { key: 'tbptt', type: 'int' },
  { key: 'unroll', type: 'string' },
  { key: 'recurrent_gradient', type: 'bool' },
];
// `loss` is left out on purpose: it follows from the task (the server derives it).

/** View settings: not part of the trace, but part of what a permalink reproduces. */
export const VIEW_PARAMS = [
  { key: 'present', type: 'bool', fallback: false },
  { key: 'theme', type: 'string', fallback: 'light' },
  { key: 'delay', type: 'int', fallback: null },
  { key: 'break_nan', type: 'bool', fallback: false },
  { key: 'break_below', type: 'float', fallback: null },
  { key: 'break_above', type: 'float', fallback: null },
];

const CONFIG_KEYS = new Set(CONFIG_PARAMS.map((p) => p.key));

function parseValue(type, text) {
  if (type === 'bool') return text === '1' || text === 'true';
  if (type === 'int') {
    const n = Number.parseInt(text, 10);
    return Number.isFinite(n) ? n : undefined;
  }
  if (type === 'float') {
    const n = Number.parseFloat(text);
    return Number.isFinite(n) ? n : undefined;
  }
  return text;
}

function formatValue(type, value) {
  if (type === 'bool') return value ? '1' : '0';
  return String(value);
}

/** Read the config and the view settings from a query string ("?cell=lstm&seq_len=20"). */
export function readUrl(search) {
  const query = new URLSearchParams(search);
  const config = {};
  for (const p of CONFIG_PARAMS) {
    if (!query.has(p.key)) continue;
    const value = parseValue(p.type, query.get(p.key));
    if (value !== undefined && value !== '') config[p.key] = value;
  }
  const view = {};
  for (const p of VIEW_PARAMS) {
    view[p.key] = query.has(p.key) ? parseValue(p.type, query.get(p.key)) ?? p.fallback : p.fallback;
  }
  return { config, view, explicit: Object.keys(config).length > 0 };
}

/** The query string ("?...") that reproduces this config and view. */
export function toQuery(config, view) {
  const query = new URLSearchParams();
  for (const p of CONFIG_PARAMS) {
    const value = config[p.key];
    if (value !== undefined && value !== null && value !== '') query.set(p.key, formatValue(p.type, value));
  }
  for (const p of VIEW_PARAMS) {
    const value = view[p.key];
    if (value !== undefined && value !== null && value !== p.fallback) query.set(p.key, formatValue(p.type, value));
  }
  return `?${query.toString()}`;
}

/** Replace the address bar's query so it is the permalink of what is on screen. */
export function writeUrl(config, view) {
  const url = `${window.location.pathname}${toQuery(config, view)}`;
  window.history.replaceState(null, '', url);
  return `${window.location.origin}${url}`;
}

/** Keep only the fields the permalink knows from a resolved config sent by the server. */
export function pickConfig(resolved) {
  const out = {};
  for (const [key, value] of Object.entries(resolved ?? {})) {
    if (CONFIG_KEYS.has(key) && value !== null && value !== undefined) out[key] = value;
  }
  return out;
}
