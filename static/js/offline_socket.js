// The socket of a page that has no server (an exported page, a notebook's viewer): it plays runs
// recorded by server/export_record.py — meta, every event, summary, done — with the server's own
// pacing rules (server/sockets/session.py): "step" sends one event, "play" streams them `delay_ms`
// apart, "pause" is answered {type: "paused", reason: "pause", seq}, a breakpoint stops the stream
// at its first crossing per (kind, node) (breakpoints.js, the same rule). It has TraceSocket's
// interface, so main.js and everything after it cannot tell the two apart. No DOM here.

import { judgeEvent } from './breakpoints.js';
import { num } from './format.js';
import { configKey } from './lesson_scope.js';

export const RECORDING_ONLY = 'This page is a recording: it replays the runs it holds and cannot compute a new one '
  + '(another config, training, comparing or your own model need the server: pip install unrolled; unrolled serve).';

function sameValue(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * The recording a start message asks for: for `source` "loaded" (or no config) the recorded trace
 * file; else the one recorded for exactly this config (a lesson scene's), or else the first whose
 * resolved config agrees with every field given. null when the page holds no such run.
 */
export function findRecording(recordings, { config, source }) {
  if (source === 'trained' || source === 'model') return null;
  const given = Object.entries(config ?? {}).filter(([, v]) => v !== undefined && v !== null);
  if (source === 'loaded' || !given.length) return recordings.find((r) => !r.meta.config) ?? (given.length ? null : recordings[0] ?? null);
  const key = configKey(config);
  return recordings.find((r) => r.request && configKey(r.request) === key)
    ?? recordings.find((r) => r.meta.config && given.every(([k, v]) => sameValue(r.meta.config[k], v)))
    ?? null;
}

/** TraceSocket's interface over recorded runs (`offline.recordings`). */
export class OfflineSocket {
  constructor(offline, { onMessage, onClose }) {
    this.recordings = offline.recordings ?? [];
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.generation = 0;
    this.run = null;        // {rec, next, playing, delay, fired, breaks}
    this.timer = null;
  }

  /** Start a recorded run (see findRecording); an `error` message when the page does not hold it. */
  start({ config, source, mode, delayMs, breakpoints }) {
    this.close();
    const generation = this.generation;
    const rec = findRecording(this.recordings, { config, source });
    this.run = { rec, next: 0, playing: mode === 'play', delay: delayMs ?? 0, fired: new Set(), breaks: [...(breakpoints ?? [])] };
    this.defer(generation, () => {
      if (!rec) {
        this.emit({ type: 'error', detail: RECORDING_ONLY, field: null });
        this.run = null;
        return;
      }
      this.emit(rec.meta);
      if (this.run.playing) this.pump(generation);
    });
  }

  /** Run `fn` after the current task, unless the run has been replaced by then (messages keep their order). */
  defer(generation, fn, ms = 0) {
    return setTimeout(() => { if (generation === this.generation) fn(); }, ms);
  }

  stopPump() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  emit(msg) { this.onMessage(msg); }

  /** Send the next event (then the summary and done after the last); true while more may follow. */
  sendEvent() {
    const run = this.run;
    const { rec } = run;
    if (run.next >= rec.events.length) return false;
    const msg = rec.events[run.next];
    run.next += 1;
    this.emit(msg);
    if (run.next >= rec.events.length) {
      this.emit({ ...rec.summary, type: 'summary' });
      this.emit({ type: 'done' });
      run.playing = false;
      return false;
    }
    const ev = { phase: msg.phase, node: msg.node, norm: num(msg.norm) };
    const judged = judgeEvent(run.fired, ev, run.breaks);
    run.fired = judged.fired;
    if (judged.stop) {
      run.playing = false;
      this.emit({ type: 'paused', reason: judged.stop, seq: msg.seq, detail: `breakpoint ${judged.stop} at ${msg.node} t=${msg.t} (recorded run)` });
      return false;
    }
    return true;
  }

  /** Stream while playing: at delay 0 everything in one go, else one event per delay. */
  pump(generation) {
    const run = this.run;
    if (!run?.rec || !run.playing) return;
    if (run.delay <= 0) {
      while (run.playing && this.sendEvent());
      return;
    }
    if (this.sendEvent() && run.playing) this.timer = this.defer(generation, () => this.pump(generation), run.delay);
  }

  /** Ask for exactly one more event. */
  step() {
    if (!this.run?.rec) return false;
    this.run.playing = false;
    this.stopPump();
    this.defer(this.generation, () => this.sendEvent());
    return true;
  }

  /** Stream events `delayMs` apart until a pause, a breakpoint or the end. */
  play(delayMs) {
    if (!this.run?.rec) return false;
    if (delayMs !== undefined && delayMs !== null) this.run.delay = delayMs;
    this.run.playing = true;
    this.stopPump();
    const generation = this.generation;
    this.defer(generation, () => this.pump(generation));
    return true;
  }

  /** Stop streaming; answered like the server's pause (the last event sent). */
  pause() {
    if (!this.run?.rec) return false;
    this.run.playing = false;
    this.stopPump();
    this.defer(this.generation, () => this.emit({ type: 'paused', reason: 'pause', seq: this.run.next - 1, detail: 'paused by the client' }));
    return true;
  }

  /** Set or remove a breakpoint (applies from the next event). */
  setBreak(on, value, enabled = true) {
    if (!this.run) return false;
    this.run.breaks = this.run.breaks.filter((b) => b.on !== on);
    if (enabled) this.run.breaks.push({ on, value });
    return true;
  }

  /** True while a run is open (a recorded run stays open after its end, like the server's socket). */
  get connected() { return this.run !== null; }

  /** Forget the current run (its pending messages are dropped). */
  close() {
    this.generation += 1;
    this.stopPump();
    this.run = null;
  }
}
