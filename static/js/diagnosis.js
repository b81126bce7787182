// The diagnosis card: what the engine found wrong (or right) with the run, each finding one click
// from its node in the graph, plus the recurrent weights' largest singular values.

import { fmt } from './format.js';

function div(cls, text, parent) {
  const d = document.createElement('div');
  d.className = cls;
  d.textContent = text;
  parent.appendChild(d);
  return d;
}

/** Fill `container` from the store's summary; onPick(node, t) when a finding is clicked. */
export function renderDiagnosis(container, store, onPick) {
  const summary = store.summary;
  const key = `${store.runId}|${Boolean(summary)}`;
  if (container.dataset.key === key) return;
  container.dataset.key = key;
  container.replaceChildren();
  const card = container.closest('.card');
  const findings = summary?.diagnosis ?? [];
  const spectra = summary?.spectra ?? {};
  if (card) card.hidden = !summary || (!findings.length && !Object.keys(spectra).length);
  if (!summary) return;
  if (!findings.length) div('muted', 'No problem found in this run.', container);
  for (const f of findings) {
    const item = document.createElement('button');
    item.type = 'button';
    item.className = `finding severity-${f.severity ?? 'info'}`;
    div('finding-title', f.title ?? f.kind ?? 'finding', item);
    if (f.detail) div('finding-detail', f.detail, item);
    item.title = f.node && f.t !== null && f.t !== undefined ? `show ${f.node} at t = ${f.t}` : '';
    item.addEventListener('click', () => { if (f.node?.startsWith('h_')) onPick(f.node, f.t ?? 0); });
    container.appendChild(item);
  }
  const lines = Object.entries(spectra).map(([node, s]) => `${node}: σmax(W) = ${fmt(Number(s.sigma_max))}`);
  if (lines.length) div('muted spectra', lines.join('\n'), container);
}
