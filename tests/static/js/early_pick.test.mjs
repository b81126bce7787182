// The picker is server-rendered (issue 17): a pick made before the scripts ran is found by earlyPick.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { earlyPick } from '../../../static/js/form.js';

const select = (values, served, value) => ({
  options: values.map((v) => ({ value: v, defaultSelected: v === served })),
  value,
});

test('no pick while the served option is still selected', () => {
  assert.equal(earlyPick(select(['', 'a', 'b'], 'a', 'a')), null);
  assert.equal(earlyPick(select(['', 'a', 'b'], null, '')), null);   // none marked: the first is served
});

test('another option selected is a pick, the custom config included', () => {
  assert.equal(earlyPick(select(['', 'a', 'b'], 'a', 'b')), 'b');
  assert.equal(earlyPick(select(['', 'a', 'b'], 'a', '')), '');
  assert.equal(earlyPick(select(['', 'a', 'b'], null, 'b')), 'b');
});

test('an empty picker has no pick', () => {
  assert.equal(earlyPick(select([], null, '')), null);
});
