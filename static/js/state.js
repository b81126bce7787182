// The permalink: the URL holds the whole config (so every student who opens it gets the same trace)
// plus a few view settings. The config's parameters come from the config table (page_data.config_fields,
// read by config_fields.js); only the view settings are listed here.

import { settableFields, parseValue, formatValue } from './config_fields.js';

/** View settings: not part of the trace, but part of what a permalink reproduces. */
const VIEW_PARAMS = [
  { key: 'present', type: 'bool', fallback: false },
  { key: 'theme', type: 'string', fallback: 'light' },
  { key: 'delay', type: 'int', fallback: null },
  { key: 'break_nan', type: 'bool', fallback: false },
  { key: 'break_below', type: 'float', fallback: null },
  { key: 'break_above', type: 'float', fallback: null },
  { key: 'lesson', type: 'string', fallback: null },   // a guided lesson and its scene (1-based): lesson_view.js
  { key: 'scene', type: 'int', fallback: null },
];

/**
 * Read the config and the view settings from a query string ("?cell=lstm&seq_len=20"), given the
 * config table. Unknown parameters and values that are not of their field's type are ignored.
 */
export function readUrl(search, fields) {
  const query = new URLSearchParams(search);
  const config = {};
  for (const f of settableFields(fields)) {
    if (!query.has(f.name)) continue;
    const value = parseValue(f.type, query.get(f.name));
    if (value !== undefined && value !== '') config[f.name] = value;
  }
  const view = {};
  for (const p of VIEW_PARAMS) {
    view[p.key] = query.has(p.key) ? parseValue(p.type, query.get(p.key)) ?? p.fallback : p.fallback;
  }
  return { config, view };
}

/** The query string ("?...") that reproduces this config and view (fields in the table's order). */
export function toQuery(config, view, fields) {
  const query = new URLSearchParams();
  for (const f of settableFields(fields)) {
    const value = config[f.name];
    if (value !== undefined && value !== null && value !== '') query.set(f.name, formatValue(f.type, value));
  }
  for (const p of VIEW_PARAMS) {
    const value = view[p.key];
    if (value !== undefined && value !== null && value !== p.fallback) query.set(p.key, formatValue(p.type, value));
  }
  return `?${query.toString()}`;
}

/** Replace the address bar's query so it is the permalink of what is on screen; returns the full URL. */
export function writeUrl(config, view, fields) {
  const url = `${window.location.pathname}${toQuery(config, view, fields)}`;
  try {
    // the same address is not written again: a replaceState is a round trip to the browser process
    if (url !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, '', url);
  } catch (_) {
    // a page with no address of its own (an exported page in a notebook's <iframe srcdoc>) keeps none
  }
  return `${window.location.origin}${url}`;
}

/** Keep only the fields a client config holds (not derived, not null) of a config resolved by the server. */
export function pickConfig(resolved, fields) {
  const keys = new Set(settableFields(fields).map((f) => f.name));
  const out = {};
  for (const [key, value] of Object.entries(resolved ?? {})) {
    if (keys.has(key) && value !== null && value !== undefined) out[key] = value;
  }
  return out;
}
