// TraceSocket (issue 17): the start asks for compact, batched events, and an "events" message reaches onMessage
// as its events, one by one, in order; other messages pass through as they are.
import test from 'node:test';
import assert from 'node:assert/strict';

class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  constructor(url) { this.url = url; this.readyState = FakeWebSocket.CONNECTING; this.sent = []; this.listeners = {}; FakeWebSocket.last = this; }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  fire(type, event = {}) { for (const fn of this.listeners[type] ?? []) fn(event); }
}
globalThis.WebSocket = FakeWebSocket;
globalThis.window = { location: { protocol: 'http:', host: 'localhost:8000' } };
const { TraceSocket } = await import('../../../static/js/socket.js');

function opened() {
  const received = [];
  const socket = new TraceSocket({ onMessage: (m) => received.push(m), onClose: () => {} });
  socket.start({ config: { cell: 'lstm' }, mode: 'play', delayMs: 0, breakpoints: [] });
  const ws = FakeWebSocket.last;
  ws.readyState = FakeWebSocket.OPEN;
  ws.fire('open');
  return { ws, received };
}

test('the start asks for f32 values and batched events', () => {
  const { ws } = opened();
  const start = ws.sent.find((m) => m.type === 'start');
  assert.equal(start.encoding, 'f32');
  assert.equal(start.batch, true);
  assert.deepEqual(start.config, { cell: 'lstm' });
});

test('an events message is handed on as its events in order, others as they are', () => {
  const { ws, received } = opened();
  ws.fire('message', { data: JSON.stringify({ type: 'meta', T: 2 }) });
  ws.fire('message', { data: JSON.stringify({ type: 'events', events: [{ type: 'event', seq: 0 }, { type: 'event', seq: 1 }] }) });
  ws.fire('message', { data: JSON.stringify({ type: 'event', seq: 2 }) });
  assert.deepEqual(received.map((m) => [m.type, m.seq]), [['meta', undefined], ['event', 0], ['event', 1], ['event', 2]]);
});
