// Glue: the page's state, what happens on each socket message and user action, and the page drawn
// from that state (page_view.js; never from what the DOM shows). The run itself (cursor, play/pause,
// status, …) is run_state.js's: it changes only through dispatch(action), which carries out what the
// reducer asks for (socket messages, a new run, the replay timer, the banner) and then redraws.

import { TIMING } from './theme/config.js';
import { readUrl, writeUrl, pickConfig } from './state.js';
import { makeSocket } from './offline.js';   // the server's socket, or an exported page's recorded runs
import { installLessons } from './lesson_view.js';
import { createPageView } from './page_view.js';
import { downloadTrace, downloadPlot } from './trace_export.js';
import { mountPanels } from './panels.js';
import { setupPlotSelectors } from './plots.js';
import { setupForm, writeForm, installForm, markFieldError } from './form.js';
import { EventStore } from './store.js';
import { installControls, writeBreakpoints, writeDelay } from './controls.js';
import { KINDS, breaksOfView, firedUpTo } from './breakpoints.js';
import { initialRunState, runReducer, isPlaying } from './run_state.js';
import { noticeBanner } from './page_notes.js';
import { EventBatcher, nextFrame } from './event_batcher.js';   // issue 17
import { releaseEarlySocket } from './early_socket.js';   // issue 17
// issue 20: tabs below the first screen, lecture pacing, cancel
import { installTabs, openTab } from './tabs.js';
import { pacedDelay } from './pacing.js';

const $ = (id) => document.getElementById(id);
const pageData = JSON.parse($('page-data').textContent);
const presetsByName = Object.fromEntries(pageData.presets.map((p) => [p.name, p]));
const configFields = pageData.config_fields;   // the config table: permalink, form and training fields

const app = {
  config: {},            // the config of the current run (resolved by the server once meta arrives)
  view: {},              // view settings held by the permalink (present, theme, delay, breakpoints)
  store: new EventStore(),
  run: initialRunState(),   // cursor, status, play/pause, cursorFollowsStream… (run_state.js; dispatch only)
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

const panels = {};       // training, diagnosis and model upload (mounted at start-up with compare)
let replayTimer = null;  // the local replay's timer, running while app.run.replaying

// issue 17 (page speed): socket messages are applied in batches, once per animation frame
// the batch applied in an animation frame is drawn in that frame (page.renderNow), one frame sooner; one applied
// by the fallback timer (a hidden tab: no frames) waits for a frame as before
const batcher = new EventBatcher(handleMessage, (flush) => nextFrame((now) => { flush(); if (now !== undefined) page.renderNow(now); }));
const socket = makeSocket({ onMessage: (msg) => batcher.push(msg), onClose: (info) => { batcher.flush(); handleClose(info); } });
const page = createPageView(app, {
  pageData, presets: presetsByName,
  onSelect: (node, t, kind) => { app.selection = { node, t, kind }; openTab('step'); page.requestRender(); },
  onHover: (node, t) => { app.hover = node === null ? null : { node, t }; page.requestRender(false); },
});
const { graph, requestRender, drawPlots } = page;

/**
 * Change the run state by one action (run_state.js), carry out what the new state asks for (a socket
 * message, the replay timer, the banner, a new run), then redraw. Returns the new run state.
 */
function dispatch(action) {
  const prev = app.run;
  const run = runReducer(prev, action);
  app.run = run;
  if (run.status !== prev.status) page.statusHook();   // <body data-status> at once: never stale
  const { request } = run;
  if (request?.type === 'play') socket.play(request.delay_ms);
  else if (request?.type === 'pause') socket.pause();
  else if (request?.type === 'step') socket.step();
  if (!run.replaying) stopReplay();
  else if (!prev.replaying || action.type === 'setDelay') startReplay();
  if (run.notice) {
    const banner = noticeBanner(run.notice, run.paused);
    showBanner(banner?.text ?? null, banner?.kind);
  }
  requestRender();
  if (run.restart) startRun(run.restart);
  return run;
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
  else if (msg.type === 'done') dispatch({ type: 'done' });
  else if (msg.type === 'paused') dispatch({ type: 'paused', reason: msg.reason, seq: msg.seq, detail: msg.detail });
  else if (msg.type === 'error' && msg.field === 'model_id' && app.source === 'model' && !app.reuploaded) {
    // this server process does not hold the uploaded model (another worker, or trimmed): send it again
    app.reuploaded = true;
    panels.upload?.reupload().then((info) => { if (info) { app.modelId = info.model_id ?? app.modelId; startRun('play'); } });
  } else if (msg.type === 'error') {
    markFieldError(msg.field);
    showBanner(`Error${msg.field ? ` in ${msg.field}` : ''}: ${msg.detail}`, 'error');
    dispatch({ type: 'error' });
  }
}

function handleClose() {
  dispatch({ type: 'closed' });
}

function onMeta(meta) {
  if (app.banner?.kind !== 'error' && !app.source) showBanner(null);   // e.g. a queue notice
  app.store.reset(meta);
  dispatch({ type: 'meta', meta });
  app.selection = null;
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
  // issue 20: unless the permalink sets a speed, a run plays in ~2 s (pacing.js); the slider shows it
  if (app.view.delay === null || app.view.delay === undefined) {
    app.pacedDelay = pacedDelay(app.store.total);
    writeDelay(app.pacedDelay);
    dispatch({ type: 'setDelay', delayMs: app.pacedDelay });
  }
  app.plotNode = setupPlotSelectors(meta);
  app.flowNode = app.plotNode;
  app.hiddenQuantity = 'h';
  page.runInfo(meta);
  requestRender();
}

function onSummary(msg) {
  app.store.setSummary(msg);
  panels.diagnosis?.update(msg);
  page.summary(msg);
  requestRender();
}

function onEvent(msg) {
  dispatch({ type: 'event', seq: app.store.add(msg).seq });
}

// ---- actions --------------------------------------------------------------------------------------

/** The delay between two streamed events (ms), as set on the speed slider or in the permalink. */
function delay() {
  return app.view.delay ?? app.pacedDelay ?? TIMING.defaultDelayMs;
}

function stopReplay() {
  if (replayTimer !== null) clearInterval(replayTimer);
  replayTimer = null;
}

/** Replay the received events locally: one replayTick per delay (the reducer judges breakpoints and
 * hands over to the server at the live edge). */
function startReplay() {
  stopReplay();
  replayTimer = setInterval(() => {
    dispatch({ type: 'replayTick', event: app.store.get(app.run.cursor + 1), breaks: breaksOfView(app.view), delayMs: delay() });
  }, Math.max(16, delay()));
}

function startRun(mode) {
  const loaded = pageData.view_trace && !app.config.cell && !app.config.preset;
  page.exports();
  batcher.clear();   // issue 17: the last run's queued messages never mix into this one
  socket.start({
    config: app.config, source: app.source ?? (loaded ? 'loaded' : undefined), modelId: app.modelId, mode, delayMs: delay(), breakpoints: breaksOfView(app.view),
  });
  dispatch({ type: 'start', mode });
  updateUrl();
}

const actions = {
  run: () => startRun('play'),
  togglePlay: () => {
    // the server's rule: a breakpoint stops once per node per run, so the replay remembers the stops so far
    dispatch({ type: 'togglePlay', delayMs: delay(), fired: firedUpTo(app.store.events, breaksOfView(app.view), app.run.cursor) });
  },
  stepForward: () => dispatch({ type: 'stepForward' }),
  stepBack: () => dispatch({ type: 'stepBack' }),
  jump: (seq) => dispatch({ type: 'jump', seq }),
  jumpPhase: (phase, edge) => dispatch({ type: 'jumpPhase', phase, edge }),
  setDelay: (ms) => {
    app.view.delay = ms;
    dispatch({ type: 'setDelay', delayMs: ms });
    updateUrl();
  },
  zoom: (factor) => { if (factor === null) graph.viewport.fit(); else graph.viewport.zoomBy(factor); requestRender(false); },
  setGraphFollowsCursor: (on) => { graph.viewport.followsCursor = on; requestRender(false); },
  breakpointsChanged: (settings) => {
    app.view = { ...app.view, ...settings };
    const set = breaksOfView(app.view);
    for (const on of KINDS) {
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

/** Run a preset picked in the picker ('' : the custom config). */
function pickPreset(name) {
  const config = name ? { ...pickConfig(presetsByName[name].config, configFields), preset: name } : { ...app.config, preset: undefined };
  writeForm(config);
  panels.training?.update?.(config);
  runConfig(config);
}

function init() {
  const earlyPick = setupForm(pageData);
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
  installTabs(() => drawPlots(true));   // issue 20: a plot drawn in a hidden tab is drawn again at its size
  $('cancel-run').addEventListener('click', () => { if (isPlaying(app.run)) actions.togglePlay(); });
  $('teacher-compare').addEventListener('change', (e) => { app.teacherCompare = e.target.checked; page.teacher(); });
  installForm({
    onField: (name, value) => runConfig({ ...app.config, [name]: value }),
    onPreset: pickPreset,
  });
  Object.assign(panels, mountPanels(app, { startRun, showBanner, graph, cells: pageData.cells, fields: configFields, limits: pageData.limits, uploadFields: pageData.upload_fields }));
  $('flow-node').addEventListener('change', (e) => { app.flowNode = e.target.value; drawPlots(true); });
  $('hidden-node').addEventListener('change', (e) => { app.plotNode = e.target.value; drawPlots(true); });
  $('hidden-quantity').addEventListener('change', (e) => { app.hiddenQuantity = e.target.value; drawPlots(true); });
  requestRender();
  // a lesson (?lesson=name, or an exported lesson page) starts its own runs, scene by scene
  if (!installLessons({ app, actions, runConfig, requestRender, updateUrl, showBanner, pageData })) {
    if (earlyPick !== null && (earlyPick === '' || presetsByName[earlyPick])) pickPreset(earlyPick);
    else startRun('play');
  }
  releaseEarlySocket();   // issue 17: a start-up that ran nothing lets the socket opened at load go
}

init();
