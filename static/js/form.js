// The preset picker and the config form: they read and write one config object.

import { option } from './elements.js';

const $ = (id) => document.getElementById(id);

const FIELDS = {
  cell: 'select', task: 'select', num_layers: 'int', hidden_size: 'int', seq_len: 'int',
  seed: 'int', bidirectional: 'bool', recurrent_scale: 'float', unroll: 'select', recurrent_gradient: 'bool',
};

/** Fill the preset picker and the form's choices and bounds from page_data. */
export function setupForm(pageData) {
  const preset = $('preset');
  preset.replaceChildren(option('', 'custom config'), ...pageData.presets.map((p) => option(p.name, p.title)));
  const form = $('config-form');
  form.elements.cell.replaceChildren(...pageData.cells.map((c) => option(c, c)));
  form.elements.task.replaceChildren(...pageData.tasks.map((t) => option(t, t)));
  for (const [name, [lo, hi]] of Object.entries(pageData.limits ?? {})) {
    const input = form.elements[name];
    if (input && input.tagName === 'INPUT') { input.min = String(lo); input.max = String(hi); }
  }
}

/** Show a config in the form and the preset picker. */
export function writeForm(config) {
  const form = $('config-form');
  for (const [name, kind] of Object.entries(FIELDS)) {
    const input = form.elements[name];
    const value = config[name];
    if (kind === 'bool') input.checked = value === undefined || value === null ? input.defaultChecked : Boolean(value);
    else if (value !== undefined && value !== null) input.value = String(value);
  }
  $('scale-out').textContent = config.recurrent_scale === null || config.recurrent_scale === undefined
    ? 'default init' : Number(config.recurrent_scale).toFixed(2);
  $('preset').value = config.preset ?? '';
}

/** The value of one form field, typed as the config wants it. */
export function readField(name) {
  const input = $('config-form').elements[name];
  const kind = FIELDS[name];
  if (kind === 'bool') return input.checked;
  if (kind === 'int') return Number.parseInt(input.value, 10);
  if (kind === 'float') return Number.parseFloat(input.value);
  return input.value;
}

/** Call onField(name, value) when a form field changes and onPreset(name) when a preset is picked. */
export function installForm({ onField, onPreset }) {
  const form = $('config-form');
  form.addEventListener('submit', (e) => e.preventDefault());
  for (const name of Object.keys(FIELDS)) {
    const input = form.elements[name];
    input.addEventListener('change', () => onField(name, readField(name)));
  }
  form.elements.recurrent_scale.addEventListener('input', () => {
    $('scale-out').textContent = readField('recurrent_scale').toFixed(2);
  });
  $('preset').addEventListener('change', (e) => onPreset(e.target.value));
}

/** Mark the field a server error names (and clear the others). */
export function markFieldError(field) {
  const form = $('config-form');
  for (const input of form.querySelectorAll('.invalid')) input.classList.remove('invalid');
  if (field && form.elements[field]) form.elements[field].classList.add('invalid');
}
