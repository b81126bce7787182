// early_socket.js (issue 17): the served page opens its first run's socket while its modules load, and the
// first TraceSocket.start takes it (sending its queue at once if it is already open); nothing else does.
import test from 'node:test';
import assert from 'node:assert/strict';

class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static made = [];
  constructor(url) { this.url = url; this.readyState = FakeWebSocket.CONNECTING; this.sent = []; this.listeners = {}; FakeWebSocket.made.push(this); }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = FakeWebSocket.CLOSED; }
  fire(type, event = {}) { for (const fn of this.listeners[type] ?? []) fn(event); }
}
globalThis.WebSocket = FakeWebSocket;
globalThis.window = { location: { protocol: 'https:', host: 'example.org:8443' } };
const early = await import('../../../static/js/early_socket.js');
const { TraceSocket } = await import('../../../static/js/socket.js');

const served = { getElementById: (id) => (id === 'early-socket' ? {} : null) };
const exported = { getElementById: () => null };
const startArgs = { config: { cell: 'gru' }, mode: 'play', delayMs: 0, breakpoints: [] };

test('a page without the early-socket tag (an exported page, or node) opens nothing', () => {
  assert.equal(FakeWebSocket.made.length, 0);   // importing it here opened nothing: no document
  assert.equal(early.openEarlySocket(exported), null);
  assert.equal(early.takeEarlySocket(), null);
  assert.equal(FakeWebSocket.made.length, 0);
});

test('the served page opens one socket to its own /ws/trace, taken once', () => {
  const ws = early.openEarlySocket(served);
  assert.equal(ws.url, 'wss://example.org:8443/ws/trace');
  assert.equal(early.openEarlySocket(served), ws);   // not a second one
  assert.equal(early.takeEarlySocket(), ws);
  assert.equal(early.takeEarlySocket(), null);
});

test('the first run takes an open early socket and sends its start at once', () => {
  const ws = early.openEarlySocket(served);
  ws.readyState = FakeWebSocket.OPEN;
  const made = FakeWebSocket.made.length;
  const socket = new TraceSocket({ onMessage: () => {}, onClose: () => {} });
  socket.start(startArgs);
  assert.equal(FakeWebSocket.made.length, made);   // no new socket
  assert.deepEqual(ws.sent.map((m) => m.type), ['start']);
  assert.deepEqual(ws.sent[0].config, { cell: 'gru' });
  socket.start(startArgs);   // the next run opens its own
  assert.equal(FakeWebSocket.made.length, made + 1);
  assert.equal(ws.readyState, FakeWebSocket.CLOSED);
});

test('a still-connecting early socket sends the start on open', () => {
  const ws = early.openEarlySocket(served);
  const socket = new TraceSocket({ onMessage: () => {}, onClose: () => {} });
  socket.start(startArgs);
  assert.deepEqual(ws.sent, []);
  ws.readyState = FakeWebSocket.OPEN;
  ws.fire('open');
  assert.deepEqual(ws.sent.map((m) => m.type), ['start']);
});

test('a closed early socket is not taken, and an unused one is released', () => {
  const closed = early.openEarlySocket(served);
  closed.readyState = FakeWebSocket.CLOSED;
  const socket = new TraceSocket({ onMessage: () => {}, onClose: () => {} });
  socket.start(startArgs);
  assert.notEqual(socket.ws, closed);
  const unused = early.openEarlySocket(served);
  early.releaseEarlySocket();
  assert.equal(unused.readyState, FakeWebSocket.CLOSED);
  assert.equal(early.takeEarlySocket(), null);
});
