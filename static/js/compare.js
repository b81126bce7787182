// Compare runs side by side (POST /api/compare): the gradient's decay with distance for each run on
// one log plot (each run's fitted factor per step in the legend), their ‖∂L/∂h_t‖ profiles stacked,
// each run's diagnosis, and the breakdown: a loss at every step against a loss at the end only.
//
//   import { mountComparePanel } from './compare.js';
//   const compare = mountComparePanel(container, { getConfig, getModelId, fields });
//
// getConfig() returns the page's current config (the base of the comparison); getModelId()
// (optional) the id of an uploaded model, which adds "your model against fresh cells"; fields is the
// config table (page_data.config_fields): its training fields are left out of the base.

import { COLORS, PLOTS, SCALES, cssVar } from './theme/config.js';
import { fmt, num, nums, plottable } from './format.js';
import { el, bindValue } from './elements.js';
import { look, onLookChange } from './look.js';
import { mountDiagnosisPanel } from './findings.js';
import { fieldNames } from './config_fields.js';

import { whenPlotly } from './plotly_loader.js';   // issue 17: plotly is loaded after first paint

const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud', 'lasso2d', 'select2d'] };
const CELL_NAMES = {
  rnn_tanh: 'tanh RNN', rnn_relu: 'relu RNN', lstm: 'LSTM', gru: 'GRU',
  lstm_peephole: 'peephole LSTM', lstm_coupled: 'coupled-gate LSTM', gru_reset_before: 'GRU (lectures)',
};
const CHOICES = [
  { id: 'cell', text: 'the cell: tanh RNN · LSTM · GRU', vary: { cell: ['rnn_tanh', 'lstm', 'gru'] } },
  { id: 'lstms', text: 'the LSTMs of the lectures: LSTM · peephole · coupled gates', vary: { cell: ['lstm', 'lstm_peephole', 'lstm_coupled'] } },
  { id: 'grus', text: 'the GRU: torch’s · the lectures’ (reset before W)', vary: { cell: ['gru', 'gru_reset_before'] } },
  { id: 'scale', text: 'the recurrent scale: 0.5 · 1.0 · 1.5', vary: { recurrent_scale: [0.5, 1.0, 1.5] } },
  { id: 'model', text: 'your uploaded model against fresh cells', model: true },
  { id: 'checkpoints', text: 'your last two models on the same data (e.g. before / after a loss spike)', checkpoints: true },
  { id: 'custom', text: 'something else…', custom: true },
];

/** The compare body of two uploaded models (two checkpoints), both run on the first one's input and targets. */
export function checkpointRequest(first, second) {
  return { configs: [{ model_id: first }, { model_id: second, data_from: first }] };
}

/** Plot layout in the page's look (colours from the theme's CSS variables). */
function layout(extra = {}) {
  const { present } = look();
  const ink = cssVar('--ink') || '#222';
  const grid = cssVar('--grid') || '#ddd';
  return {
    height: PLOTS.height * (present ? 1.2 : 1),
    margin: { l: 64, r: 20, t: 28, b: 52 },
    paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)',
    font: { size: PLOTS.font * (present ? PLOTS.presentFontScale : 1), color: ink, family: 'inherit' },
    hovermode: 'closest',
    ...extra,
    _axis: { gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true },
  };
}

function axis(base, extra) {
  return { ...base._axis, ...extra };
}

function finalize(l) {
  const { _axis, ...rest } = l;
  return rest;
}

/** A log axis covering the finite positive values. */
function logAxis(values, title) {
  const v = values.filter((x) => Number.isFinite(x) && x > 0);
  const range = v.length ? [Math.log10(Math.min(...v)) - 0.3, Math.log10(Math.max(...v)) + 0.3] : undefined;
  return { type: 'log', exponentformat: 'power', range, title: { text: title }, dtick: range && range[1] - range[0] > 2.5 ? Math.max(1, Math.ceil((range[1] - range[0]) / 6)) : 'D2' };
}

/** The base of a comparison from a page config: without its training fields and empty values. */
export function compareBase(config, fields) {
  const base = { ...config };
  for (const k of fieldNames(fields, 'training')) delete base[k];
  for (const [k, v] of Object.entries(base)) if (v === undefined || v === null) delete base[k];
  return base;
}

/** Parse "0.5, 1, 1.5" or "tanh, lstm" into numbers where they are numbers. */
function parseValues(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => (s !== '' && Number.isFinite(Number(s)) ? Number(s) : s));
}

/** The run's decay points (distance ≥ 0, ascending) from the wire. */
function decay(run) {
  const v = run.vanishing ?? {};
  const d = nums(v.distance);
  const n = nums(v.norms);
  return d.map((x, t) => ({ d: x, y: n[t], t })).filter((p) => Number.isFinite(p.d) && p.d >= 0).sort((a, b) => a.d - b.d);
}

/** plot-compare: ‖∂L_k/∂h_t‖ against k − t, one curve per run, its fitted factor in the legend. */
function drawDecay(div, runs) {
  const l = layout({
    legend: { x: 1, y: 1, xanchor: 'right', yanchor: 'top', bgcolor: cssVar('--card') || '#fff', bordercolor: cssVar('--line') || '#ccc', borderwidth: 1 },
    height: PLOTS.height + 40,
  });
  const data = [];
  const ys = [];
  runs.forEach((run, i) => {
    const pts = decay(run);
    const factor = num(run.vanishing?.factor);
    const color = COLORS.lines[i % COLORS.lines.length];
    ys.push(...pts.map((p) => p.y));
    data.push({
      type: 'scatter', mode: 'lines+markers', meta: 'run',
      name: `${run.label}: ×${fmt(factor)} per step`,
      x: pts.map((p) => p.d), y: pts.map((p) => (p.y > 0 ? plottable(p.y) : null)),
      line: { color, width: 2.5 }, marker: { size: 6, color },
      hovertemplate: `k−t=%{x}: %{y:.3g}<extra>${run.label}</extra>`,
    });
  });
  const k = runs[0]?.vanishing?.k;
  whenPlotly((Plotly) => Plotly.react(div, data, finalize({
    ...l,
    xaxis: axis(l, { title: { text: `distance k − t  (k = ${k ?? '?'}, the last step with a target)` } }),
    yaxis: axis(l, logAxis(ys, '‖∂Lₖ/∂hₜ‖')),
  }), PLOT_CONFIG));
}

/** plot-compare-profiles: each run's ‖∂L/∂h_t‖ over t, one row per run (shared t axis). */
function drawProfiles(div, runs) {
  const n = runs.length;
  const rowHeight = 110;
  const l = layout({ height: 50 + n * rowHeight, margin: { l: 64, r: 20, t: 10, b: 44 }, showlegend: false });
  const data = [];
  const gap = 0.06;
  const span = (1 - gap * (n - 1)) / n;
  const axes = {};
  runs.forEach((run, i) => {
    const series = nums(run.gradient_norms?.[run.node] ?? Object.values(run.gradient_norms ?? {})[0] ?? []);
    const suffix = i === 0 ? '' : String(i + 1);
    const color = COLORS.lines[i % COLORS.lines.length];
    data.push({
      type: 'scatter', mode: 'lines+markers', name: run.label, xaxis: 'x', yaxis: `y${suffix}`,
      x: series.map((_, t) => t), y: series.map((v) => (v > 0 ? plottable(v) : null)),
      line: { color, width: 2 }, marker: { size: 4, color },
      hovertemplate: `t=%{x}: %{y:.3g}<extra>${run.label}</extra>`,
    });
    const top = 1 - i * (span + gap);
    axes[`yaxis${suffix}`] = axis(l, { ...logAxis(series, ''), domain: [top - span, top], title: { text: '' } });
    l.annotations = [...(l.annotations ?? []), {
      text: run.label, xref: 'paper', yref: 'paper', x: 0.01, y: top, xanchor: 'left', yanchor: 'top', showarrow: false,
      font: { color }, bgcolor: cssVar('--card') || '#fff',
    }];
  });
  const bottom = n > 1 ? `y${n}` : 'y';
  whenPlotly((Plotly) => Plotly.react(div, data, finalize({ ...l, ...axes, xaxis: axis(l, { anchor: bottom, title: { text: 'time step t  (‖∂L/∂hₜ‖, log scale per row)' } }) }), PLOT_CONFIG));
}

/** plot-breakdown: ‖∂L_k/∂h_t‖ with a loss at every step vs at the end only, one colour scale. */
function drawBreakdown(div, breakdown) {
  const parts = [['every', 'a loss at every step'], ['end', 'a loss at the end only']];
  const logs = parts.map(([key]) => (breakdown[key]?.matrix ?? []).map((row) => nums(row).map((v) => (Number.isFinite(v) && v > 0 ? Math.log10(v) : null))));
  const all = logs.flat(2).filter((v) => v !== null);
  const zmin = all.length ? Math.min(...all) : -6;
  const zmax = all.length ? Math.max(...all) : 0;
  const l = layout({ height: PLOTS.height + 40, margin: { l: 64, r: 20, t: 44, b: 52 } });
  const colorscale = SCALES.backward.map((c, i, a) => [i / (a.length - 1), c]);
  const data = parts.map(([key], i) => {
    const part = breakdown[key] ?? {};
    const matrix = (part.matrix ?? []).map((row) => nums(row));
    const T = matrix[0]?.length ?? 0;
    return {
      type: 'heatmap', xaxis: i ? 'x2' : 'x', yaxis: i ? 'y2' : 'y', x: [...Array(T).keys()], y: part.ks ?? [],
      z: logs[i], text: matrix.map((row) => row.map((v) => fmt(v))), zmin, zmax, colorscale,
      showscale: i === 1, colorbar: { title: { text: 'log₁₀' }, thickness: 14 }, hoverongaps: false,
      hovertemplate: 'k=%{y}, t=%{x}: ‖∂Lₖ/∂hₜ‖ = %{text}<extra></extra>',
    };
  });
  const title = (key, text, x) => ({
    text: `${text}  (L = ${fmt(num(breakdown[key]?.loss), 4)})`, xref: 'paper', yref: 'paper', x, y: 1.02,
    xanchor: 'center', yanchor: 'bottom', showarrow: false,
  });
  whenPlotly((Plotly) => Plotly.react(div, data, finalize({
    ...l,
    annotations: [title('every', parts[0][1], 0.22), title('end', parts[1][1], 0.74)],
    xaxis: axis(l, { domain: [0, 0.44], title: { text: 'time step t' } }),
    yaxis: axis(l, { title: { text: 'loss step k' }, autorange: 'reversed' }),
    xaxis2: axis(l, { domain: [0.52, 0.96], title: { text: 'time step t' }, anchor: 'y2' }),
    yaxis2: axis(l, { anchor: 'x2', autorange: 'reversed', ...(breakdown.end?.ks?.length <= 12 ? { tickmode: 'array', tickvals: breakdown.end.ks } : {}) }),
  }), PLOT_CONFIG));
}

/** Turn a 422's detail into one line per problem ("configs 1 → hidden_size: …"). */
function errorLines(body, status) {
  if (status === 503) return ['The server is busy: try again in a moment.'];
  if (!Array.isArray(body?.detail)) return [String(body?.detail ?? `HTTP ${status}`)];
  return body.detail.map((d) => {
    const where = (Array.isArray(d.loc) ? d.loc.slice(1) : []).map((x) => (typeof x === 'number' ? `run ${x + 1}` : x)).join(' → ');
    return `${where ? `${where}: ` : ''}${String(d.msg ?? '').replace(/^Value error, /, '')}`;
  });
}

/**
 * Mount the compare panel into `container` (it redraws its plots when the look changes).
 * getConfig() is the base config; getModelId() (optional) an uploaded model's id; getModelIds() (optional)
 * the last two uploaded models stepped through (checkpoints compared on the first one's data); fields the config table.
 */
export function mountComparePanel(container, { getConfig, getModelId, getModelIds, fields = [] } = {}) {
  const choice = el('select', { 'data-testid': 'compare-vary', 'aria-label': 'What to vary' },
    CHOICES.map((c) => el('option', { value: c.id }, [c.text])));
  const customField = el('input', { type: 'text', 'data-testid': 'compare-field', placeholder: 'field, e.g. hidden_size', 'aria-label': 'Field to vary', size: 16 });
  const customValues = el('input', { type: 'text', 'data-testid': 'compare-values', placeholder: 'values, e.g. 8, 32, 128', 'aria-label': 'Values, comma separated', size: 20 });
  const custom = el('span', { class: 'compare-custom', hidden: true }, [customField, customValues]);
  const button = el('button', { type: 'button', class: 'primary', 'data-testid': 'compare-run' }, ['Compare']);
  const status = el('div', { class: 'compare-status', 'data-testid': 'compare-status', role: 'status', 'aria-live': 'polite' });
  const plotDecay = el('div', { class: 'plot', 'data-testid': 'plot-compare', id: 'plot-compare' });
  const plotProfiles = el('div', { class: 'plot', 'data-testid': 'plot-compare-profiles', id: 'plot-compare-profiles' });
  const plotBreakdown = el('div', { class: 'plot', 'data-testid': 'plot-breakdown', id: 'plot-breakdown' });
  const runCards = el('div', { class: 'compare-runs', 'data-testid': 'compare-runs' });
  const breakdownNote = el('p', { class: 'muted compare-note' });
  const results = el('div', { class: 'compare-results', hidden: true }, [
    el('div', { class: 'compare-grid' }, [
      el('div', {}, [el('h3', {}, ['How fast the gradient fades with distance']), plotDecay]),
      el('div', {}, [el('h3', {}, ['‖∂L/∂hₜ‖ of each run']), plotProfiles]),
    ]),
    runCards,
    el('h3', {}, ['Why a loss at every step hides vanishing gradients']),
    breakdownNote,
    plotBreakdown,
  ]);
  const root = el('div', { class: 'compare-panel', 'data-testid': 'compare-panel' }, [
    el('div', { class: 'compare-controls' }, [el('label', {}, [el('span', { class: 'muted' }, ['vary ']), choice]), custom, button, status]),
    results,
  ]);
  container.append(root);

  let last = null;   // the last answer (redrawn on theme changes)
  let panels = [];
  const chosen = {};  // what the inputs say: {vary, field, values}
  bindValue(choice, chosen, 'vary');
  bindValue(customField, chosen, 'field', (text) => text.trim());
  bindValue(customValues, chosen, 'values', parseValues);

  function refreshChoices() {
    custom.hidden = chosen.vary !== 'custom';
  }

  function baseConfig() {
    return compareBase(getConfig ? getConfig() : {}, fields);
  }

  /** The request body for the chosen comparison (null with a message when it cannot be built). */
  function request() {
    const c = CHOICES.find((x) => x.id === chosen.vary);
    if (c.model) {
      const id = getModelId?.();
      if (!id) { setStatus('Upload a model first ("Debug your own model") and step through it.', 'error'); return null; }
      return { configs: [{ model_id: id }, { model_id: id, cell: 'rnn_tanh', seed: 0 }, { model_id: id, cell: 'lstm', seed: 0 }, { model_id: id, cell: 'gru', seed: 0 }] };
    }
    if (c.checkpoints) {
      const ids = getModelIds?.() ?? [];
      if (ids.length < 2) { setStatus('Upload two models ("Debug your own model") and step through each.', 'error'); return null; }
      return checkpointRequest(ids[0], ids[1]);
    }
    if (c.custom) {
      const { field: name, values } = chosen;
      if (!name || values.length < 2) { setStatus('Name a field and give 2 to 4 values, separated by commas.', 'error'); return null; }
      return { base: baseConfig(), vary: { [name]: values } };
    }
    return { base: baseConfig(), vary: c.vary };
  }

  function setStatus(text, kind = '') {
    status.textContent = text;
    status.className = `compare-status ${kind}`;
  }

  function draw() {
    if (!last) return;
    drawDecay(plotDecay, last.runs);
    drawProfiles(plotProfiles, last.runs);
    if (last.breakdown) drawBreakdown(plotBreakdown, last.breakdown);
  }

  function show(answer) {
    last = answer;
    results.hidden = false;
    for (const p of panels) p.destroy();
    panels = [];
    runCards.replaceChildren();
    answer.runs.forEach((run, i) => {
      const card = el('div', { class: 'compare-run', 'data-testid': 'compare-run-card' }, [
        el('div', { class: 'compare-run-title' }, [el('span', { class: 'swatch', style: null }, []), run.label]),
        el('div', { class: 'muted compare-run-facts' }, [
          `${CELL_NAMES[run.cell] ?? run.cell} · T = ${run.T} · loss ${fmt(num(run.loss), 4)} · ×${fmt(num(run.vanishing?.factor))} per step (bound ×${fmt(num(run.vanishing?.bound))})`,
        ]),
      ]);
      card.querySelector('.swatch').style.background = COLORS.lines[i % COLORS.lines.length];
      runCards.append(card);
      const panel = mountDiagnosisPanel(card, {});
      panel.update(run);
      panels.push(panel);
    });
    const b = answer.breakdown;
    breakdownNote.textContent = b
      ? `${b.label}: the same network and data, two losses. Each row k is one loss term's gradient ‖∂Lₖ/∂hₜ‖ reaching step t. `
        + 'With a loss at every step every hₜ gets a large gradient from its own nearby term, so the total gradient looks healthy; '
        + 'with a loss at the end only, the early steps get nothing but the faded long-distance term.'
      : '';
    draw();
  }

  /** POST a comparison (the body of POST /api/compare) and draw its answer. */
  async function compare(body) {
    button.disabled = true;
    setStatus('Running the networks…');
    try {
      const response = await fetch('/api/compare', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const answer = await response.json().catch(() => null);
      if (!response.ok) { setStatus(errorLines(answer, response.status).join('\n'), 'error'); return null; }
      setStatus(`${answer.runs.length} runs compared.`, 'ok');
      show(answer);
      return answer;
    } catch (e) {
      setStatus(`The comparison failed: ${e?.message ?? e}`, 'error');
      return null;
    } finally {
      button.disabled = false;
    }
  }

  choice.addEventListener('change', refreshChoices);
  button.addEventListener('click', () => {
    refreshChoices();
    const body = request();
    if (body) compare(body);
  });
  onLookChange(draw);
  refreshChoices();
}
