// plotly.js (4.8 MB, served locally from /vendor, never a CDN) is loaded after the page is usable:
// parsing it in <head> held the preset picker and the first event back by a second or more. The
// page names the script in <meta name="plotly-src">; an exported single-file page carries plotly
// inline instead (server/export_page.py), so there it is present before any module runs.
//
//   plotlyLoaded()            // true once window.Plotly exists
//   loadPlotly()              // a promise of Plotly; injects the <script> once (idempotent)
//   whenPlotly(fn)            // fn(Plotly) now when loaded, else once it has loaded
//   whenPlotlyLatest(div, fn) // the same, but of the calls for one div before the load only the last runs

let loading = null;

/** Whether plotly.js has been evaluated (window.Plotly exists). */
export function plotlyLoaded() {
  return typeof globalThis.Plotly !== 'undefined';
}

/** Where the page says plotly.js is (its <meta name="plotly-src">), or null. */
export function plotlySrc(doc = globalThis.document) {
  return doc?.querySelector?.('meta[name="plotly-src"]')?.getAttribute('content') ?? null;
}

/** Load plotly.js once (a <script> appended to <head>); resolves with window.Plotly. */
export function loadPlotly(doc = globalThis.document) {
  if (plotlyLoaded()) return Promise.resolve(globalThis.Plotly);
  if (loading) return loading;
  const src = plotlySrc(doc);
  if (!src) return Promise.reject(new Error('plotly.js: the page names no <meta name="plotly-src">'));
  loading = new Promise((resolve, reject) => {
    const script = doc.createElement('script');
    script.src = src;
    script.async = true;
    script.addEventListener('load', () => resolve(globalThis.Plotly));
    script.addEventListener('error', () => { loading = null; reject(new Error(`plotly.js could not be loaded from ${src}`)); });
    doc.head.appendChild(script);
  });
  return loading;
}

/** Call fn(Plotly) at once when plotly is loaded, else after loading it; returns fn's result or its promise. */
export function whenPlotly(fn) {
  if (plotlyLoaded()) return fn(globalThis.Plotly);
  return loadPlotly().then(fn);
}

const latest = new WeakMap();   // div → the last drawing asked for it while plotly was loading

/** fn(Plotly) at once when plotly is loaded; else only the last fn asked for `key` (a plot <div>) runs
 * once it has loaded: a run that streams while plotly is parsed asks for hundreds of redraws, of
 * which only the last one matters. */
export function whenPlotlyLatest(key, fn, doc = globalThis.document) {
  if (plotlyLoaded()) return fn(globalThis.Plotly);
  const queued = latest.has(key);
  latest.set(key, fn);
  if (queued) return undefined;
  return loadPlotly(doc).then((Plotly) => {
    const last = latest.get(key);
    latest.delete(key);
    return last(Plotly);
  }, (err) => {
    latest.delete(key);   // the next drawing asks again (loadPlotly retries a failed load)
    throw err;
  });
}

/** Load plotly after the next frame has been painted (the page is usable first); resolves with Plotly. */
export function loadPlotlyAfterPaint(delayMs = 0) {
  if (plotlyLoaded()) return Promise.resolve(globalThis.Plotly);
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, delayMs));   // the frame is on screen before the timer runs
  }).then(() => loadPlotly());
}
