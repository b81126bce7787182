// The compact event encoding the page asks the server for (issue 17; docs/DESIGN.md, "Socket
// protocol"): with "enc": "f32", each value is base64 of little-endian float32 bytes instead of a
// JSON list; formatting every number as JSON text was most of the stream's server time. Full
// precision stays in /api/trace and the exports.

/** The numbers of one base64 float32 value as a plain array (NaN and ±Infinity included). */
export function decodeF32(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const out = new Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i += 1) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** An event message's values as arrays of numbers, whichever encoding it came in (`decodeList` for plain lists). */
export function eventValues(msg, decodeList) {
  const values = {};
  const f32 = msg.enc === 'f32';
  for (const [name, v] of Object.entries(msg.values ?? {})) values[name] = f32 ? decodeF32(v) : decodeList(v);
  return values;
}
