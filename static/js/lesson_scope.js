// What a lesson's placeholders can read, built from the event store of a finished run (pure: no
// DOM), and where a scene's `step` puts the cursor.
//
//   fwd.<node>[t].<value>[i]   a forward event's value (fwd.h_l0[3].h[0], fwd.logits[2].probs[1],
//                              fwd.loss[4].loss[0]); .norm is the event's norm
//   bwd.<node>[t].<value>[i]   a backward event's (bwd.h_l0[3].dh[0], bwd.logits[5].dlogits[2])
//   now.<value>, or the bare value name (h, dh, dlogits, …; aliases dL_dh, dL_dc, dL_do, y_hat, o)
//                              the event at the cursor; t, node, norm are the cursor's too
//   summary.<key>              the run's summary under its wire names (loss, loss_t, gradient_norms,
//                              jacobian_norms, grad_contributions, grad_norms, vanishing.<node>.factor
//                              / .bound / .sigma_max / .k, spectra, diagnosis)
//                              (flow.<node>.matrix[j][t]: ‖∂L_ks[j]/∂h_t‖)
//   meta.<key>, T              the run's meta (T, hidden_size, input_labels, …)
//   target[t], y               the class id of step t's target (y: the cursor's step)

import { phaseEdge } from './schedule.js';

const ALIASES = { dL_dh: 'dh', dL_dc: 'dc', dL_do: 'dlogits', y_hat: 'probs', o: 'logits' };

function eventsByNode(store, phase) {
  const out = {};
  for (const ev of store.events) {
    if (!ev || ev.phase !== phase) continue;
    out[ev.node] ??= [];
    out[ev.node][ev.t] = { ...ev.values, norm: ev.norm, norms: ev.norms, seq: ev.seq };
  }
  return out;
}

function summaryScope(summary) {
  if (!summary) return undefined;
  const vanishing = Object.fromEntries(Object.entries(summary.vanishing).map(([node, v]) => [node, {
    k: v.k, distance: v.distance, norms: v.norms, factor: v.factor, bound: v.bound, sigma_max: v.sigmaMax,
  }]));
  return {
    loss: summary.loss, loss_t: summary.lossT, gradient_norms: summary.gradientNorms,
    jacobian_norms: summary.jacobianNorms, grad_contributions: summary.contributions,
    grad_norms: summary.gradNorms, vanishing, spectra: summary.spectra, diagnosis: summary.diagnosis,
    flow: summary.flow,
  };
}

/** The class id of each step's target (cross-entropy runs with named outputs), null where none. */
function targetIds(meta) {
  const labels = meta?.output_labels ?? [];
  return (meta?.target_labels ?? []).map((label) => (label === null ? null : labels.indexOf(label)));
}

/** The scope of a scene: the store's events and summary, with the event at `cursor` as `now`. */
export function sceneScope(store, cursor) {
  const ev = store.get(cursor);
  const y = targetIds(store.meta);
  const now = ev ? { ...ev.values, norm: ev.norm, norms: ev.norms, t: ev.t, node: ev.node, phase: ev.phase, seq: ev.seq, y: y[ev.t] } : {};
  for (const [alias, name] of Object.entries(ALIASES)) if (name in now) now[alias] = now[name];
  return {
    ...now,
    now,
    fwd: eventsByNode(store, 'forward'),
    bwd: eventsByNode(store, 'backward'),
    summary: summaryScope(store.summary),
    meta: store.meta ?? {},
    T: store.meta?.T,
    target: y,
  };
}

/**
 * The seq a scene's `step` shows: "end" (default; the last event), "start" (before the first), a
 * seq, {phase, node, t} (that event) or {phase, edge: "start"|"end"} (a phase's first or last event).
 * Returns null when the run has no such event.
 */
export function stepSeq(step, store) {
  const total = store.total;
  if (step === undefined || step === 'end') return total - 1;
  if (step === 'start') return -1;
  if (typeof step === 'number') return step >= -1 && step < total ? step : null;
  if (step.seq !== undefined) return stepSeq(step.seq, store);
  if (step.edge) return phaseEdge(store.schedule, step.phase, step.edge);
  const ev = store.find(step.phase ?? 'forward', step.node ?? store.meta?.nodes?.[0], step.t);
  return ev ? ev.seq : null;
}

/** A config as a canonical string: two scenes with equal configs share one run. */
export function configKey(config) {
  const keys = Object.keys(config ?? {}).filter((k) => config[k] !== undefined && config[k] !== null).sort();
  return JSON.stringify(keys.map((k) => [k, config[k]]));
}
