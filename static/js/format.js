// Numbers on the wire may be the strings "NaN", "Infinity", "-Infinity": turn them into JS numbers
// and format every number the same way everywhere on the page.

/** A wire number (number or "NaN"/"Infinity"/"-Infinity" string) as a JS number. */
export function num(value) {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (value === null || value === undefined) return NaN;
  return Number(value);
}

/** A wire array of numbers (possibly nested one level) as JS numbers. */
export function nums(values) {
  if (!Array.isArray(values)) return [];
  return values.map((v) => (Array.isArray(v) ? v.map(num) : num(v)));
}

/** A number for plotly: non-finite values become null (a gap), as plotly cannot draw them. */
export function plottable(value) {
  return Number.isFinite(value) ? value : null;
}

/** Short, legible text for a number: 4 significant digits, exponent for tiny/huge magnitudes. */
export function fmt(value, digits = 3) {
  if (value === undefined || value === null) return '–';
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '∞';
  if (value === -Infinity) return '−∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e4 || abs < 1e-3) {
    const [mant, exp] = value.toExponential(Math.max(0, digits - 1)).split('e');
    return `${mant.replace('-', '−')}·10${superscript(Number(exp))}`;
  }
  return Number(value.toPrecision(digits)).toString().replace('-', '−');
}

const SUPERSCRIPTS = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/** An integer written in superscript digits (for 10⁻⁴ style exponents). */
export function superscript(n) {
  return String(n).split('').map((ch) => SUPERSCRIPTS[ch] ?? ch).join('');
}

const SUBSCRIPTS = { '-': '₋', '−': '₋', '+': '₊', 0: '₀', 1: '₁', 2: '₂', 3: '₃', 4: '₄', 5: '₅', 6: '₆', 7: '₇', 8: '₈', 9: '₉' };

/** An integer written in subscript digits (h₁₂). */
export function subscript(n) {
  return String(n).split('').map((ch) => SUBSCRIPTS[ch] ?? ch).join('');
}

/** A vector as "[a, b, c]" with fmt'ed entries. */
export function fmtVector(values, digits = 3) {
  return `[${values.map((v) => fmt(v, digits)).join(', ')}]`;
}
