// Downloads of the current run: the whole trace from the server (.json or .npz) and a plot as PNG.

import * as charts from './charts.js';

/** Download the run's whole trace: .json (POST /api/trace, or an uploaded model's
 * /api/models/{id}/trace) or .npz (POST /api/trace.npz). Returns null, or why the server refused. */
export async function downloadTrace(format, { config, source, modelId }) {
  const model = source === 'model';
  const url = model ? `/api/models/${encodeURIComponent(modelId)}/trace` : format === 'npz' ? '/api/trace.npz' : '/api/trace';
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: model ? '{}' : JSON.stringify(config) });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    return `Export refused (${response.status}): ${JSON.stringify(body.detail ?? body).slice(0, 300)}`;
  }
  const blob = await response.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `unrolled-${config.preset ?? config.cell ?? 'trace'}-seed${config.seed ?? 0}.${format}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  return null;
}

/** Save plot `id` as PNG; returns null, or {text, kind} when it cannot (nothing drawn, or it failed). */
export async function downloadPlot(id, preset) {
  const saving = charts.downloadPng(document.getElementById(id), `${id}-${preset ?? 'custom'}`);
  if (saving === false) return { text: 'That plot has nothing to export yet.', kind: 'info' };
  try {
    await saving;
    return null;
  } catch (e) {
    return { text: `PNG export failed: ${e?.message ?? e}`, kind: 'error' };
  }
}
