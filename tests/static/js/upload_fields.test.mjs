// The upload form's fields come from the server (page data upload_fields, tests/fixtures/upload_fields.json
// pinned to the upload route's schema by tests/static/test_js_fixtures.py); models.js only says how each looks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { FIELD_LOOK, fieldOfLoc, unmatchedLooks } from '../../../static/js/models.js';

const FIELDS = JSON.parse(readFileSync(new URL('../../fixtures/upload_fields.json', import.meta.url), 'utf8'));

test('every served field has a look, and every look a served field', () => {
  assert.deepEqual(unmatchedLooks(FIELDS), { unlooked: [], unserved: [] });
  assert.deepEqual(Object.keys(FIELD_LOOK).sort(), FIELDS.map((f) => f.name).sort());
});

test('a 422 naming a file or its name lands on that file field', () => {
  const of = fieldOfLoc(FIELDS);
  assert.equal(of.model_name, 'model');
  assert.equal(of.lengths, 'lengths');
  assert.equal(of.batch_first, 'batch_first');
  const names = FIELDS.flatMap((f) => [f.name, f.name_field].filter(Boolean)).sort();
  assert.deepEqual(Object.keys(of).sort(), names);
});

test('a field the server adds is reported until models.js gives it a look', () => {
  const more = [...FIELDS, { name: 'precision', kind: 'select', required: false, name_field: null, options: ['float64'] }];
  assert.deepEqual(unmatchedLooks(more), { unlooked: ['precision'], unserved: [] });
});
