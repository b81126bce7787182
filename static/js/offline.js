// Which socket the page talks to: the server's /ws/trace (socket.js), or — on a page exported by
// `unrolled export` / "Download as page" / unrolled.show, which carries its recorded runs in
// <script id="offline-data"> — the recorded runs (offline_socket.js). An exported page also says,
// where the controls that need the server are, that it cannot compute (body.offline; the notes).

import { TraceSocket } from './socket.js';
import { OfflineSocket, RECORDING_ONLY } from './offline_socket.js';

let parsed;   // the offline data, read once

/** The exported page's data {title, recordings, lesson}, or null on the served page. */
export function offlineData() {
  if (parsed === undefined) {
    const el = document.getElementById('offline-data');
    parsed = el ? JSON.parse(el.textContent) : null;
  }
  return parsed;
}

/** Put the "recording only" note at the top of a panel whose controls need the server. */
function note(container, text) {
  if (!container || container.querySelector(':scope > .offline-note')) return;
  const p = document.createElement('p');
  p.className = 'offline-note';
  p.dataset.testid = 'offline-note';
  p.textContent = text;
  container.prepend(p);
}

function markOffline(offline) {
  document.body.classList.add('offline');
  const runs = offline.recordings.length;
  const held = `This page is a recording of ${runs} run${runs === 1 ? '' : 's'}: step, play, scrub and inspect them freely.`;
  note(document.getElementById('config-form'), `${held} ${RECORDING_ONLY}`);
  for (const id of ['training', 'compare', 'model-upload']) note(document.getElementById(id), RECORDING_ONLY);
}

/** The socket for this page (onMessage(msg), onClose(info) as TraceSocket's). */
export function makeSocket(callbacks) {
  const offline = offlineData();
  if (!offline) return new TraceSocket(callbacks);
  markOffline(offline);
  return new OfflineSocket(offline, callbacks);
}
