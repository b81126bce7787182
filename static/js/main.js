// Glue: the run's state (cursor, playing, stream status), what happens on each message and action,
// and render(): every view drawn from that state (never from what the DOM shows).

import { TIMING } from './theme/config.js';
import { readUrl, writeUrl, pickConfig } from './state.js';
import { TraceSocket } from './socket.js';
import { createPageView } from './page_view.js';
import { downloadTrace, downloadPlot } from './trace_export.js';
import { mountPanels } from './panels.js';
import { setupPlotSelectors } from './plots.js';
import { setupForm, writeForm, installForm, markFieldError } from './form.js';
import { EventStore } from './store.js';
import { installControls, writeBreakpoints, writeDelay } from './controls.js';
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
  cursorFollowsStream: true,   // the cursor moves to each newly received event (the graph's window
                               // following the cursor is graph.viewport.followsCursor)
  serverPlaying: false,  // the server is streaming
  localTimer: null,      // replaying received events locally
  status: 'idle',        // idle | running | paused | done | error
  paused: null,          // last paused message (breakpoint reason)
  runTo: null,           // pause the server once this seq has arrived (jumps past the received events)
  selection: null,       // inspected node {node, t, kind}
  hover: null,           // node hovered on a plot {node, t}
  plotNode: null,        // h node shown by the hidden-state plot
  flowNode: null,        // h node shown by the flow plot
  hiddenQuantity: 'h',
  banner: null,          // {text, kind} shown above the page, or null
  teacherCompare: false, // show the teacher-forced twin of a generation run
  source: undefined,     // "trained" (training panel hand-off) or "model" (an upload): Run repeats it
  modelId: null,         // the uploaded model's id while source is "model"
  reuploaded: false,     // one re-upload per run when the socket no longer holds the model
};

const panels = {};       // training, diagnosis, model upload and compare, mounted at start-up

const socket = new TraceSocket({ onMessage: handleMessage, onClose: handleClose });
const page = createPageView(app, {
  pageData, presets: presetsByName, socket,
  onSelect: (node, t, kind) => { app.selection = { node, t, kind }; page.requestRender(); },
  onHover: (node, t) => { app.hover = node === null ? null : { node, t }; page.requestRender(false); },
});
const { graph, requestRender, drawPlots } = page;

/** Set the run status (mirrored at once on <body data-status> so nobody reads a stale one). */
function setStatus(status) {
  app.status = status;
  page.statusHook();
}

function isPlaying() {
  return app.serverPlaying || app.localTimer !== null;
}

/** Show a banner (text null: hide it); kind is info | error | paused. */
function showBanner(text, kind = 'info') {
  app.banner = text ? { text, kind } : null;
  page.banner();
}

function updateUrl() {
  // an uploaded model's weights cannot live in a URL: then the permalink keeps only the view
  return writeUrl(app.source === 'model' ? {} : app.config, app.view, configFields);
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
  if (app.banner?.kind !== 'error' && !app.source) showBanner(null);   // e.g. a queue notice
  app.store.reset(meta);
  app.cursor = -1;
  app.selection = null;
  app.paused = null;
  markFieldError(null);
  if (meta.config) {
    const trainingKnown = app.config.epochs !== undefined;
    app.config = { ...pickConfig(meta.config, configFields), ...(app.config.preset && !meta.config.preset ? { preset: app.config.preset } : {}) };
    // a bare "?preset=name" permalink learns the preset's training fields only now
    if (!trainingKnown && app.config.epochs !== undefined) panels.training?.update?.(app.config);
    writeForm(app.config);
    updateUrl();
  }
  panels.diagnosis?.clear();
  document.querySelector('.diagnosis-card').hidden = true;
  app.plotNode = setupPlotSelectors(meta);
  app.flowNode = app.plotNode;
  app.hiddenQuantity = 'h';
  page.runInfo(meta);
  requestRender();
}

function onSummary(msg) {
  app.store.setSummary(msg);
  panels.diagnosis?.update(msg);
  document.querySelector('.diagnosis-card').hidden = false;
  graph.viewport.overview.showFindings(msg.diagnosis);
  requestRender();
}

function onEvent(msg) {
  const ev = app.store.add(msg);
  if (app.cursorFollowsStream && app.localTimer === null) app.cursor = ev.seq;
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

/** The delay between two streamed events (ms), as set on the speed slider or in the permalink. */
function delay() {
  return app.view.delay ?? TIMING.defaultDelayMs;
}

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
  app.cursorFollowsStream = true;
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
  app.cursorFollowsStream = true;
  setStatus('running');
  app.serverPlaying = mode === 'play';
  const loaded = pageData.view_trace && !app.config.cell && !app.config.preset;
  page.exports();
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
    if (app.cursor < app.store.count - 1) { app.cursor += 1; app.cursorFollowsStream = false; }
    else if (!app.store.done && socket.connected) { app.cursorFollowsStream = true; socket.step(); }
    requestRender();
  },
  stepBack: () => {
    pauseAll();
    app.cursorFollowsStream = false;
    app.cursor = Math.max(-1, app.cursor - 1);
    requestRender();
  },
  jump: (seq) => {
    pauseAll();
    const target = Math.max(-1, Math.min(seq, app.store.total - 1));
    if (target < app.store.count) { app.cursor = target; app.cursorFollowsStream = false; }
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
  zoom: (factor) => { if (factor === null) graph.viewport.fit(); else graph.viewport.zoomBy(factor); requestRender(false); },
  setFollow: (on) => { graph.viewport.followsCursor = on; requestRender(false); },
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
    page.look();
    updateUrl();
    requestRender();
    drawPlots(true);
  },
  togglePresent: () => {
    app.view.present = !app.view.present;
    page.look();
    updateUrl();
    requestAnimationFrame(() => { graph.viewport.fit(); requestRender(); drawPlots(true); });
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
  downloadPlot: async (id) => {
    const problem = await downloadPlot(id, app.config.preset);
    if (problem) showBanner(problem.text, problem.kind);
  },
};

async function exportTrace(format) {
  const refused = await downloadTrace(format, { config: app.config, source: app.source, modelId: app.modelId });
  if (refused) showBanner(refused, 'error');
}

// ---- start-up -------------------------------------------------------------------------------------

/** A run of `config` from a fresh network (a form field or preset changed). */
function runConfig(config) {
  app.source = undefined;
  app.modelId = null;
  app.config = config;
  startRun('play');
}

function init() {
  setupForm(pageData);
  const { config, view } = readUrl(window.location.search, configFields);
  app.view = view;
  writeBreakpoints(view);
  writeDelay(delay());
  page.look();
  document.body.classList.toggle('view-trace', Boolean(pageData.view_trace) && !Object.keys(config).length);
  if (Object.keys(config).length) app.config = config;
  else if (!pageData.view_trace) app.config = { ...pickConfig(pageData.presets[0]?.config ?? pageData.defaults, configFields), preset: pageData.presets[0]?.name };
  writeForm({ ...pageData.defaults, ...app.config });
  installControls(actions);
  $('teacher-compare').addEventListener('change', (e) => { app.teacherCompare = e.target.checked; page.teacher(); });
  installForm({
    onField: (name, value) => runConfig({ ...app.config, [name]: value }),
    onPreset: (name) => {
      const config = name ? { ...pickConfig(presetsByName[name].config, configFields), preset: name } : { ...app.config, preset: undefined };
      writeForm(config);
      panels.training?.update?.(config);
      runConfig(config);
    },
  });
  Object.assign(panels, mountPanels(app, { startRun, showBanner, graph, cells: pageData.cells, fields: configFields, limits: pageData.limits }));
  $('flow-node').addEventListener('change', (e) => { app.flowNode = e.target.value; drawPlots(true); });
  $('hidden-node').addEventListener('change', (e) => { app.plotNode = e.target.value; drawPlots(true); });
  $('hidden-quantity').addEventListener('change', (e) => { app.hiddenQuantity = e.target.value; drawPlots(true); });
  requestRender();
  startRun('play');
}

init();
