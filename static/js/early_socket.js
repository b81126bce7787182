// issue 17: the first run's socket, opened while the page's other modules still load.
//
// The served page loads this module first, on its own (`<script type="module" async id="early-socket">`
// in templates/index.html): it has no imports, so it runs as soon as it arrives, and opens /ws/trace then.
// The handshake is over by the time main.js has run, and the first `start` goes out at once instead of
// after a handshake queued behind the page's start-up work. socket.js imports the same module (one
// instance per page) and takes the socket for the page's first run; a page that starts no run at load
// lets it go (`releaseEarlySocket`). An exported page has no such tag and no server: it opens nothing.

const TAG_ID = 'early-socket';
let early = null;

/** The /ws/trace address of this page's server. */
export function traceSocketUrl(location = globalThis.window.location) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/trace`;
}

/** Open the early socket if the page asks for one (its tag is in the document) and none is open yet;
 * returns it (null on a page that asks for none). */
export function openEarlySocket(doc = globalThis.document) {
  if (early) return early;
  if (typeof WebSocket !== 'function' || !doc?.getElementById?.(TAG_ID)) return null;
  try {
    early = new WebSocket(traceSocketUrl());
  } catch (_) {
    early = null;   // the run's own socket reports what is wrong
  }
  return early;
}

/** The early socket, once (null if none, or if it has closed): the caller owns it from then on. */
export function takeEarlySocket() {
  const ws = early;
  early = null;
  if (!ws || ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return null;
  return ws;
}

/** Close the early socket if nobody took it (a page that starts no run at load). */
export function releaseEarlySocket() {
  takeEarlySocket()?.close();
}

openEarlySocket();
