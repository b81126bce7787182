// The "GRU as in the lectures" switch (static/js/gru_switch.js): shown for either GRU, on for the lectures'.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { gruCell, gruSwitchState } from '../../../static/js/gru_switch.js';

test('the switch shows for both GRU conventions and is on only for the lectures\' one', () => {
  assert.deepEqual(gruSwitchState('gru'), { shown: true, checked: false });
  assert.deepEqual(gruSwitchState('gru_reset_before'), { shown: true, checked: true });
  for (const cell of ['rnn_tanh', 'lstm', 'lstm_peephole', 'lstm_coupled']) {
    assert.deepEqual(gruSwitchState(cell), { shown: false, checked: false });
  }
});

test('flipping the switch selects the other convention', () => {
  assert.equal(gruCell(true), 'gru_reset_before');
  assert.equal(gruCell(false), 'gru');
  assert.deepEqual(gruSwitchState(gruCell(true)), { shown: true, checked: true });
});
