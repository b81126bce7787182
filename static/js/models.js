// "Debug your own model": pick a state dict (.npz) or an ONNX model (.onnx), an input (.npy) and
// optional targets and lengths (.npy),
// upload them (POST /api/models, base64 JSON) and step through the model in the unrolled graph.
// The server checks everything; an error is shown next to the file it names.
//
//   import { mountModelUpload } from './models.js';
//   const upload = mountModelUpload(container, { fields: pageData.upload_fields, startModelRun(modelId) {...} });
// The fields themselves (names, kinds, options) come from the server (page data `upload_fields`, read
// off the upload route's schema: server/uploads/upload_form.py); this module only says how each looks.
//   upload.reupload()   // POST the same files again (same id) when the socket no longer holds the model

import { fmt } from './format.js';
import { el } from './elements.js';

/** How each upload field looks (label, hint, file types, option names); what the fields are is the server's. */
export const FIELD_LOOK = {
  model: { label: 'model (.npz or .onnx)', hint: 'a state_dict saved with np.savez, or an ONNX export', accept: '.npz,.onnx', missing: 'Choose the model: a .npz state dict or an .onnx file.' },
  input: { label: 'input (.npy)', hint: 'time first, or tick batch first (an ONNX model: its own layout)', accept: '.npy', missing: 'Choose an input sequence: a .npy array.' },
  targets: { label: 'targets (.npy)', hint: 'optional', accept: '.npy' },
  lengths: { label: 'lengths (.npy)', hint: 'optional: a padded batch', accept: '.npy' },
  batch_first: { label: 'batch first', hint: '(B, T, …) files, as a batch_first=True module reads them', testid: 'upload-batch-first' },
  cell: { label: 'cell', empty: 'from the weights' },
  loss: { label: 'loss', empty: 'default', names: { cross_entropy: 'cross-entropy', mse: 'mean squared error' } },
  readout: { label: 'head reads', empty: 'default', names: { per_step: 'every step', final_state: 'final states (h_n)' } },
};

/** The form field a 422's loc (its body key: a field or a file's name) belongs to: name → field name. */
export function fieldOfLoc(fields) {
  const out = {};
  for (const f of fields) {
    out[f.name] = f.name;
    if (f.name_field) out[f.name_field] = f.name;
  }
  return out;
}

/** The server's fields this module cannot draw, and the looks of fields the server no longer has. */
export function unmatchedLooks(fields) {
  const served = new Set(fields.map((f) => f.name));
  return { unlooked: [...served].filter((n) => !(n in FIELD_LOOK)), unserved: Object.keys(FIELD_LOOK).filter((n) => !served.has(n)) };
}

/** The control of one served field, as its look says. */
function control(f) {
  const look = FIELD_LOOK[f.name] ?? { label: f.name };
  const testid = look.testid ?? `upload-${f.name}`;
  if (f.kind === 'file') return el('input', { type: 'file', accept: look.accept ?? '', 'data-testid': testid, name: f.name });
  if (f.kind === 'checkbox') return el('input', { type: 'checkbox', 'data-testid': testid, name: f.name });
  const options = [['', look.empty ?? 'default'], ...(f.options ?? []).map((v) => [v, look.names?.[v] ?? v])];
  return el('select', { 'data-testid': testid, name: f.name }, options.map(([value, text]) => el('option', { value }, [text])));
}
const SAVE_HINT = "np.savez('model.npz', **{k: v.detach().numpy() for k, v in rnn.state_dict().items()})\n"
  + "np.save('input.npy', x.numpy())      # (T, input_size) or (T, batch, input_size), time first\n"
  + "np.save('targets.npy', y.numpy())    # optional: class ids (T, batch) or values (T, batch, out)\n\n"
  + "# or the whole model (Embedding, stacked / bidirectional / batch-first RNN, Linear) as ONNX:\n"
  + "torch.onnx.export(model.eval(), (x,), 'model.onnx', dynamo=True, external_data=False)\n"
  + "np.save('input.npy', x.numpy())      # in the model's own layout (batch first if it was trained so)\n"
  + "np.save('lengths.npy', lengths)      # optional: each sequence's length in a padded batch";

/** Base64 of a File's bytes (in chunks: a spread of the whole array overflows the stack). */
async function base64Of(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A byte count in kB below a megabyte, else in MB. */
function size(n) {
  return n < 1e6 ? `${Math.max(1, Math.round(n / 1e3))} kB` : `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
}

/** One labelled control with its own error line (role=alert, so a screen reader hears it). */
function field(name, label, hint, control) {
  const error = el('div', { class: 'upload-error', 'data-testid': `upload-${name}-error`, role: 'alert', hidden: true });
  const row = el('div', { class: 'upload-field', 'data-field': name }, [
    el('label', {}, [el('span', { class: 'upload-label' }, [label]), hint ? el('span', { class: 'muted upload-hint' }, [hint]) : null, control]),
    error,
  ]);
  return { row, error, control };
}

function infoList(info) {
  const items = [
    ['model', info.name], ['input', info.input_name], ['cell', info.cell],
    ['layers', `${info.num_layers}${info.bidirectional ? ' × 2 directions' : ''}`],
    ['sizes', `input ${info.input_size} → hidden ${info.hidden_size} → output ${info.output_size}`],
    ['head reads', FIELD_LOOK.readout.names[info.readout ?? 'per_step']],
    ['sequence', `T = ${info.T}, batch ${info.batch_size} (the graph shows element 0)${info.layout === 'batch_first' ? ', read batch first' : ''}${info.padded ? ', padded (lengths)' : ''}`],
    ['loss', `${info.loss} · targets: ${{ file: 'from your file', own_argmax: "the model's own predictions", zeros: 'zeros' }[info.targets] ?? info.targets}`],
    ['upload', size(info.bytes ?? 0)],
  ];
  return el('dl', { class: 'upload-info-list' }, items.flatMap(([k, v]) => [el('dt', {}, [k]), el('dd', {}, [String(v ?? '–')])]));
}

/**
 * Mount the upload form into `container`; `fields`: the server's upload fields (the page data's
 * upload_fields); startModelRun(modelId) from the "Step through it" button. Returns { reupload() }.
 */
export function mountModelUpload(container, { fields: served = [], startModelRun } = {}) {
  const FIELD_OF_LOC = fieldOfLoc(served);
  const fields = Object.fromEntries(served.map((f) => {
    const look = FIELD_LOOK[f.name] ?? { label: f.name };
    return [f.name, { ...field(f.name, look.label, look.hint ?? null, control(f)), spec: f }];
  }));
  const fileFields = served.filter((f) => f.kind === 'file');
  const submit = el('button', { type: 'submit', class: 'primary', 'data-testid': 'upload-submit' }, ['Upload']);
  const status = el('div', { class: 'upload-status', 'data-testid': 'upload-status', role: 'status', 'aria-live': 'polite' });
  const stepBtn = el('button', { type: 'button', class: 'primary', 'data-testid': 'upload-step-through' }, ['Step through it']);
  const info = el('div', { class: 'upload-info', 'data-testid': 'upload-info', hidden: true });
  const form = el('form', { class: 'model-upload', 'data-testid': 'model-upload', autocomplete: 'off' }, [
    el('p', { class: 'muted upload-intro' }, ['Your own trained RNN, LSTM or GRU (torch or any library with the same weight names, or any framework through ONNX), on your own sequence.']),
    ...fileFields.map((f) => fields[f.name].row),
    el('div', { class: 'upload-options' }, served.filter((f) => f.kind !== 'file').map((f) => fields[f.name].row)),
    el('div', { class: 'upload-actions' }, [submit, status]),
    info,
    el('details', { class: 'upload-howto' }, [el('summary', {}, ['How to save them from PyTorch']), el('pre', {}, [SAVE_HINT])]),
  ]);
  container.append(form);

  let uploaded = null;      // the info of the last successful upload
  let kept = null;          // the File objects and options it was made from (for reupload)
  const chosen = {};        // what each control says, kept on its own change (the submit reads this)
  for (const [name, f] of Object.entries(fields)) {
    const read = () => { chosen[name] = f.control.type === 'file' ? f.control.files?.[0] ?? null : f.control.type === 'checkbox' ? f.control.checked : f.control.value; };
    read();
    f.control.addEventListener('change', read);
  }

  function clearErrors() {
    for (const f of Object.values(fields)) {
      f.error.hidden = true;
      f.error.textContent = '';
      f.row.classList.remove('has-error');
    }
    setStatus('');
  }

  function setStatus(text, kind = '') {
    status.textContent = text;
    status.className = `upload-status ${kind}`;
  }

  function showError(name, text) {
    const f = fields[name];
    if (!f) { setStatus(text, 'error'); return; }
    f.error.textContent = text;
    f.error.hidden = false;
    f.row.classList.add('has-error');
  }

  /** Read the 422/413/503 answer and put each message next to what it names. */
  async function showFailure(response, body) {
    setStatus('');
    if (response.status === 413) {
      const why = typeof body?.detail === 'string' ? ` (${body.detail})` : '';
      setStatus(`File too large for this server${why}: use a shorter input or a smaller model.`, 'error');
      return;
    }
    if (response.status === 503) { setStatus('The server is busy: try again in a moment.', 'error'); return; }
    const details = Array.isArray(body?.detail) ? body.detail : [{ loc: ['body'], msg: String(body?.detail ?? `HTTP ${response.status}`) }];
    let general = '';   // a message that names no field goes to the status line
    for (const d of details) {
      const name = FIELD_OF_LOC[Array.isArray(d.loc) ? d.loc[1] : ''];
      const msg = String(d.msg ?? '').replace(/^Value error, /, '');
      if (name) showError(name, msg);
      else general = /too (large|big)/i.test(msg) ? `File too large: ${msg}` : msg;
    }
    setStatus(general || 'The upload was refused: see the messages above.', 'error');
  }

  async function post(values) {
    const body = {};
    for (const f of served) {   // each field as the upload route's schema names it
      const value = values[f.name];
      if (f.kind === 'file') {
        if (!value) continue;
        body[f.name] = await base64Of(value);
        body[f.name_field] = value.name;
      } else if (f.kind === 'checkbox') {
        if (value) body[f.name] = true;
      } else {
        body[f.name] = value || null;
      }
    }
    return fetch('/api/models', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }

  async function upload(files) {
    clearErrors();
    submit.disabled = true;
    setStatus(`Uploading ${files.model.name} and ${files.input.name}…`);
    try {
      const response = await post(files);
      const body = await response.json().catch(() => null);
      if (!response.ok) { await showFailure(response, body); return null; }
      uploaded = body;
      kept = files;
      showInfo(body);
      setStatus(`Uploaded: ${body.name} (${body.cell}, hidden ${body.hidden_size}).`, 'ok');
      return body;
    } catch (e) {
      setStatus(`The upload failed: ${e?.message ?? e}`, 'error');
      return null;
    } finally {
      submit.disabled = false;
    }
  }

  function showInfo(body) {
    info.replaceChildren(
      el('div', { class: 'upload-info-title' }, [`Your model: ${body.name}`]),
      infoList(body),
      el('div', { class: 'upload-info-actions' }, [stepBtn, el('span', { class: 'muted' }, [`${fmt(body.T * body.num_layers * (body.bidirectional ? 2 : 1))} hidden states to step through`])]),
    );
    info.hidden = false;
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors();
    const missing = served.filter((f) => f.required && !chosen[f.name]);
    for (const f of missing) showError(f.name, FIELD_LOOK[f.name]?.missing ?? `Choose the ${f.name}.`);
    if (missing.length) return;
    upload({ ...chosen });
  });
  for (const name of fileFields.map((f) => f.name)) {
    fields[name].control.addEventListener('change', () => { fields[name].error.hidden = true; fields[name].row.classList.remove('has-error'); });
  }
  stepBtn.addEventListener('click', () => { if (uploaded && typeof startModelRun === 'function') startModelRun(uploaded.model_id); });

  return {
    /** POST the files of the last successful upload again (the same id comes back); its info or null. */
    reupload: () => (kept ? upload(kept) : Promise.resolve(null)),
  };
}
