// The words around the graph that depend on the run: the note naming a usage pattern's special
// edges, the story when the server sends none, and which export buttons a run allows (and why).
// Pure: main.js renders what these return.

import { patternOf } from './graph_layout.js';
import { fmt } from './format.js';

/** The lines above the graph naming the pattern's special edges (generation, Elman context
 * units, the encoder–decoder's context); none for a plain run. */
export function patternNotes(meta) {
  const pattern = patternOf(meta);
  const notes = [];
  if (pattern.feedback) {
    notes.push(pattern.segments ? "Test-time decoding: the decoder's ŷ(t) is fed back as x(t+1) (dashed arrows)"
      : 'Generation: each ŷ(t) is fed back as x(t+1) (dashed arrows)');
  }
  if (pattern.cut) notes.push('Elman context units: no gradient through W (dashed)');
  if (pattern.segments) notes.push(`Encoder–decoder: the encoder's last state (t=${pattern.segments[0].stop - 1}) is the context that starts the decoder; Uᴱ, Wᴱ are the encoder's weights, Uᴰ, Wᴰ, V the decoder's`);
  return notes;
}

/** Whether a run can be compared with its teacher-forced twin (a generation run from a config). */
export function teacherComparable(meta) {
  return Boolean(meta?.config) && patternOf(meta).feedback;
}

/** The story beside the graph when the server sends none ({source, preset} of the run). */
export function storyFallback(meta, { source, preset, presets }) {
  if (source === 'model' || meta.model) return 'Your own model, unrolled on your input: step through it, and read the diagnosis for what its gradients do.';
  if (source === 'trained') return 'The network the training panel trained, on the same task.';
  if (meta.config === null) return 'A trace recorded elsewhere, replayed step by step.';
  return presets[preset]?.story ?? 'A custom config: change any field and the run starts again.';
}

/** Which of the permalink and export buttons a run allows: {link, json, npz} each {disabled, why?}.
 * `loaded`: a trace loaded from disk. */
export function exportButtons({ source, loaded }) {
  // the URL cannot hold uploaded weights; the server recomputes exports from a config (or an
  // uploaded model's id, as JSON), which a trained or loaded network does not have
  const exportable = !loaded && source !== 'trained';
  // an encoder–decoder exports too: its .npz holds the chain (both halves' weights and segments)
  const npz = { disabled: !exportable || source === 'model' };
  return { link: { disabled: source === 'model' }, json: { disabled: !exportable }, npz };
}

/** The status line under the scrubber: where the cursor is, what has arrived, the final loss. */
export function statusLine(store, cursor, status) {
  if (!store.meta) return status === 'error' ? 'error' : 'press Run';
  const ev = store.get(cursor);
  const parts = [ev ? `${ev.phase} · event ${cursor + 1} of ${store.total}` : `ready · ${store.total} events`];
  if (store.count < store.total) parts.push(`${store.count} received`);
  if (status === 'done') parts.push(`done · L = ${store.summary ? fmt(store.summary.loss, 4) : '…'}`);
  return parts.join(' · ');
}

const PAUSE_REASONS = {
  nonfinite: 'a NaN/∞ appeared',
  grad_below: 'the gradient norm fell below the threshold',
  grad_above: 'the gradient norm rose above the threshold',
};

/** The banner a run's notice calls for (run_state.js): {text, kind}, null to hide it; `paused` is
 * the run's breakpoint stop {reason, seq, detail}. */
export function noticeBanner(notice, paused) {
  if (notice === 'paused') {
    const { seq, reason, detail } = paused;
    return { text: `Paused at event ${seq + 1}: ${PAUSE_REASONS[reason] ?? reason}. ${detail ?? ''}`, kind: 'paused' };
  }
  if (notice === 'closed') return { text: 'The connection to the server closed; press Run to start again.', kind: 'error' };
  return null;
}
