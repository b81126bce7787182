// The /ws/trace client: opens one socket per run and hands every parsed message to a callback.
// A new run closes the previous socket, so late messages of an old run can never mix in. The page's first
// run takes the socket opened while the page loaded, if there is one (early_socket.js, issue 17).

import { takeEarlySocket, traceSocketUrl } from './early_socket.js';

/** Client of the step-through socket (docs/DESIGN.md, "Socket protocol"). */
export class TraceSocket {
  /** onMessage(msg) receives every server message; onClose(info) when a run's socket closes. */
  constructor({ onMessage, onClose }) {
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.ws = null;
    this.queue = [];
    this.generation = 0;
  }

  /** Start a run: {config}, or a source ("loaded", "trained" with its config, "model" with modelId). */
  start({ config, source, modelId, mode, delayMs, breakpoints }) {
    this.close();
    const generation = ++this.generation;
    const ws = takeEarlySocket() ?? new WebSocket(traceSocketUrl());
    this.ws = ws;
    this.queue = [];
    // issue 17: compact event values; at delay 0 the events computed ahead come as one "events" message
    const start = { type: 'start', mode, delay_ms: delayMs, encoding: 'f32', batch: true };
    if (source) start.source = source;
    if (source === 'model') start.model_id = modelId;
    else if (source !== 'loaded') start.config = config;
    // Breakpoints belong to the socket: set them before the stream starts.
    this.queue.push(...breakpoints.map((b) => ({ type: 'break', on: b.on, value: b.value, enabled: true })), start);
    const sendQueued = () => {
      if (generation !== this.generation) return;
      for (const msg of this.queue) ws.send(JSON.stringify(msg));
      this.queue = [];
    };
    if (ws.readyState === WebSocket.OPEN) sendQueued();   // an early socket already open
    else ws.addEventListener('open', sendQueued);
    ws.addEventListener('message', (e) => {
      if (generation !== this.generation) return;
      const msg = JSON.parse(e.data);
      if (msg.type === 'events') for (const event of msg.events) this.onMessage(event);   // issue 17
      else this.onMessage(msg);
    });
    ws.addEventListener('close', (e) => {
      if (generation !== this.generation) return;
      this.ws = null;
      this.onClose({ code: e.code, reason: e.reason });
    });
  }

  /** Send one message, queueing it while the socket is still connecting. */
  send(msg) {
    if (!this.ws) return false;
    if (this.ws.readyState === WebSocket.CONNECTING) this.queue.push(msg);
    else if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
    else return false;
    return true;
  }

  /** Ask for exactly one more event. */
  step() { return this.send({ type: 'step' }); }

  /** Stream events with delayMs between them until a pause, a breakpoint or the end. */
  play(delayMs) { return this.send({ type: 'play', delay_ms: delayMs }); }

  /** Stop streaming (the server keeps the run; play or step resumes it). */
  pause() { return this.send({ type: 'pause' }); }

  /** Set (enabled) or remove a breakpoint: on "nonfinite" | "grad_below" | "grad_above". */
  setBreak(on, value, enabled = true) { return this.send({ type: 'break', on, value, enabled }); }

  /** True while a run's socket is open or opening. */
  get connected() { return this.ws !== null; }

  /** Close the current run's socket (its late messages are ignored). */
  close() {
    this.generation += 1;
    if (this.ws) {
      try { this.ws.close(); } catch (_) { /* already closing */ }
    }
    this.ws = null;
    this.queue = [];
  }
}
