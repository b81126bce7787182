// The run as a pure reducer: runReducer(state, action) → state, no DOM, no socket, no timer. main.js
// feeds it the socket's messages and the user's actions (dispatch), carries out what the new state
// asks for, then draws it:
//   `request`   the one socket message the action calls for ({type: "play", delay_ms} | {type: "pause"}
//               | {type: "step"}) or null;
//   `restart`   "play" | "step": the action needs a new run (no run yet, or its socket is gone), or null;
//   `notice`    what the banner says now: "clear" (hide it), "paused" (the breakpoint stop in `paused`),
//               "closed" (the connection dropped mid-run), or null (leave it as it is);
//   `replaying` while true, a local replay timer dispatches "replayTick".
//
// Two "follow"s are different things: `cursorFollowsStream` here is "the cursor moves to each newly
// received event"; the graph's window following the cursor's column is graph.viewport.followsCursor,
// a view setting of the graph, not run state.
//
// Actions ({type, ...}):
//   start {mode: "play"|"step"}          a new run was asked for (its socket is opening)
//   meta {meta}                         the run's meta: its schedule; forget the last run
//   event {seq}                         an event arrived (the store keeps it)
//   paused {reason, seq, detail}        the server stopped ("pause" or a breakpoint kind)
//   done | error | closed               the stream ended / failed / its socket closed
//   togglePlay {delayMs, fired}         play or pause; fired = firedUpTo(events, breaks, cursor) (breakpoints.js)
//   replayTick {event, breaks, delayMs} the replay timer fired; event = the one after the cursor
//   stepForward | stepBack              one event on or back
//   jump {seq} | jumpPhase {phase, edge} move the cursor (asking the server for events not received yet)
//   setDelay {delayMs}                  a new speed (applies to a playing server at once)

import { EMPTY_SCHEDULE, phaseEdge, scheduleOf } from './schedule.js';
import { judgeEvent } from './breakpoints.js';

/** The state before any run. */
export function initialRunState() {
  return {
    schedule: EMPTY_SCHEDULE,
    hasMeta: false,
    received: 0,          // events received so far (seqs 0 … received − 1)
    cursor: -1,           // seq of the event on screen (−1: before the first)
    status: 'idle',       // idle | running | paused | done | error
    done: false,          // the stream is complete
    connected: false,     // the run's socket is open or opening
    cursorFollowsStream: true,   // the cursor moves to each newly received event
    serverPlaying: false, // the server is streaming
    replaying: false,     // received events are being replayed locally
    fired: new Set(),     // the local replay's breakpoint memory (breakpoints.js)
    paused: null,         // {reason, seq, detail} of the last breakpoint stop
    runTo: null,          // pause the server once this seq has arrived (a jump past the received events)
    serverPausedAt: null, // the last event the server sent before it acknowledged a pause (null: not paused)
    request: null,        // see the top of this file
    restart: null,
    notice: null,
  };
}

/** Whether anything is playing (the server's stream or a local replay). */
export function isPlaying(state) {
  return state.serverPlaying || state.replaying;
}

/** Whether "step forward" can do anything: a received event after the cursor, or a live stream to ask. */
export function canStepForward(state) {
  return state.hasMeta && (state.cursor < state.received - 1 || (!state.done && state.connected));
}

/** Stop the local replay and the server (a pause request only when the server was playing). */
function pauseAll(s) {
  return { ...s, replaying: false, serverPlaying: false, runTo: null, request: s.serverPlaying ? { type: 'pause' } : null };
}

/** Ask the server to stream again from the live edge (after a pause or a breakpoint). */
function resumeServer(s, delayMs) {
  return {
    ...s, cursorFollowsStream: true, serverPlaying: true, replaying: false, paused: null, serverPausedAt: null,
    status: s.status === 'paused' ? 'running' : s.status, request: { type: 'play', delay_ms: delayMs },
  };
}

/** A breakpoint stop at `seq` (shown at once when that event has arrived). */
function stopAt(s, paused) {
  return {
    ...s, paused, status: 'paused', runTo: null, replaying: false, notice: 'paused',
    cursor: paused.seq < s.received ? paused.seq : s.cursor,
  };
}

function jump(s, seq) {
  const paused = pauseAll(s);
  const target = Math.max(-1, Math.min(seq, s.schedule.total - 1));
  if (target < s.received) return { ...paused, cursor: target, cursorFollowsStream: false };
  if (s.done || !s.connected) return paused;
  // at the very end the summary and done follow by themselves: no need to stop there
  const runTo = target < s.schedule.total - 1 ? target : null;
  return { ...resumeServer(paused, 0), runTo };
}

function togglePlay(s, { delayMs, fired }) {
  if (isPlaying(s)) return pauseAll(s);
  if (!s.hasMeta || (!s.connected && !s.done)) return { ...s, restart: 'play', notice: 'clear' };
  const atEnd = s.cursor >= s.received - 1;
  const from = { ...(atEnd && s.done ? { ...s, cursor: -1 } : s), notice: 'clear' };   // replay from the start
  if (from.cursor < from.received - 1) {
    return { ...from, replaying: true, fired: from.cursor === -1 ? new Set() : fired ?? new Set() };
  }
  return resumeServer(from, delayMs);
}

function replayTick(s, { event, breaks, delayMs }) {
  if (!s.replaying) return s;
  if (s.cursor < s.received - 1) {
    const cursor = s.cursor + 1;
    const judged = event ? judgeEvent(s.fired, event, breaks ?? []) : { stop: null, fired: s.fired };
    const next = { ...s, cursor, fired: judged.fired };
    return judged.stop ? stopAt(next, { reason: judged.stop, seq: cursor, detail: '(replayed locally)' }) : next;
  }
  const stopped = { ...s, replaying: false };
  return !s.done && s.connected ? resumeServer(stopped, delayMs) : stopped;
}

function onEvent(s, { seq }) {
  const next = { ...s, received: Math.max(s.received, seq + 1) };
  if (s.cursorFollowsStream && !s.replaying) next.cursor = seq;
  if (s.runTo !== null && seq >= s.runTo) {
    next.runTo = null;
    if (s.serverPlaying) next.request = { type: 'pause' };
    next.serverPlaying = false;
  }
  return next;
}

function stepForward(s) {
  const paused = pauseAll(s);
  if (!s.hasMeta && !s.connected) return { ...paused, request: null, restart: 'step' };
  if (s.cursor < s.received - 1) return { ...paused, cursor: s.cursor + 1, cursorFollowsStream: false };
  if (!s.done && s.connected) return { ...paused, cursorFollowsStream: true, request: { type: 'step' } };
  return paused;
}

/** The run state after `action` (see the list of actions above); `state` is never modified. */
export function runReducer(state, action) {
  // what the last action asked for has been carried out: nothing is asked twice
  const s = { ...state, request: null, restart: null, notice: null };
  switch (action.type) {
    case 'start':
      return {
        ...s, status: 'running', connected: true, cursorFollowsStream: true, serverPlaying: action.mode === 'play',
        replaying: false, paused: null, runTo: null, serverPausedAt: null, notice: 'clear',
        request: action.mode === 'step' ? { type: 'step' } : null,   // a stepping run starts with its first event
      };
    case 'meta':
      return {
        ...s, schedule: scheduleOf(action.meta), hasMeta: Boolean(action.meta), received: 0, cursor: -1,
        done: false, paused: null, fired: new Set(),
      };
    case 'event': return onEvent(s, action);
    case 'paused': return action.reason === 'pause' ? { ...s, serverPlaying: false, serverPausedAt: action.seq } : stopAt({ ...s, serverPlaying: false }, {
      reason: action.reason, seq: action.seq, detail: action.detail,
    });
    case 'done': return { ...s, done: true, status: 'done', serverPlaying: false };
    case 'error': return { ...s, status: 'error', serverPlaying: false };
    case 'closed': {
      const midRun = s.hasMeta && s.status !== 'done' && s.status !== 'error';
      return { ...s, connected: false, serverPlaying: false, notice: midRun ? 'closed' : null };
    }
    case 'togglePlay': return togglePlay(s, action);
    case 'replayTick': return replayTick(s, action);
    case 'stepForward': return stepForward(s);
    case 'stepBack':
      return { ...pauseAll(s), cursorFollowsStream: false, cursor: Math.max(-1, s.cursor - 1) };
    case 'jump': return jump(s, action.seq);
    case 'jumpPhase':
      return s.hasMeta ? jump(s, phaseEdge(s.schedule, action.phase, action.edge)) : s;
    case 'setDelay':
      return { ...s, request: s.serverPlaying ? { type: 'play', delay_ms: action.delayMs } : null };
    default:
      throw new Error(`unknown run action: ${action.type}`);
  }
}
