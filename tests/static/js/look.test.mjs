// The page's look (static/js/look.js): theme and presenter mode as JS state, and who hears of a change.

import test from 'node:test';
import assert from 'node:assert/strict';

import { setLook, look, onLookChange } from '../../../static/js/look.js';

test('the look is normalised, copied out, and heard of once per task of changes, after the caller is done', async () => {
  setLook({ theme: 'light', present: false });
  await Promise.resolve();
  const heard = [];
  const stop = onLookChange((l) => heard.push(l));
  assert.deepEqual(setLook({ theme: 'purple' }), { theme: 'light', present: false });   // no change
  setLook({ theme: 'dark' });
  setLook({ present: 1 });
  assert.deepEqual(heard, []);   // not yet: the page shows the new look first
  await Promise.resolve();
  assert.deepEqual(heard, [{ theme: 'dark', present: true }]);
  const copy = look();
  copy.theme = 'light';
  assert.equal(look().theme, 'dark');
  stop();
  setLook({ theme: 'light' });
  await Promise.resolve();
  assert.equal(heard.length, 1);
});
