// The live-training panel: controls, progress, the training plots and char-lm sampling.
// It talks to /ws/train (docs/DESIGN.md, "Socket protocol") on its own socket and only draws: every number comes
// from the server. Text is always set with textContent.
//
//   import { mountTrainingPanel } from './training.js';
//   const panel = mountTrainingPanel(container, { getConfig, onTrained, fields, limits });
//   panel.update(config)   // e.g. when a preset is picked: fills the controls from its training fields
//
// getConfig() returns the page's current config (a plain object); the panel adds the training
// fields: one input each for the config table's training group (fields = page_data.config_fields, their
// bounds narrowed by limits = page_data.limits). onTrained({ config, source: 'trained' }) is called by the "step through" button with the
// config that rebuilds the trained network (/ws/trace start with source "trained").

import { COLORS, PLOTS, cssVar } from './theme/config.js';
import { fmt, num, plottable } from './format.js';
import { contextStep } from './segments.js';
import { el, bindValue } from './elements.js';
import { look } from './look.js';
import { react } from './charts.js';
import { fieldNames, fieldNamed, inputBounds, parseValue } from './config_fields.js';

const MAX_HEAT_ROWS = 300;     // the epoch × timestep heatmap keeps every k-th epoch beyond this
const DRAW_EVERY_MS = 120;     // plots are redrawn at most this often while epochs stream in
const CHAR_DELAY_MS = 25;      // sampled text appears one character at a time
const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud', 'lasso2d', 'select2d'] };
// How the training fields are shown (which fields there are, their types, choices and bounds come from
// the config table): [label, aria-label] per field, the words for a choice, and the panel's start values.
const WORDS = {
  epochs: ['epochs', 'Epochs'], optimizer: ['optimizer', 'Optimizer'], lr: ['learning rate', 'Learning rate'],
  clip: ['clip ‖g‖ at', 'Clip the gradient norm at'], tbptt: ['TBPTT window', 'Truncated BPTT window'],
};
const CHOICE_WORDS = { adam: 'Adam', sgd: 'SGD (momentum 0.9)' };
const START = { epochs: 100, optimizer: 'adam' };
const START_LR = { adam: 0.01, sgd: 0.05 };   // the learning rate offered with each optimizer

function labelled(text, input) {
  return el('label', { style: 'display:flex;flex-direction:column;font-size:0.85em' }, [el('span', { class: 'muted' }, [text]), input]);
}

function numberInput(testid, attrs) {
  return el('input', { type: 'number', 'data-testid': testid, style: 'width:6.5em', ...attrs });
}

/** A time span in words: 42 s, 3 min 5 s. */
function duration(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - 60 * m)} s`;
}

/** The input of one training field: a select of its choices, or a number input within its bounds. */
function fieldInput(field, limits) {
  const [, aria] = WORDS[field.name] ?? [field.name, field.name];
  if (field.choices) {
    return el('select', { 'data-testid': `train-${field.name}`, 'aria-label': aria },
      field.choices.map((c) => el('option', { value: c }, [CHOICE_WORDS[c] ?? c])));
  }
  const off = field.nullable && START[field.name] === undefined && field.name !== 'lr';
  return numberInput(`train-${field.name}`, { ...inputBounds(field, limits), placeholder: off ? 'off' : undefined, 'aria-label': aria });
}

/** The training history of one run, as the plots need it. */
class History {
  constructor(meta) {
    this.meta = meta;
    this.node = meta.nodes[0];
    this.epochs = [];          // epoch numbers
    this.losses = [];
    this.first = null;         // epoch 1's profiles {node: [T]}
    this.latest = null;        // the latest epoch message
    this.heatEpochs = [];      // kept rows of the heatmap
    this.heatRows = {};        // node → rows of log10 ‖∂L/∂h_t‖
    this.stride = 1;
  }

  add(msg) {
    this.epochs.push(msg.epoch);
    this.losses.push(num(msg.loss));
    const profiles = Object.fromEntries(Object.entries(msg.grad_norms).map(([n, v]) => [n, v.map(num)]));
    msg.profiles = profiles;
    if (!this.first) this.first = profiles;
    this.latest = msg;
    if ((msg.epoch - 1) % this.stride === 0) {
      this.heatEpochs.push(msg.epoch);
      for (const [n, v] of Object.entries(profiles)) {
        (this.heatRows[n] ??= []).push(v.map((x) => (Number.isFinite(x) && x > 0 ? Math.log10(x) : null)));
      }
      if (this.heatEpochs.length > MAX_HEAT_ROWS) this.thin();
    }
  }

  /** Keep every other heatmap row and double the stride. */
  thin() {
    const keep = (_, i) => i % 2 === 0;
    this.heatEpochs = this.heatEpochs.filter(keep);
    for (const n of Object.keys(this.heatRows)) this.heatRows[n] = this.heatRows[n].filter(keep);
    this.stride *= 2;
  }
}

/** The three views in one figure: loss per epoch, ‖∂L/∂h_t‖ over t (first and latest epoch), epoch × t heatmap. */
function figure(h) {
  const ink = cssVar('--ink') || '#222';
  const grid = cssVar('--grid') || '#ddd';
  const muted = cssVar('--muted') || '#777';
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true };
  const T = h.meta.T;
  const steps = Array.from({ length: T }, (_, t) => t);
  const latest = h.latest?.profiles?.[h.node] ?? [];
  const data = [
    { x: [...h.epochs], y: h.losses.map((v) => (v > 0 ? plottable(v) : null)), mode: 'lines', name: 'loss',
      line: { color: COLORS.lines[0], width: 2 }, xaxis: 'x', yaxis: 'y', hovertemplate: 'epoch %{x}<br>loss %{y:.4g}<extra></extra>' },
    { x: steps, y: (h.first?.[h.node] ?? []).map((v) => (v > 0 ? plottable(v) : null)), mode: 'lines', name: 'epoch 1',
      line: { color: muted, dash: 'dot', width: 1.5 }, xaxis: 'x2', yaxis: 'y2', hovertemplate: 't=%{x}<br>%{y:.3g}<extra>epoch 1</extra>' },
    { x: steps, y: latest.map((v) => (v > 0 ? plottable(v) : null)), mode: 'lines+markers', name: `epoch ${h.latest?.epoch ?? ''}`,
      line: { color: COLORS.lines[1], width: 2.5 }, marker: { size: 4 }, xaxis: 'x2', yaxis: 'y2',
      hovertemplate: 't=%{x}<br>‖∂L/∂h_t‖ %{y:.3g}<extra>latest epoch</extra>' },
    { z: h.heatRows[h.node] ?? [], x: steps, y: h.heatEpochs, type: 'heatmap', colorscale: 'Viridis', xaxis: 'x3', yaxis: 'y3',
      colorbar: { title: { text: 'log₁₀‖∂L/∂h_t‖', side: 'right' }, x: 1.0, thickness: 12 }, showlegend: false,
      hovertemplate: 'epoch %{y}, t=%{x}<br>log₁₀ ‖∂L/∂h_t‖ %{z:.2f}<extra></extra>' },
  ];
  const { present } = look();
  const layout = {
    height: PLOTS.height * (present ? 1.2 : 1) + 20,
    margin: { l: 56, r: 70, t: 30, b: 48 },
    paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)',
    font: { size: PLOTS.font * (present ? PLOTS.presentFontScale : 1) * 0.9, color: ink, family: 'inherit' },
    legend: { orientation: 'h', y: -0.3, x: 0.36 },
    hovermode: 'closest',
    xaxis: { ...axis, domain: [0, 0.28], title: { text: 'epoch' } },
    yaxis: { ...axis, type: 'log', title: { text: 'loss' } },
    xaxis2: { ...axis, domain: [0.36, 0.64], title: { text: 't' }, anchor: 'y2' },
    yaxis2: { ...axis, type: 'log', anchor: 'x2', title: { text: '‖∂L/∂h_t‖' } },
    xaxis3: { ...axis, domain: [0.72, 0.93], title: { text: 't' }, anchor: 'y3' },
    yaxis3: { ...axis, anchor: 'x3', title: { text: 'epoch' } },
    annotations: [
      ['loss', 0.14], ['gradient profile', 0.5], ['epoch × timestep', 0.825],
    ].map(([text, x]) => ({ text, x, y: 1.08, xref: 'paper', yref: 'paper', showarrow: false, font: { color: muted } })),
    // an encoder–decoder: the context between the encoder's steps and the decoder's
    shapes: contextStep(h.meta) !== null ? ['x2', 'x3'].map((xref) => ({
      type: 'line', xref, yref: 'paper', x0: contextStep(h.meta) - 0.5, x1: contextStep(h.meta) - 0.5, y0: 0, y1: 1,
      line: { color: cssVar('--feedback') || '#7c3aed', width: 1.5, dash: 'dash' },
    })) : [],
  };
  return { data, layout };
}

/**
 * Draw the training panel into `container` and return { update(config) }.
 * The plot goes into the container's [data-testid="plot-training"] element if it has one.
 */
export function mountTrainingPanel(container, { getConfig, onTrained, fields = [], limits = {} } = {}) {
  const trainingFields = fieldNames(fields, 'training').map((name) => fieldNamed(fields, name));
  const controls = Object.fromEntries(trainingFields.map((f) => [f.name, fieldInput(f, limits)]));
  const values = {};   // the training fields as last typed or set (null: off / not a value)
  const startBtn = el('button', { type: 'button', class: 'primary', 'data-testid': 'train-start' }, ['Train']);
  const pauseBtn = el('button', { type: 'button', 'data-testid': 'train-pause', disabled: '' }, ['Pause']);
  const stopBtn = el('button', { type: 'button', 'data-testid': 'train-stop', disabled: '' }, ['Stop']);
  const traceBtn = el('button', { type: 'button', 'data-testid': 'train-step-through', disabled: '',
    title: 'Open the trained network in the unrolled graph' }, ['Step through trained network']);
  const progress = el('progress', { 'data-testid': 'train-progress', max: 1, value: 0, style: 'width:100%' });
  const status = el('div', { class: 'status', 'data-testid': 'train-status', role: 'status', 'aria-live': 'polite' }, ['Not trained yet.']);
  const nodeSelect = el('select', { 'aria-label': 'Layer shown by the gradient plots', hidden: '' });

  const sample = {
    prime: el('input', { type: 'text', 'data-testid': 'sample-prime', value: 'the ', maxlength: 200, style: 'width:8em', 'aria-label': 'Prime text' }),
    length: numberInput('sample-length', { min: 1, max: 2000, step: 1, value: 200, 'aria-label': 'Characters to sample' }),
    temperature: numberInput('sample-temperature', { min: 0.05, max: 10, step: 0.05, value: 0.8, 'aria-label': 'Temperature' }),
    seed: numberInput('sample-seed', { min: 0, step: 1, value: 0, 'aria-label': 'Sampling seed' }),
    button: el('button', { type: 'button', 'data-testid': 'train-sample' }, ['Sample']),
    output: el('pre', { 'data-testid': 'sample-text', style: 'white-space:pre-wrap;min-height:2.5em;margin:0.4em 0 0;font-family:var(--mono, monospace)' }),
  };
  const asked = {};   // the sampling inputs' values
  for (const key of ['prime', 'length', 'temperature', 'seed']) bindValue(sample[key], asked, key);
  const sampleRow = el('div', { hidden: '', 'data-testid': 'sample-panel' }, [
    el('div', { style: 'display:flex;flex-wrap:wrap;gap:0.6em;align-items:flex-end' }, [
      labelled('prime', sample.prime), labelled('characters', sample.length),
      labelled('temperature', sample.temperature), labelled('seed', sample.seed), sample.button,
      el('span', { class: 'muted', style: 'font-size:0.85em' }, ['each sampled character is fed back as the next input']),
    ]),
    sample.output,
  ]);

  let plot = container.querySelector('[data-testid="plot-training"]');
  if (!plot) {
    plot = el('div', { class: 'plot', 'data-testid': 'plot-training' });
    container.append(plot);
  }
  plot.hidden = false;
  const panel = el('div', { class: 'training-panel', style: 'display:flex;flex-direction:column;gap:0.5em' }, [
    el('div', { style: 'display:flex;flex-wrap:wrap;gap:0.6em;align-items:flex-end' }, [
      ...trainingFields.map((f) => labelled((WORDS[f.name] ?? [f.name])[0], controls[f.name])),
      startBtn, pauseBtn, stopBtn, traceBtn, nodeSelect,
    ]),
    progress, status,
  ]);
  container.insertBefore(panel, plot);
  plot.after(sampleRow);

  let ws = null;
  let history = null;
  let state = 'idle';          // idle | starting | running | paused | done
  let trainedConfig = null;
  let drawTimer = null;
  let lastDraw = 0;
  let typing = null;

  function setStatus(text, isError = false) {
    status.textContent = text;
    status.style.color = isError ? COLORS.nan : '';
  }

  function setState(next) {
    state = next;
    const live = state === 'running' || state === 'paused' || state === 'starting';
    startBtn.disabled = live;
    pauseBtn.disabled = !(state === 'running' || state === 'paused');
    pauseBtn.textContent = state === 'paused' ? 'Resume' : 'Pause';
    stopBtn.disabled = !live;
    traceBtn.disabled = !(trainedConfig && typeof onTrained === 'function');
  }

  function draw() {
    drawTimer = null;
    lastDraw = performance.now();
    if (!history) return;
    const { data, layout } = figure(history);
    react(plot, data, layout, PLOT_CONFIG);
  }

  function requestDraw() {
    if (drawTimer) return;
    const wait = Math.max(0, DRAW_EVERY_MS - (performance.now() - lastDraw));
    drawTimer = setTimeout(() => requestAnimationFrame(draw), wait);
  }

  function describeEpoch(msg) {
    const left = msg.epoch < msg.epochs ? (num(msg.elapsed_s) / msg.epoch) * (msg.epochs - msg.epoch) : 0;
    const parts = [`epoch ${msg.epoch} / ${msg.epochs}`, `loss ${fmt(num(msg.loss), 4)}`];
    if (msg.accuracy !== null && msg.accuracy !== undefined) parts.push(`accuracy ${Math.round(100 * num(msg.accuracy))}%`);
    parts.push(`‖g‖ ${fmt(num(msg.grad_norm))}${msg.clipped ? ' (clipped)' : ''}`);
    if (msg.epoch < msg.epochs) parts.push(`${duration(left)} left`);
    return parts.join(' · ');
  }

  function onMessage(msg) {
    if (msg.type === 'meta') {
      history = new History(msg);
      progress.max = msg.epochs;
      progress.value = 0;
      nodeSelect.replaceChildren(...msg.nodes.map((n) => el('option', { value: n }, [n])));
      nodeSelect.hidden = msg.nodes.length < 2;
      sampleRow.hidden = !msg.can_sample;
      setState('running');
      setStatus(`training ${msg.title}…`);
    } else if (msg.type === 'epoch') {
      history?.add(msg);
      progress.value = msg.epoch;
      setStatus(describeEpoch(msg) + (msg.diverged ? ' · diverged: the gradient or the weights became NaN/∞' : ''), msg.diverged);
      requestDraw();
    } else if (msg.type === 'paused') {
      setState('paused');
      setStatus(`paused after epoch ${msg.epoch}${history?.latest ? ` · ${describeEpoch(history.latest)}` : ''}`);
    } else if (msg.type === 'resumed') {
      setState('running');
    } else if (msg.type === 'done') {
      trainedConfig = msg.trained_config;
      setState('done');
      const how = { finished: 'finished', stopped: 'stopped', diverged: 'stopped: it diverged (NaN/∞)' }[msg.reason] ?? msg.reason;
      setStatus(`Training ${how} after ${msg.epochs_done} epochs · final loss ${fmt(num(msg.final_loss), 4)}`, msg.reason === 'diverged');
      requestDraw();
    } else if (msg.type === 'sample') {
      showSample(msg.prime, msg.text);
    } else if (msg.type === 'error') {
      setStatus(`${msg.field ? `${msg.field}: ` : ''}${msg.detail}`, true);
      if (state === 'starting') setState('idle');
    }
  }

  function showSample(prime, text) {
    clearInterval(typing);
    sample.output.textContent = prime;
    let i = 0;
    typing = setInterval(() => {
      if (i >= text.length) { clearInterval(typing); return; }
      sample.output.textContent += text[i];
      i += 1;
    }, CHAR_DELAY_MS);
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  /** The training fields to send: the values set, the panel's start values where none is. */
  function chosenFields() {
    const chosen = {};
    for (const { name } of trainingFields) {
      const value = values[name] ?? START[name];
      if (value !== null && value !== undefined) chosen[name] = value;
    }
    return chosen;
  }

  /** Show `value` in a field's input and remember it. */
  function setField(name, value) {
    if (!controls[name]) return;
    values[name] = value ?? null;
    controls[name].value = value ?? '';
  }

  function start() {
    const base = { ...(getConfig ? getConfig() : {}) };
    for (const { name } of trainingFields) delete base[name];
    const config = { ...base, ...chosenFields() };
    if (ws) ws.close();
    trainedConfig = null;
    sample.output.textContent = '';
    setState('starting');
    setStatus('connecting…');
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/train`);
    ws = socket;
    socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'start', config })));
    socket.addEventListener('message', (e) => { if (socket === ws) onMessage(JSON.parse(e.data)); });
    socket.addEventListener('close', () => {
      if (socket !== ws) return;
      if (state === 'running' || state === 'paused' || state === 'starting') {
        setStatus('the connection to the server closed', true);
        setState(trainedConfig ? 'done' : 'idle');
      }
    });
  }

  startBtn.addEventListener('click', start);
  pauseBtn.addEventListener('click', () => send({ type: state === 'paused' ? 'resume' : 'pause' }));
  stopBtn.addEventListener('click', () => send({ type: 'stop' }));
  traceBtn.addEventListener('click', () => { if (trainedConfig) onTrained({ config: trainedConfig, source: 'trained' }); });
  nodeSelect.addEventListener('change', () => { if (history) { history.node = nodeSelect.value; draw(); } });
  for (const f of trainingFields) bindValue(controls[f.name], values, f.name, (text) => parseValue(f.type, text) ?? null);
  controls.optimizer?.addEventListener('change', () => setField('lr', START_LR[values.optimizer]));
  sample.button.addEventListener('click', () => {
    const msg = { type: 'sample', length: Math.round(Number(asked.length) || 200),
      temperature: Number(asked.temperature) || 1, seed: Math.round(Number(asked.seed) || 0) };
    if (asked.prime) msg.prime = asked.prime;
    send(msg);
  });

  /** Fill the controls from a config's training fields (a preset may set them). */
  function update(config = {}) {
    if (config.epochs) setField('epochs', config.epochs);
    if (config.optimizer) setField('optimizer', config.optimizer);
    setField('lr', config.lr ?? START_LR[values.optimizer]);
    setField('clip', config.clip);
    setField('tbptt', config.tbptt);
  }

  setField('epochs', START.epochs);
  setField('optimizer', START.optimizer);
  update(getConfig ? getConfig() : {});
  setState('idle');
  return { update };
}
