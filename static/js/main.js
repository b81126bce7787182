// Glue: the run's state (cursor, playing, stream status), and what happens on each message and action.

import { TIMING } from './theme/config.js';
import { fmt } from './format.js';
import { readUrl, writeUrl, pickConfig } from './state.js';
import { TraceSocket } from './socket.js';
import { EventStore } from './store.js';
import { UnrolledGraph, patternOf } from './graph.js';
import { describeEvent, renderEquation } from './equations.js';
import { renderInspector } from './inspector.js';
import { renderLegend } from './legend.js';
import { mountDiagnosisPanel, drawHealthFlags } from './findings.js';
import { mountModelUpload } from './models.js';
import { mountComparePanel } from './compare.js';
import * as charts from './charts.js';
import { PlotPanel, setupPlotSelectors } from './plots.js';
import { mountTrainingPanel } from './training.js';
import { TeacherCompare } from './teacher.js';
import { setupForm, writeForm, installForm, markFieldError } from './form.js';
import { installControls, updateControls, writeBreakpoints, writeDelay } from './controls.js';
import { breaksOfView, firedUpTo, judgeEvent } from './breakpoints.js';

const $ = (id) => document.getElementById(id);
const pageData = JSON.parse($('page-data').textContent);
const presetsByName = Object.fromEntries(pageData.presets.map((p) => [p.name, p]));
const configFields = pageData.config_fields;   // the config table: permalink, form and training fields

const app = {
  config: {},            // the config of the current run (resolved by the server once meta arrives)
  view: {},              // view settings held by the permalink (present, theme, delay, breakpoints)
  store: new EventStore(),
  cursor: -1,            // seq of the event on screen (−1: before the first)
  following: true,       // the cursor moves with each newly received event
  serverPlaying: false,  // the server is streaming
  localTimer: null,      // replaying received events locally
  status: 'idle',        // idle | running | paused | done | error
  paused: null,          // last paused message (breakpoint reason)
  runTo: null,           // pause the server once this seq has arrived (jumps past the received events)
  selection: null,       // inspected node {node, t, kind}
  hover: null,           // node hovered on a plot {node, t}
  plotNode: null,        // h node shown by the flow and hidden-state plots
  hiddenQuantity: 'h',
  source: undefined,     // "trained" (training panel hand-off) or "model" (an upload): Run repeats it
  modelId: null,         // the uploaded model's id while source is "model"
  reuploaded: false,     // one re-upload per run when the socket no longer holds the model
};

const panels = {};       // the debug panels (diagnosis, model upload, compare), mounted at start-up

const socket = new TraceSocket({ onMessage: handleMessage, onClose: handleClose });
const teacher = new TeacherCompare({ card: $('teacher-card'), svg: $('graph-teacher'), overview: $('overview-teacher'), title: $('teacher-title') });
const graph = new UnrolledGraph($('graph'), $('overview'), {
  onSelect: (node, t, kind) => { app.selection = { node, t, kind }; requestRender(); },
  onHover: (node, t) => { app.hover = node === null ? null : { node, t }; requestRender(false); },
  onUserMove: () => requestRender(false),
});

// ---- rendering ----------------------------------------------------------------------------------

let framePending = false;
let plotsDue = false;
let lastPlotDraw = 0;
let plotTimer = null;

/** Redraw on the next animation frame (plots too, throttled, unless withPlots is false). */
function requestRender(withPlots = true) {
  plotsDue = plotsDue || withPlots;
  if (framePending) return;
  framePending = true;
  requestAnimationFrame(() => {
    framePending = false;
    render();
  });
}

function render() {
  const { store, cursor } = app;
  const meta = store.meta;
  graph.render({ store, cursor, hover: app.hover, selected: app.selection, pausedSeq: app.paused?.seq ?? null });
  renderLegend($('legend'), store, cursor);
  renderEquation($('equation'), describeEvent(store.get(cursor), store, meta ?? {}));
  renderInspector($('inspector'), app.selection, { store, cursor, meta });
  updateControls({
    cursor, received: store.count, total: meta ? store.total : 0, playing: isPlaying(),
    canStepForward: Boolean(meta) && (cursor < store.count - 1 || (!store.done && socket.connected)),
  });
  renderStatus();
  $('follow').checked = graph.follow;
  if (plotsDue && meta) {
    const wait = TIMING.plotThrottleMs - (performance.now() - lastPlotDraw);
    if (wait <= 0) drawPlots();
    else if (!plotTimer) plotTimer = setTimeout(() => { plotTimer = null; drawPlots(); }, wait);
  }
}

const plots = new PlotPanel((node, t) => { app.hover = node === null ? null : { node, t }; requestRender(false); });

/** Redraw the plots whose inputs changed (all of them when `force`, e.g. after a theme change). */
function drawPlots(force = false) {
  plotsDue = false;
  lastPlotDraw = performance.now();
  plots.draw({
    store: app.store, cursor: app.cursor, node: app.plotNode,
    flowNode: $('flow-node').value || app.plotNode, quantity: app.hiddenQuantity,
  }, force);
}

/** Set the run status (mirrored at once on <body data-status> so nobody reads a stale one). */
function setStatus(status) {
  app.status = status;
  document.body.dataset.status = status;
}

function isPlaying() {
  return app.serverPlaying || app.localTimer !== null;
}

function renderStatus() {
  const { store, cursor } = app;
  const ev = store.get(cursor);
  const parts = [];
  if (!store.meta) parts.push(app.status === 'error' ? 'error' : 'press Run');
  else {
    parts.push(ev ? `${ev.phase} · event ${cursor + 1} of ${store.total}` : `ready · ${store.total} events`);
    if (store.count < store.total) parts.push(`${store.count} received`);
    if (app.status === 'done') parts.push(`done · L = ${store.summary ? fmt(store.summary.loss, 4) : '…'}`);
  }
  $('status').textContent = parts.join(' · ');
  // hooks for tests and for anyone scripting the page
  document.body.dataset.status = app.status;
  document.body.dataset.cursor = String(cursor);
  document.body.dataset.received = String(store.count);
}

function showBanner(text, kind = 'info') {
  const banner = $('banner');
  if (!text) { banner.hidden = true; return; }
  banner.hidden = false;
  banner.className = `banner ${kind}`;
  banner.textContent = text;
}

// ---- socket messages ------------------------------------------------------------------------------

function handleMessage(msg) {
  if (msg.type === 'meta') onMeta(msg);
  else if (msg.type === 'event') onEvent(msg);
  else if (msg.type === 'summary') onSummary(msg);
  else if (msg.type === 'queued') showBanner(`The server is busy: this run is number ${msg.position} in the queue. ${msg.detail ?? ''}`, 'info');
  else if (msg.type === 'done') {
    app.store.done = true;
    setStatus('done');
    app.serverPlaying = false;
    requestRender();
  } else if (msg.type === 'paused') onPaused(msg);
  else if (msg.type === 'error' && msg.field === 'model_id' && app.source === 'model' && !app.reuploaded) {
    // this server process does not hold the uploaded model (another worker, or trimmed): send it again
    app.reuploaded = true;
    panels.upload?.reupload().then((info) => { if (info) { app.modelId = info.model_id ?? app.modelId; startRun('play'); } });
  } else if (msg.type === 'error') {
    setStatus('error');
    app.serverPlaying = false;
    markFieldError(msg.field);
    showBanner(`Error${msg.field ? ` in ${msg.field}` : ''}: ${msg.detail}`, 'error');
    requestRender();
  }
}

function handleClose() {
  app.serverPlaying = false;
  if (app.status !== 'done' && app.status !== 'error' && app.store.meta) {
    showBanner('The connection to the server closed; press Run to start again.', 'error');
  }
  requestRender();
}

function onMeta(meta) {
  if (!$('banner').classList.contains('error') && !app.source) showBanner(null);   // e.g. a queue notice
  app.store.reset(meta);
  app.cursor = -1;
  app.selection = null;
  app.paused = null;
  markFieldError(null);
  if (meta.config) {
    const trainingKnown = app.config.epochs !== undefined;
    app.config = { ...pickConfig(meta.config, configFields), ...(app.config.preset && !meta.config.preset ? { preset: app.config.preset } : {}) };
    // a bare "?preset=name" permalink learns the preset's training fields only now
    if (!trainingKnown && app.config.epochs !== undefined) app.training?.update?.(app.config);
    writeForm(app.config);
    updateUrl();
  }
  $('run-title').textContent = app.config.preset ? '' : meta.title ?? '';
  $('story-title').textContent = meta.title ?? '';
  $('story').textContent = meta.story ?? storyFallback(meta);
  for (const el of document.querySelectorAll('.eq-cell')) el.hidden = !el.dataset.cell.split(' ').includes(meta.cell);
  document.querySelector('.eq-seq2seq').hidden = !meta.segments;
  panels.diagnosis?.clear();
  document.querySelector('.diagnosis-card').hidden = true;
  app.plotNode = setupPlotSelectors(meta);
  app.hiddenQuantity = 'h';
  showPatternNote(meta);
  explainExports(meta);
  graph.build(meta);   // a new run fits the view and follows the step again
  requestRender();
}

/** A line above the graph naming the usage pattern's special edges (generation, Elman context units,
 * the encoder–decoder's context);
 * a generation run offers the teacher-forced run of the same weights beside it. */
function showPatternNote(meta) {
  const pattern = patternOf(meta);
  const comparable = pattern.feedback && Boolean(meta.config);
  document.querySelector('.teacher-toggle').hidden = !comparable;
  if (comparable && $('teacher-compare').checked) teacher.show({ config: app.config, source: app.source });
  else teacher.hide();
  const notes = [];
  if (pattern.feedback) {
    notes.push(pattern.segments ? "Test-time decoding: the decoder's ŷ(t) is fed back as x(t+1) (dashed arrows)"
      : 'Generation: each ŷ(t) is fed back as x(t+1) (dashed arrows)');
  }
  if (pattern.cut) notes.push('Elman context units: no gradient through W (dashed)');
  if (pattern.segments) notes.push(`Encoder–decoder: the encoder's last state (t=${pattern.segments[0].stop - 1}) is the context that starts the decoder; Uᴱ, Wᴱ are the encoder's weights, Uᴰ, Wᴰ, V the decoder's`);
  $('pattern-note').textContent = notes.join(' · ');
  $('pattern-note').hidden = notes.length === 0;
}

/** An encoder–decoder is two networks and a .npz trace holds one: its .npz export is off, and says why. */
function explainExports(meta) {
  const npz = $('export-npz');
  npz.dataset.title ??= npz.title;
  if (meta.segments) {
    npz.disabled = true;
    npz.title = 'An encoder–decoder is two networks and a .npz trace holds one: use Trace .json';
  } else npz.title = npz.dataset.title;
}

/** The story beside the graph when the server sends none. */
function storyFallback(meta) {
  if (app.source === 'model' || meta.model) return 'Your own model, unrolled on your input: step through it, and read the diagnosis for what its gradients do.';
  if (app.source === 'trained') return 'The network the training panel trained, on the same task.';
  if (meta.config === null) return 'A trace recorded elsewhere, replayed step by step.';
  return presetsByName[app.config.preset]?.story ?? 'A custom config: change any field and the run starts again.';
}

function onSummary(msg) {
  app.store.setSummary(msg);
  panels.diagnosis?.update(msg);
  document.querySelector('.diagnosis-card').hidden = false;
  drawHealthFlags($('overview'), msg.diagnosis);
  requestRender();
}

function onEvent(msg) {
  const ev = app.store.add(msg);
  if (app.following && app.localTimer === null) app.cursor = ev.seq;
  if (app.runTo !== null && ev.seq >= app.runTo) {
    app.runTo = null;
    pauseServer();
  }
  requestRender();
}

function onPaused(msg) {
  app.serverPlaying = false;
  if (msg.reason === 'pause') { requestRender(); return; }
  app.paused = msg;
  setStatus('paused');
  app.runTo = null;
  if (app.store.get(msg.seq)) app.cursor = msg.seq;
  const reasons = { nonfinite: 'a NaN/∞ appeared', grad_below: 'the gradient norm fell below the threshold', grad_above: 'the gradient norm rose above the threshold' };
  showBanner(`Paused at event ${msg.seq + 1}: ${reasons[msg.reason] ?? msg.reason}. ${msg.detail ?? ''}`, 'paused');
  requestRender();
}

// ---- actions --------------------------------------------------------------------------------------

function stopLocal() {
  if (app.localTimer !== null) clearInterval(app.localTimer);
  app.localTimer = null;
}

function pauseServer() {
  if (app.serverPlaying) socket.pause();
  app.serverPlaying = false;
}

function pauseAll() {
  stopLocal();
  pauseServer();
  app.runTo = null;
}

/** Ask the server to stream again from the live edge (after a pause or a breakpoint). */
function resumeServer(delayMs) {
  app.following = true;
  app.serverPlaying = true;
  app.paused = null;
  if (app.status === 'paused') setStatus('running');
  socket.play(delayMs);
}

function startRun(mode) {
  stopLocal();
  app.runTo = null;
  app.paused = null;
  showBanner(null);
  app.following = true;
  setStatus('running');
  app.serverPlaying = mode === 'play';
  const loaded = pageData.view_trace && !app.config.cell && !app.config.preset;
  $('copy-link').disabled = app.source === 'model';   // the URL cannot hold uploaded weights
  // the server recomputes exports from a config (or an uploaded model's id, as JSON); a trained or
  // loaded network has no such handle
  const exportable = !loaded && app.source !== 'trained';
  $('export-json').disabled = !exportable;
  $('export-npz').disabled = !exportable || app.source === 'model';
  socket.start({
    config: app.config, source: app.source ?? (loaded ? 'loaded' : undefined), modelId: app.modelId, mode, delayMs: delay(), breakpoints: breaksOfView(app.view),
  });
  updateUrl();
}

/** Play received events locally from the cursor, then hand over to the server at the live edge. */
function playLocal() {
  const bps = breaksOfView(app.view);
  let fired = firedUpTo(app.store.events, bps, app.cursor);   // the server's rule: once per node per run
  app.localTimer = setInterval(() => {
    if (app.cursor < app.store.count - 1) {
      app.cursor += 1;
      const judged = judgeEvent(fired, app.store.get(app.cursor), bps);
      fired = judged.fired;
      const hit = judged.stop;
      if (hit) {
        stopLocal();
        onPaused({ type: 'paused', reason: hit, seq: app.cursor, detail: '(replayed locally)' });
      }
      requestRender();
      return;
    }
    stopLocal();
    if (!app.store.done && socket.connected) resumeServer(delay());
    requestRender();
  }, Math.max(16, delay()));
}

const actions = {
  run: () => startRun('play'),
  togglePlay: () => {
    if (isPlaying()) { pauseAll(); requestRender(); return; }
    if (!app.store.meta || (!socket.connected && !app.store.done)) { startRun('play'); return; }
    showBanner(null);
    if (app.cursor >= app.store.count - 1 && app.store.done) app.cursor = -1;   // replay from the start
    if (app.cursor < app.store.count - 1) playLocal();
    else resumeServer(delay());
    requestRender();
  },
  stepForward: () => {
    pauseAll();
    if (!app.store.meta && !socket.connected) { startRun('step'); socket.step(); return; }
    if (app.cursor < app.store.count - 1) { app.cursor += 1; app.following = false; }
    else if (!app.store.done && socket.connected) { app.following = true; socket.step(); }
    requestRender();
  },
  stepBack: () => {
    pauseAll();
    app.following = false;
    app.cursor = Math.max(-1, app.cursor - 1);
    requestRender();
  },
  jump: (seq) => {
    pauseAll();
    const target = Math.max(-1, Math.min(seq, app.store.total - 1));
    if (target < app.store.count) { app.cursor = target; app.following = false; }
    else if (!app.store.done && socket.connected) {
      app.runTo = target < app.store.total - 1 ? target : null;   // at the very end: summary and done follow
      resumeServer(0);
    }
    requestRender();
  },
  jumpPhase: (phase, edge) => {
    if (!app.store.meta) return;
    const [first, last] = app.store.phaseBounds()[phase];
    actions.jump(edge === 'start' ? first : last);
  },
  setDelay: (ms) => {
    app.view.delay = ms;
    if (app.serverPlaying) socket.play(ms);
    if (app.localTimer !== null) { stopLocal(); playLocal(); }
    updateUrl();
  },
  zoom: (factor) => { if (factor === null) graph.fit(); else graph.zoomBy(factor); requestRender(false); },
  setFollow: (on) => { graph.follow = on; requestRender(false); },
  breakpointsChanged: (settings) => {
    app.view = { ...app.view, ...settings };
    const set = breaksOfView(app.view);
    for (const on of ['nonfinite', 'grad_below', 'grad_above']) {
      const b = set.find((x) => x.on === on);
      socket.setBreak(on, b ? b.value : null, Boolean(b));
    }
    updateUrl();
  },
  toggleTheme: () => {
    app.view.theme = app.view.theme === 'dark' ? 'light' : 'dark';
    applyView();
    updateUrl();
    requestRender();
    drawPlots(true);
  },
  togglePresent: () => {
    app.view.present = !app.view.present;
    applyView();
    updateUrl();
    requestAnimationFrame(() => { graph.fit(); requestRender(); drawPlots(true); });
  },
  copyLink: async () => {
    const url = updateUrl();
    try {
      await navigator.clipboard.writeText(url);
      showBanner('Permalink copied: it reproduces this exact trace.', 'info');
    } catch (_) {
      showBanner(`Permalink: ${url}`, 'info');
    }
  },
  exportJson: () => exportTrace('json'),
  exportNpz: () => exportTrace('npz'),
  downloadPlot: (id) => {
    const saving = charts.downloadPng($(id), `${id}-${app.config.preset ?? 'custom'}`);
    if (saving === false) showBanner('That plot has nothing to export yet.', 'info');
    else saving.catch((e) => showBanner(`PNG export failed: ${e?.message ?? e}`, 'error'));
  },
};

/** Download the current run's whole trace from the server: .json (POST /api/trace) or .npz (POST /api/trace.npz). */
async function exportTrace(format) {
  const model = app.source === 'model';
  const url = model ? `/api/models/${encodeURIComponent(app.modelId)}/trace` : format === 'npz' ? '/api/trace.npz' : '/api/trace';
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: model ? '{}' : JSON.stringify(app.config) });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    showBanner(`Export refused (${response.status}): ${JSON.stringify(body.detail ?? body).slice(0, 300)}`, 'error');
    return;
  }
  const blob = await response.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `unrolled-${app.config.preset ?? app.config.cell ?? 'trace'}-seed${app.config.seed ?? 0}.${format}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function applyView() {
  document.body.dataset.theme = app.view.theme === 'dark' ? 'dark' : 'light';
  document.body.classList.toggle('present', Boolean(app.view.present));
  $('toggle-present').setAttribute('aria-pressed', String(Boolean(app.view.present)));
}

function updateUrl() {
  // an uploaded model's weights cannot live in a URL: then the permalink keeps only the view
  return writeUrl(app.source === 'model' ? {} : app.config, app.view, configFields);
}

/** The delay between events (ms): the view's, else the default. */
function delay() {
  return app.view.delay ?? TIMING.defaultDelayMs;
}

// ---- start-up -------------------------------------------------------------------------------------

function init() {
  setupForm(pageData);
  const { config, view } = readUrl(window.location.search, configFields);
  app.view = view;
  writeBreakpoints(view);
  writeDelay(view.delay ?? TIMING.defaultDelayMs);
  applyView();
  document.body.classList.toggle('view-trace', Boolean(pageData.view_trace) && !Object.keys(config).length);
  if (Object.keys(config).length) app.config = config;
  else if (!pageData.view_trace) app.config = { ...pickConfig(pageData.presets[0]?.config ?? pageData.defaults, configFields), preset: pageData.presets[0]?.name };
  writeForm({ ...pageData.defaults, ...app.config });
  installControls(actions);
  $('teacher-compare').addEventListener('change', (e) => {
    const meta = app.store.meta;
    if (e.target.checked && meta?.config && patternOf(meta).feedback) teacher.show({ config: app.config, source: app.source });
    else teacher.hide();
  });
  installForm({
    onField: (name, value) => {
      app.config = { ...app.config, [name]: value };
      app.source = undefined;
      app.modelId = null;
      startRun('play');
    },
    onPreset: (name) => {
      app.source = undefined;
      app.modelId = null;
      app.config = name ? { ...pickConfig(presetsByName[name].config, configFields), preset: name } : { ...app.config, preset: undefined };
      writeForm(app.config);
      app.training?.update?.(app.config);
      startRun('play');
    },
  });
  app.training = mountTrainingPanel($('training'), {
    getConfig: () => ({ ...app.config }),
    fields: configFields,
    limits: pageData.limits,
    onTrained: ({ config, source }) => {
      app.config = { ...pickConfig(config, configFields) };
      app.source = source;
      startRun('play');
      showBanner('Stepping through the trained network (Run repeats it; changing the config goes back to a fresh one).', 'info');
      window.scrollTo({ top: 0, behavior: 'smooth' });
    },
  });
  app.training.update?.(app.config);
  panels.diagnosis = mountDiagnosisPanel($('diagnosis'), {
    onSelect: (node, t) => {   // show the finding's step: select it and bring its column on screen
      app.selection = { node, t, kind: 'h' };
      graph.follow = false;
      graph.centerOn(t);
      requestRender(false);
    },
  });
  panels.upload = mountModelUpload($('model-upload'), {
    onUploaded: () => {},
    startModelRun: (modelId) => {
      app.source = 'model';
      app.modelId = modelId;
      app.reuploaded = false;
      startRun('play');
      window.scrollTo({ top: 0, behavior: 'smooth' });
    },
  });
  panels.compare = mountComparePanel($('compare'), {
    getConfig: () => ({ ...app.config }),
    getModelId: () => (app.source === 'model' ? app.modelId : null),
    fields: configFields,
  });
  $('flow-node').addEventListener('change', () => drawPlots(true));
  $('hidden-node').addEventListener('change', (e) => { app.plotNode = e.target.value; drawPlots(true); });
  $('hidden-quantity').addEventListener('change', (e) => { app.hiddenQuantity = e.target.value; drawPlots(true); });
  requestRender();
  startRun('play');
}

init();
