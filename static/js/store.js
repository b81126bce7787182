// Keeps every received event of the current run, indexed by seq, node, t and phase, so that
// stepping back and scrubbing never ask the server for anything.

import { num, nums } from './format.js';
import { scheduleOf, phaseOf, firstBackward } from './schedule.js';
import { decodeTopologySummary } from './topology_summary.js';
import { eventValues } from './wire_decode.js';   // issue 17

/** Turn a wire event into one with JS numbers everywhere (NaN/Infinity strings decoded once). */
function decodeEvent(msg) {
  const values = eventValues(msg, nums);   // issue 17: plain lists or the compact "f32" encoding
  const norms = {};
  for (const [name, v] of Object.entries(msg.norms ?? {})) norms[name] = num(v);
  return {
    seq: msg.seq, phase: msg.phase, node: msg.node, t: msg.t,
    layer: msg.layer, direction: msg.direction, norm: num(msg.norm), values, norms,
  };
}

function decodeSummary(msg) {
  const mapSeries = (obj) => Object.fromEntries(Object.entries(obj ?? {}).map(([k, v]) => [k, nums(v)]));
  const vanishing = {};
  for (const [node, v] of Object.entries(msg.vanishing ?? {})) {
    vanishing[node] = {
      k: v.k, distance: nums(v.distance), norms: nums(v.norms),
      factor: num(v.factor), bound: num(v.bound), sigmaMax: num(v.sigma_max),
    };
  }
  const flow = {};
  for (const [node, f] of Object.entries(msg.flow ?? {})) flow[node] = { ks: f.ks ?? [], matrix: nums(f.matrix ?? []) };
  const gradNorms = Object.fromEntries(Object.entries(msg.grad_norms ?? {}).map(([k, v]) => [k, num(v)]));
  return {
    loss: num(msg.loss), lossT: nums(msg.loss_t), gradientNorms: mapSeries(msg.gradient_norms),
    jacobianNorms: mapSeries(msg.jacobian_norms), contributions: mapSeries(msg.grad_contributions),
    gradNorms, vanishing, flow,
    diagnosis: Array.isArray(msg.diagnosis) ? msg.diagnosis : [],
    spectra: msg.spectra ?? {},
    cellWeights: Object.fromEntries(Object.entries(msg.cell_weights ?? {}).map(([k, v]) => [k, nums(v)])),   // e.g. the peepholes
    ...decodeTopologySummary(msg),   // issue 15: a tree's depth profile, a feedback net's fed edge
  };
}

/** Every event of one run plus the run's meta and summary. */
export class EventStore {
  constructor() {
    this.runId = 0;
    this.reset(null);
  }

  /** Forget everything and start a run described by meta (null before any run). */
  reset(meta) {
    this.runId += 1;            // lets views tell two runs with identical shapes apart
    this.meta = meta;
    this.events = [];
    this.byKey = new Map();     // "phase|node|t" → event
    this.byNode = new Map();    // node → [events] in arrival order
    this.summary = null;
    this.bwdLo = Infinity;      // finite positive backward norms seen so far (log colour domain)
    this.bwdHi = 0;
    this.fwdHi = 0;             // largest finite forward h norm seen so far
    this.embHi = 0;             // largest finite embedding norm ‖e(t)‖ seen so far
    this.schedule = scheduleOf(meta);   // the engine's event schedule: nothing here counts events
  }

  /** How many events the whole run has (from the schedule). */
  get total() { return this.schedule.total; }

  /** How many forward events the run has (the seq of its first backward event). */
  get forwardTotal() { return firstBackward(this.schedule); }

  /** Store one wire event; returns the decoded event. */
  add(msg) {
    const ev = decodeEvent(msg);
    this.events[ev.seq] = ev;
    this.byKey.set(`${ev.phase}|${ev.node}|${ev.t}`, ev);
    if (!this.byNode.has(ev.node)) this.byNode.set(ev.node, []);
    this.byNode.get(ev.node).push(ev);
    if (Number.isFinite(ev.norm)) {
      if (ev.phase === 'backward' && ev.norm > 0) {
        this.bwdLo = Math.min(this.bwdLo, ev.norm);
        this.bwdHi = Math.max(this.bwdHi, ev.norm);
      } else if (ev.phase === 'forward' && ev.node.startsWith('h_')) {
        this.fwdHi = Math.max(this.fwdHi, ev.norm);
        // issue 20: the embedding row e(t) gets its own scale (its sizes are not h's)
        if (Number.isFinite(ev.norms?.e)) this.embHi = Math.max(this.embHi, ev.norms.e);
      }
    }
    return ev;
  }

  /** Store the run's summary (decoded). */
  setSummary(msg) { this.summary = decodeSummary(msg); }

  /** Number of events received so far. */
  get count() { return this.events.length; }

  /** The event with this seq (undefined when not received). */
  get(seq) { return this.events[seq]; }

  /** The event of (phase, node, t), if it has been received and is at or before `cursor`. */
  find(phase, node, t, cursor = Infinity) {
    const ev = this.byKey.get(`${phase}|${node}|${t}`);
    return ev && ev.seq <= cursor ? ev : undefined;
  }

  /** The phase the run is in at `cursor` ("forward" before any event), by the schedule. */
  phaseAt(cursor) {
    return phaseOf(this.schedule, cursor) ?? 'backward';
  }

  /** (T,) series of one node's event norms in one phase, null where not (yet) seen at `cursor`. */
  normSeries(phase, node, cursor = Infinity) {
    const T = this.meta?.T ?? 0;
    const out = new Array(T).fill(null);
    const real = Math.max(...(this.meta?.lengths ?? [T]));    // later steps are padding for every element
    for (const ev of this.byNode.get(node) ?? []) {
      if (ev.phase === phase && ev.seq <= cursor && ev.t < real) out[ev.t] = ev.norm;
    }
    return out;
  }

  /** (T × units) matrix of one value (e.g. "h", "f", "dh") of a node, null rows where not seen at `cursor`. */
  valueMatrix(phase, node, name, cursor = Infinity) {
    const T = this.meta?.T ?? 0;
    const rows = new Array(T).fill(null);
    const real = Number.isInteger(this.meta?.length) ? this.meta.length : T;   // the shown element's padding: gaps
    for (const ev of this.byNode.get(node) ?? []) {
      if (ev.phase === phase && ev.seq <= cursor && ev.values[name] && ev.t < real) rows[ev.t] = ev.values[name];
    }
    return rows;
  }

  /** Smallest and largest finite positive backward norm received so far (the log colour domain). */
  backwardDomain() {
    if (!(this.bwdHi > 0)) return [1e-6, 1];
    // at least two decades, so that nearly equal norms do not look like a huge spread
    return [Math.min(this.bwdLo, this.bwdHi / 100), this.bwdHi];
  }

  /** Largest forward h value per unit (norm / √H) so far: the forward colour scale's top. */
  /** The top of the embedding row's colour scale (per-unit size of the largest ‖e(t)‖ so far). */
  embeddingScale() {
    const E = this.meta?.embedding_size ?? 1;
    return Math.max(1e-12, this.embHi / Math.sqrt(E));
  }

  forwardScale() {
    const H = this.meta?.hidden_size ?? 1;
    return Math.max(1e-12, this.fwdHi / Math.sqrt(H));
  }
}
