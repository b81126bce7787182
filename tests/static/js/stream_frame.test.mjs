// streamingFast (issue 17): which frames of a stream skip the plots and the edge clip.
import test from 'node:test';
import assert from 'node:assert/strict';
import { streamingFast } from '../../../static/js/stream_frame.js';

const playing = { serverPlaying: true };

test('a stream at delay 0 with events still due is fast', () => {
  assert.equal(streamingFast(playing, 0, 10, 5000, 50), true);
});

test('the last event received ends the fast frames (plots and clip are drawn at once)', () => {
  assert.equal(streamingFast(playing, 0, 5000, 5000, 50), false);
});

test('a delay of a frame or more is not fast', () => {
  assert.equal(streamingFast(playing, 50, 10, 5000, 50), false);
  assert.equal(streamingFast(playing, 49, 10, 5000, 50), true);
});

test('a paused, stepped or finished run is never fast', () => {
  assert.equal(streamingFast({ serverPlaying: false }, 0, 10, 5000, 50), false);
  assert.equal(streamingFast(null, 0, 10, 5000, 50), false);
});

test('before meta (total unknown) a playing stream is fast', () => {
  assert.equal(streamingFast(playing, 0, 0, 0, 50), true);
});
