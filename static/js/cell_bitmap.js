// A grid of coloured cells as one bitmap (the overview strip: one pixel per timestep and row),
// shown through an SVG <image>: recolouring a T = 1000 strip is then one image update per frame
// instead of a thousand SVG attribute changes, each invalidating the style of the page.
//
//   const bitmap = new CellBitmap(T, rows);
//   bitmap.set(t, row, 'rgb(12,34,56)');   // any CSS colour
//   const url = bitmap.url();              // a PNG data URL when something changed, else null

const parsed = new Map();   // CSS colour text → [r, g, b, a]
let probe = null;           // a 1×1 canvas context that normalises any CSS colour

/** [r, g, b, a] (0–255) of a CSS colour: rgb()/rgba() and #hex directly, anything else through a canvas. */
export function parseColor(text) {
  const known = parsed.get(text);
  if (known) return known;
  let rgba = null;
  const m = /^rgba?\(\s*(\d+)[,\s]+(\d+)[,\s]+(\d+)(?:[,\s/]+([\d.]+))?\s*\)$/.exec(text);
  if (m) rgba = [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 255 : Math.round(Number(m[4]) * 255)];
  else if (/^#[0-9a-f]{6}$/i.test(text)) {
    const n = Number.parseInt(text.slice(1), 16);
    rgba = [(n >> 16) & 255, (n >> 8) & 255, n & 255, 255];
  } else if (/^#[0-9a-f]{3}$/i.test(text)) {
    rgba = [...text.slice(1)].map((c) => Number.parseInt(c + c, 16)).concat(255);
  } else if (typeof document !== 'undefined') {
    probe ??= document.createElement('canvas').getContext('2d');
    probe.fillStyle = '#000';
    probe.fillStyle = text;
    const normal = String(probe.fillStyle);
    rgba = normal === text ? [0, 0, 0, 0] : parseColor(normal);
  } else {
    rgba = [0, 0, 0, 0];
  }
  if (parsed.size > 4096) parsed.clear();
  parsed.set(text, rgba);
  return rgba;
}

/** The value of CSS custom property `name` on `el` (e.g. the theme's pending colour), cached per theme. */
const themed = new Map();
export function cssColor(el, name) {
  const theme = `${document.body?.dataset.theme ?? ''}|${name}`;
  if (!themed.has(theme)) themed.set(theme, getComputedStyle(el).getPropertyValue(name).trim() || 'transparent');
  return themed.get(theme);
}

/** A width × height grid of RGBA cells with a data URL of its picture. */
export class CellBitmap {
  constructor(width, height) {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.pixels = new Uint8ClampedArray(this.width * this.height * 4);
    this.dirty = true;
    this.canvas = null;
  }

  /** Colour cell (x, y) with CSS colour `color`. */
  set(x, y, color) {
    const [r, g, b, a] = parseColor(color);
    const i = (y * this.width + x) * 4;
    const p = this.pixels;
    if (p[i] === r && p[i + 1] === g && p[i + 2] === b && p[i + 3] === a) return;
    p[i] = r; p[i + 1] = g; p[i + 2] = b; p[i + 3] = a;
    this.dirty = true;
  }

  /** [r, g, b, a] of cell (x, y). */
  get(x, y) {
    const i = (y * this.width + x) * 4;
    return [...this.pixels.subarray(i, i + 4)];
  }

  /** A PNG data URL of the grid when it changed since the last call, else null. */
  url() {
    if (!this.dirty) return null;
    this.dirty = false;
    if (!this.canvas) {
      this.canvas = document.createElement('canvas');
      this.canvas.width = this.width;
      this.canvas.height = this.height;
    }
    this.canvas.getContext('2d').putImageData(new ImageData(this.pixels, this.width, this.height), 0, 0);
    return this.canvas.toDataURL();
  }
}
