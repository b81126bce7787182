// The preset picker and the config form: they read and write one config object. The form's fields are
// the config table's fields (page_data.config_fields) that have an input in the template's form; their
// types, choices and bounds come from that table.

import { option } from './elements.js';
import { fieldNames, fieldNamed, inputBounds, parseValue } from './config_fields.js';
import { installGruSwitch, writeGruSwitch } from './gru_switch.js';
import { scaleWords } from './page_honesty.js';

const $ = (id) => document.getElementById(id);

let formFields = [];   // the table's entries of the fields the form shows, set once by setupForm
let invalidInput = null;   // the input a server error marked (markFieldError)

/** The preset a user picked in the server-rendered picker before the scripts ran (issue 17: the picker
 * is usable at first paint), or null: the selected option is not the one the page was served with. */
export function earlyPick(select) {
  const served = [...select.options].find((o) => o.defaultSelected) ?? select.options[0];
  return served && select.value !== served.value ? select.value : null;
}

/** Fill the form's choices and bounds from the page data (the preset picker's options come with the
 * served page, templates/index.html); returns earlyPick's answer. */
export function setupForm(pageData) {
  const fields = pageData.config_fields;
  const picked = earlyPick($('preset'));
  const form = $('config-form');
  formFields = fieldNames(fields, 'trace').filter((name) => form.elements[name]).map((name) => fieldNamed(fields, name));
  for (const field of formFields) {
    const input = form.elements[field.name];
    if (input.tagName === 'SELECT' && field.choices) {
      // keep the template's wording of a choice where it has one
      const labels = Object.fromEntries([...input.options].map((o) => [o.value, o.textContent]));
      input.replaceChildren(...field.choices.map((c) => option(c, labels[c] ?? c)));
    } else if (input.tagName === 'INPUT' && input.type !== 'checkbox') {
      const { min, max, step } = inputBounds(field, pageData.limits);
      if (min !== undefined) input.min = min;
      if (max !== undefined) input.max = max;
      if (!input.getAttribute('step')) input.step = step;
    }
  }
  return picked;
}

/** Show a config in the form and the preset picker. */
export function writeForm(config) {
  const form = $('config-form');
  for (const { name, type } of formFields) {
    const input = form.elements[name];
    const value = config[name];
    if (type === 'bool') input.checked = value === undefined || value === null ? input.defaultChecked : Boolean(value);
    else if (value !== undefined && value !== null) input.value = String(value);
  }
  writeScale(form.elements.recurrent_scale, config.recurrent_scale);
  $('preset').value = config.preset ?? '';
  writeGruSwitch(form.elements.cell.value);
}

/** The recurrent-scale slider shows its true value (issue 20): a value past its end moves the end;
 * the init's default ("default init") leaves the slider dimmed at 1, not at its midpoint. */
function writeScale(input, value) {
  const unset = value === null || value === undefined;
  if (!unset && Number(value) > Number(input.max)) input.max = String(value);
  if (unset) input.value = '1';
  input.toggleAttribute('data-unset', unset);
  $('scale-out').textContent = scaleWords(unset ? null : Number(Number(value).toFixed(2)));
}

/** The value of one form input, typed as the config table says (null when it is not a valid value). */
function readInput(input, type) {
  if (type === 'bool') return input.checked;
  return parseValue(type, input.value) ?? null;
}

/** Call onField(name, value) when a form field changes and onPreset(name) when a preset is picked. */
export function installForm({ onField, onPreset }) {
  const form = $('config-form');
  form.addEventListener('submit', (e) => e.preventDefault());
  for (const { name, type } of formFields) {
    const input = form.elements[name];
    input.addEventListener('change', () => onField(name, readInput(input, type)));
  }
  const scale = form.elements.recurrent_scale;
  scale.addEventListener('input', () => { scale.removeAttribute('data-unset'); $('scale-out').textContent = scaleWords(Number(scale.value)); });
  $('preset').addEventListener('change', (e) => onPreset(e.target.value));
  installGruSwitch(form, onField);
}

/** Mark the field a server error names (and clear the others). */
export function markFieldError(field) {
  invalidInput?.classList.remove('invalid');
  invalidInput = (field && $('config-form').elements[field]) || null;
  invalidInput?.classList.add('invalid');
}
