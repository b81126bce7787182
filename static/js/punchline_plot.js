// The punchline card (issue 20): ‖∂L/∂h_t‖ over t on a log axis, filling in as backward events
// arrive, with its fitted factor per step back; and, one click away, a tanh RNN, an LSTM and a GRU
// on the same data drawn on the same plot (POST /api/compare).
//
//   const punch = mountPunchline({ getConfig, fields });
//   punch.draw(store, cursor)   // after each event (cheap: keyed by what it shows)

import { COLORS, cssVar } from './theme/config.js';
import { fitFactor, fitLine, factorWords, logSafe } from './punchline.js';
import { compareBase } from './compare.js';
import { fmt, nums } from './format.js';
import { look } from './look.js';

import { plotlyLoaded, whenPlotlyLatest } from './plotly_loader.js';   // issue 17: plotly is loaded after first paint
import { logSketchSvg } from './plot_sketch.js';
import { drawDepthPlot } from './plots_tree.js';

const CELLS = ['rnn_tanh', 'lstm', 'gru'];
const CELL_WORDS = { rnn_tanh: 'tanh RNN', lstm: 'LSTM', gru: 'GRU' };
const $ = (id) => document.getElementById(id);

/** One line of the plot and its dashed fit, labelled with the fitted factor. */
function traces(name, series, color, dash = 'solid') {
  const y = logSafe(series);
  const fit = fitFactor(y);
  const line = fitLine(fit);
  const label = fit ? `${name} ${factorWords(fit).split(':')[0]}` : name;
  return {
    fit,
    data: [
      { type: 'scatter', mode: 'lines+markers', name: label, x: y.map((_, t) => t), y, connectgaps: false,
        line: { color, width: 3, dash }, marker: { size: 6 }, hovertemplate: `${name} t=%{x}: %{y:.3g}<extra></extra>` },
      { type: 'scatter', mode: 'lines', name: `${name} fit`, x: line.x, y: line.y, showlegend: false, hoverinfo: 'skip',
        line: { color, width: 1.5, dash: 'dash' } },
    ],
  };
}

/** Mount the card's drawing and its compare button; getConfig() is the page's config. */
export function mountPunchline({ getConfig, fields }) {
  const div = $('punchline');
  const factor = $('punchline-factor');
  const button = $('compare-cells');
  let key = '';
  let comparison = null;   // {runId, runs: [{label, series}]} of the run it was asked for
  let lastStore = null;

  async function compareCells() {
    const store = lastStore;
    if (!store?.meta) return;
    const runId = store.runId;
    button.disabled = true;
    factor.textContent = 'Running a tanh RNN, an LSTM and a GRU on the same data…';
    try {
      const body = { base: compareBase(getConfig(), fields), vary: { cell: CELLS } };
      delete body.base.preset;
      const response = await fetch('/api/compare', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const answer = await response.json();
      if (!response.ok) throw new Error(typeof answer.detail === 'string' ? answer.detail : `HTTP ${response.status}`);
      comparison = {
        runId,
        runs: answer.runs.map((run, i) => ({
          label: CELL_WORDS[CELLS[i]] ?? run.label ?? run.cell,
          series: nums(run.gradient_norms?.[run.node] ?? []),
        })),
      };
    } catch (err) {
      comparison = { runId, error: String(err.message ?? err) };
    } finally {
      button.disabled = false;
      key = '';
      draw(store, Infinity);
    }
  }
  button.addEventListener('click', compareCells);

  /** Draw the run's ‖∂L/∂h_t‖ (first layer) seen up to `cursor`, or the three cells when compared. */
  function draw(store, cursor) {
    lastStore = store;
    const meta = store.meta;
    if (!meta) return;
    div.hidden = false;
    showTree(Boolean(meta.tree));
    if (meta.tree) { drawTree(store, meta); return; }
    const node = meta.nodes[0];
    const series = store.normSeries('backward', node, cursor);
    const seen = series.filter((v) => v !== null).length;
    const compared = comparison?.runId === store.runId ? comparison : null;
    const { theme, present } = look();
    const k = `${store.runId}|${seen}|${compared ? compared.runs?.length ?? 'error' : ''}|${theme}|${present}|${div.clientHeight}`;
    if (k === key) return;
    key = k;
    const parts = compared?.runs
      ? compared.runs.map((run, i) => traces(run.label, run.series, COLORS.lines[i]))
      : [traces(meta.nodes.length > 1 ? 'layer 1' : 'this run', series, COLORS.lines[0])];
    const data = parts.flatMap((p) => p.data);
    const ink = cssVar('--ink') || '#222';
    const grid = cssVar('--grid') || '#ddd';
    const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true };
    const empty = !data.some((d) => d.y.some((v) => v !== null));
    const emptyText = 'fills in as the backward pass arrives';
    if (!plotlyLoaded()) {   // a plain-SVG sketch until plotly has loaded (a fast run ends before it has)
      div.innerHTML = logSketchSvg(data.map((d) => ({ x: d.x, y: d.y, color: d.line.color, dash: d.line.dash, width: d.line.width })), {
        width: div.clientWidth, height: Math.max(160, div.clientHeight || 240), xMax: meta.T - 1, ink, grid,
        muted: cssVar('--muted') || '#777', fontSize: present ? 17 : 13, yTitle: '‖∂L/∂hₜ‖', emptyText,
      });
    }
    whenPlotlyLatest(div, (Plotly) => { div.querySelector(':scope > .plot-sketch')?.remove(); return Plotly.react(div, data, {
      height: Math.max(160, div.clientHeight || 240),
      margin: { l: 56, r: 10, t: 6, b: 40 },
      paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)',
      font: { size: present ? 17 : 13, color: ink, family: 'inherit' },
      showlegend: Boolean(compared?.runs), legend: { orientation: 'h', y: 1.02, yanchor: 'bottom', x: 0 },
      xaxis: { ...axis, title: { text: 'time step t' }, range: [-0.5, meta.T - 0.5] },
      yaxis: { ...axis, type: 'log', exponentformat: 'power', title: { text: '‖∂L/∂hₜ‖' }, visible: !empty },
      annotations: empty ? [{ text: emptyText, showarrow: false, x: 0.5, y: 0.5, xref: 'paper', yref: 'paper', font: { color: cssVar('--muted') || '#777' } }] : [],
    }, { displaylogo: false, responsive: true, displayModeBar: false }); });
    if (compared?.error) factor.textContent = `Comparison failed: ${compared.error}`;
    else if (compared) factor.textContent = parts.map((p, i) => `${compared.runs[i].label} ${factorWords(p.fit).replace(/ \(fit.*$/, '')}`).join(' · ');
    else factor.textContent = `Fitted factor per step: ${factorWords(parts[0].fit)}`;
    factor.dataset.factor = parts[0].fit ? String(parts[0].fit.factor) : '';
  }

  /** A recursive net's punchline: the gradient by depth beside a chain's per step (plots_tree.js's
   * drawing), drawn once the summary has arrived; the factors in words below it. */
  function drawTree(store, meta) {
    const s = store.summary;
    const k = `tree|${store.runId}|${Boolean(s?.depthProfile)}|${look().theme}|${look().present}|${div.clientHeight}`;
    if (k === key) return;
    key = k;
    drawDepthPlot(div, { store, meta }, true);
    const profile = s?.depthProfile;
    const chain = s?.chainComparison;
    factor.textContent = !profile ? 'Appears when the backward pass is complete.'
      : `Tree (circles): ×${fmt(profile.factor)} per level over ${meta.tree.height} levels`
        + (chain ? ` · a chain (squares): ×${fmt(chain.factor)} per step over ${chain.steps - 1} steps` : '');
    factor.dataset.factor = profile ? String(profile.factor) : '';
  }

  /** The card's heading and compare button for a tree (depth, no cells to compare) or a chain. */
  function showTree(tree) {
    const h2 = div.closest('.punchline-card')?.querySelector('h2');
    if (h2) {
      if (h2.dataset.chainHeading === undefined) h2.dataset.chainHeading = h2.innerHTML;
      h2.innerHTML = tree ? '‖∂L/∂h‖ by depth: tree vs chain' : h2.dataset.chainHeading;
    }
    button.hidden = tree;
  }

  return { draw };
}
