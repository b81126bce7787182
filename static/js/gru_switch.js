// The "GRU as in the lectures" switch beside the cell picker. It flips the config's cell between
// torch's GRU ("gru": the reset gate multiplies W_hn h + b_hn, after the product) and the lectures'
// ("gru_reset_before": W_hn (r ⊙ h), as in Cho et al.). The switch holds no state of its own: it shows
// the config's cell (so a permalink's ?cell= sets it) and writes the cell field when flipped.

const TORCH_GRU = 'gru';
const LECTURE_GRU = 'gru_reset_before';

/** Whether the switch is shown (a GRU of either convention is picked) and whether it is on. */
export function gruSwitchState(cell) {
  return { shown: cell === TORCH_GRU || cell === LECTURE_GRU, checked: cell === LECTURE_GRU };
}

/** The cell the switch selects when turned on or off. */
export function gruCell(on) {
  return on ? LECTURE_GRU : TORCH_GRU;
}

/** Show the switch for `cell` (absent from the page: nothing to do). */
export function writeGruSwitch(cell) {
  const input = document.getElementById('gru-lecture');
  if (!input) return;
  const { shown, checked } = gruSwitchState(cell);
  input.closest('label').hidden = !shown;
  input.checked = checked;
}

/** Flipping the switch sets the cell field (onField('cell', …)); picking a cell updates the switch. */
export function installGruSwitch(form, onField) {
  const input = document.getElementById('gru-lecture');
  if (!input) return;
  input.addEventListener('change', () => {
    form.elements.cell.value = gruCell(input.checked);
    onField('cell', gruCell(input.checked));
  });
  form.elements.cell.addEventListener('change', () => writeGruSwitch(form.elements.cell.value));
}
