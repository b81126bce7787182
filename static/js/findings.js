// What the engine's diagnosis found, as a panel (findings one click from their node and step, the
// recurrent weights' σmax and spectral radii) and as health flags on the timeline strip.
// Every number comes from the server; this module only draws.
//
//   import { mountDiagnosisPanel, drawHealthFlags } from './findings.js';
//   const panel = mountDiagnosisPanel(container, { onSelect(node, t) { ... } });
//   panel.update(summary)      // a summary message or the store's summary (same object: no redraw)
//   drawHealthFlags(overviewSvg, summary.diagnosis, rows)   // the overview strip calls it

import { fmt, num } from './format.js';
import { el } from './elements.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const SEVERITY_WORD = { problem: 'problem', warning: 'warning', info: 'info' };   // info: a measurement (the memory horizon)

/** "h_l0" → "h (layer 1)", "h_l1_reverse" → "h (layer 2 ←)". */
function nodeWords(node) {
  const m = /^h_l(\d+)(_reverse)?$/.exec(node ?? '');
  return m ? `layer ${Number(m[1]) + 1}${m[2] ? ' ←' : ''}` : String(node ?? '');
}

/** Where a finding happens, in words: "layer 1 · worst at t = 50 · 12 steps". */
function whereWords(f) {
  const parts = [];
  if (f.node) parts.push(nodeWords(f.node));
  const unit = f.node === 'h_tree' ? 'node' : 'step';   // issue 15: a tree's finding is at a node (post-order k)
  if (f.t !== null && f.t !== undefined) parts.push(unit === 'node' ? `worst at node ${f.t}` : `worst at t = ${f.t}`);
  const n = Array.isArray(f.steps) ? f.steps.length : 0;
  if (n) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

function findingItem(f, onSelect) {
  const severity = SEVERITY_WORD[f.severity] ?? 'warning';
  const clickable = typeof onSelect === 'function' && typeof f.node === 'string' && f.node.startsWith('h_');
  const item = el(clickable ? 'button' : 'div', {
    type: clickable ? 'button' : null,
    class: `debug-finding severity-${severity}`,
    'data-testid': 'finding', 'data-kind': f.kind ?? '', 'data-severity': severity,
    'data-node': f.node ?? '', 'data-t': f.t ?? '',
    title: clickable ? `Show ${f.node}${f.t !== null && f.t !== undefined ? ` at t = ${f.t}` : ''} in the graph` : null,
  }, [
    el('span', { class: 'finding-head' }, [
      el('span', { class: `severity-badge severity-${severity}` }, [severity]),
      el('span', { class: 'finding-title' }, [f.title ?? f.kind ?? 'finding']),
    ]),
    f.detail ? el('span', { class: 'finding-detail' }, [f.detail]) : null,
    el('span', { class: 'finding-where' }, [whereWords(f)]),
  ]);
  if (clickable) item.addEventListener('click', () => onSelect(f.node, f.t ?? (f.steps?.[0] ?? 0)));
  return item;
}

function spectraTable(spectra) {
  const nodes = Object.keys(spectra ?? {});
  if (!nodes.length) return null;
  const rows = nodes.map((node) => {
    const s = spectra[node] ?? {};
    // radius_W → ρ(W); radius_f → ρ(W_f): the spectral radius of that gate's recurrent block
    const radii = Object.keys(s).filter((k) => k.startsWith('radius_')).map((k) => {
      const gate = k.slice('radius_'.length);
      return el('span', { class: 'radius' }, ['ρ(W', gate === 'W' ? null : el('sub', {}, [gate]), `) = ${fmt(num(s[k]))}`]);
    });
    return el('tr', { 'data-node': node }, [
      el('th', { scope: 'row' }, [nodeWords(node)]),
      el('td', { class: 'num' }, [fmt(num(s.sigma_max))]),
      el('td', { class: 'num radii' }, radii.length ? radii : ['–']),
    ]);
  });
  return el('table', { class: 'debug-spectra', 'data-testid': 'spectra' }, [
    el('caption', {}, ['Recurrent weights: σmax > 1 lets gradients grow, ρ < 1 makes repeated steps shrink']),
    el('thead', {}, [el('tr', {}, [el('th', {}, ['']), el('th', {}, ['σmax(W)']), el('th', {}, ['spectral radii'])])]),
    el('tbody', {}, rows),
  ]);
}

/**
 * Mount the diagnosis panel into `container`; onSelect(node, t) when a finding is clicked (omit it
 * for a read-only list). Returns { update(summary), clear() }.
 */
export function mountDiagnosisPanel(container, { onSelect } = {}) {
  const root = el('div', { class: 'debug-diagnosis', 'data-testid': 'diagnosis-panel' });
  container.append(root);
  let shown;

  /** Show a summary's diagnosis and spectra (a summary already shown is not redrawn). */
  function update(summary) {
    if (summary === shown) return;
    shown = summary;
    root.replaceChildren();
    if (!summary) return;
    const findings = Array.isArray(summary.diagnosis) ? summary.diagnosis : [];
    const problems = findings.filter((f) => f.severity === 'problem').length;
    const infos = findings.filter((f) => f.severity === 'info').length;
    const warnings = findings.length - problems - infos;
    if (!problems && !warnings) {
      root.append(el('div', { class: 'debug-healthy', 'data-testid': 'diagnosis-healthy' }, ['✓ No problems found']));
      for (const f of findings) root.append(findingItem(f, onSelect));
    } else {
      const counts = [problems ? `${problems} problem${problems === 1 ? '' : 's'}` : '', warnings ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '']
        .filter(Boolean).join(', ');
      root.append(el('div', { class: 'debug-count muted' }, [`${counts}${onSelect ? ' · click one to see it in the graph' : ''}`]));
      for (const f of findings) root.append(findingItem(f, onSelect));
    }
    const table = spectraTable(summary.spectra);
    if (table) root.append(table);
  }

  return {
    update,
    clear() { update(null); },
    destroy() { root.remove(); },
  };
}

/** The one-line verdict beside the story: the problems and warnings by title, or "no problems found"
 * followed by the measurements (severity info, e.g. the memory horizon), which are not problems. */
export function findingsVerdict(diagnosis) {
  const findings = Array.isArray(diagnosis) ? diagnosis : [];
  const title = (f) => f.title ?? f.kind;
  const issues = findings.filter((f) => f.severity !== 'info');
  if (issues.length) return { healthy: false, text: `Diagnosis: ${issues.map(title).join(' · ')}` };
  const measured = findings.filter((f) => f.severity === 'info').map(title);
  return { healthy: true, text: `Diagnosis: no problems found.${measured.length ? ` ${measured.join(' · ')}.` : ''}` };
}

/**
 * Mark every finding's `steps` on a timeline <svg> whose viewBox is "0 0 T rows" (the overview
 * strip): a band along its top edge, amber for warnings, magenta for problems (drawn last, on top).
 * Returns the <g> of the flags (null when there are none), for the caller to remove.
 */
export function drawHealthFlags(svg, diagnosis, rows) {
  const findings = (Array.isArray(diagnosis) ? diagnosis : []).filter((f) => f.severity !== 'info');
  if (!findings.length) return null;
  const height = rows > 0 ? rows : 1;
  const g = document.createElementNS(SVG_NS, 'g');
  g.setAttribute('class', 'health-flags');
  g.setAttribute('pointer-events', 'none');
  const ordered = [...findings].sort((a, b) => (a.severity === 'problem') - (b.severity === 'problem'));
  for (const f of ordered) {
    const severity = SEVERITY_WORD[f.severity] ?? 'warning';
    const steps = Array.isArray(f.steps) && f.steps.length ? f.steps : (f.t !== null && f.t !== undefined ? [f.t] : []);
    for (const t of steps) {
      const r = document.createElementNS(SVG_NS, 'rect');
      r.setAttribute('class', `health-flag severity-${severity}`);
      r.setAttribute('data-testid', 'health-flag');
      r.setAttribute('data-t', String(t));
      r.setAttribute('data-kind', f.kind ?? '');
      r.setAttribute('x', String(t));
      r.setAttribute('y', '0');
      r.setAttribute('width', '1');
      r.setAttribute('height', String(height * 0.34));
      const title = document.createElementNS(SVG_NS, 'title');
      title.textContent = `${f.title ?? f.kind} (t = ${t})`;
      r.append(title);
      g.append(r);
    }
  }
  svg.append(g);
  return g;
}
