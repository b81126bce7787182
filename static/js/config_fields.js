// The config's one table, as the server reads it off TraceConfig's schema and puts it in the page data
// (page_data.config_fields; see docs/DESIGN.md, "Config and page data"): one entry per field,
// {name, type: "int"|"float"|"bool"|"string", choices, default, minimum, maximum, exclusive_minimum,
// max_length, nullable, group: "trace"|"training", derived, description}, in the schema's order.
// Everything the page lists about the config (permalink parameters, form inputs and their bounds,
// which fields are training fields) is computed here from that list; nothing re-lists fields by hand.

/** The fields a permalink and a client config hold: every field the server does not derive. */
export function settableFields(fields) {
  return fields.filter((f) => !f.derived);
}

/** The names of one group's fields ("trace" or "training"). */
export function fieldNames(fields, group) {
  return fields.filter((f) => f.group === group && !f.derived).map((f) => f.name);
}

/** The field called `name`, or undefined. */
export function fieldNamed(fields, name) {
  return fields.find((f) => f.name === name);
}

/** A URL/input text as a value of `type` (undefined when it is not one: a bad number is ignored). */
export function parseValue(type, text) {
  if (type === 'bool') return text === '1' || text === 'true';
  if (type === 'int') {
    const n = Number(text.trim());
    return text.trim() !== '' && Number.isInteger(n) ? n : undefined;
  }
  if (type === 'float') {
    const n = Number(text.trim());
    return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  return text;
}

/** A value of `type` as URL text (booleans as 1/0). */
export function formatValue(type, value) {
  if (type === 'bool') return value ? '1' : '0';
  return String(value);
}

/**
 * The attributes of a field's number or range input: {min, max, step}, from the schema's bounds
 * narrowed by the server's limits ({name: [lo, hi]}, page_data.limits). A bound that is not known is
 * left out; an exclusive minimum becomes the input's min (the server still refuses the bound itself).
 */
export function inputBounds(field, limits = {}) {
  const [lo, hi] = limits[field.name] ?? [null, null];
  const min = [field.minimum, field.exclusive_minimum, lo].filter((v) => v !== null && v !== undefined);
  const max = [field.maximum, hi].filter((v) => v !== null && v !== undefined);
  const out = { step: field.type === 'int' ? '1' : 'any' };
  if (min.length) out.min = String(Math.max(...min));
  if (max.length) out.max = String(Math.min(...max));
  return out;
}
