// "Debug your own model": pick a state dict (.npz) or an ONNX model (.onnx), an input (.npy) and
// optional targets and lengths (.npy),
// upload them (POST /api/models, base64 JSON) and step through the model in the unrolled graph.
// The server checks everything; an error is shown next to the file it names.
//
//   import { mountModelUpload } from './models.js';
//   const upload = mountModelUpload(container, { cells, startModelRun(modelId) {...} });
//   upload.reupload()   // POST the same files again (same id) when the socket no longer holds the model

import { fmt } from './format.js';
import { el } from './elements.js';

const LOSSES = [['', 'default'], ['cross_entropy', 'cross-entropy'], ['mse', 'mean squared error']];
const FIELD_OF_LOC = { model: 'model', model_name: 'model', input: 'input', input_name: 'input', targets: 'targets', targets_name: 'targets', lengths: 'lengths', lengths_name: 'lengths', cell: 'cell', loss: 'loss', batch_first: 'batch_first' };
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

function select(name, options) {
  return el('select', { 'data-testid': `upload-${name}`, name }, options.map(([value, text]) => el('option', { value }, [text])));
}

function infoList(info) {
  const items = [
    ['model', info.name], ['input', info.input_name], ['cell', info.cell],
    ['layers', `${info.num_layers}${info.bidirectional ? ' × 2 directions' : ''}`],
    ['sizes', `input ${info.input_size} → hidden ${info.hidden_size} → output ${info.output_size}`],
    ['sequence', `T = ${info.T}, batch ${info.batch_size} (the graph shows element 0)${info.layout === 'batch_first' ? ', read batch first' : ''}${info.padded ? ', padded (lengths)' : ''}`],
    ['loss', `${info.loss} · targets: ${{ file: 'from your file', own_argmax: "the model's own predictions", zeros: 'zeros' }[info.targets] ?? info.targets}`],
    ['upload', size(info.bytes ?? 0)],
  ];
  return el('dl', { class: 'upload-info-list' }, items.flatMap(([k, v]) => [el('dt', {}, [k]), el('dd', {}, [String(v ?? '–')])]));
}

/**
 * Mount the upload form into `container`; `cells`: the cell names the server knows (the page
 * data's); startModelRun(modelId) from the "Step through it" button. Returns { reupload() }.
 */
export function mountModelUpload(container, { cells = [], startModelRun } = {}) {
  const fields = {
    model: field('model', 'model (.npz or .onnx)', 'a state_dict saved with np.savez, or an ONNX export', el('input', { type: 'file', accept: '.npz,.onnx', 'data-testid': 'upload-model', name: 'model' })),
    input: field('input', 'input (.npy)', 'time first, or tick batch first (an ONNX model: its own layout)', el('input', { type: 'file', accept: '.npy', 'data-testid': 'upload-input', name: 'input' })),
    targets: field('targets', 'targets (.npy)', 'optional', el('input', { type: 'file', accept: '.npy', 'data-testid': 'upload-targets', name: 'targets' })),
    lengths: field('lengths', 'lengths (.npy)', 'optional: a padded batch', el('input', { type: 'file', accept: '.npy', 'data-testid': 'upload-lengths', name: 'lengths' })),
    cell: field('cell', 'cell', null, select('cell', [['', 'from the weights'], ...cells.map((c) => [c, c])])),
    loss: field('loss', 'loss', null, select('loss', LOSSES)),
    batch_first: field('batch_first', 'batch first', '(B, T, …) files, as a batch_first=True module reads them', el('input', { type: 'checkbox', 'data-testid': 'upload-batch-first', name: 'batch_first' })),
  };
  const submit = el('button', { type: 'submit', class: 'primary', 'data-testid': 'upload-submit' }, ['Upload']);
  const status = el('div', { class: 'upload-status', 'data-testid': 'upload-status', role: 'status', 'aria-live': 'polite' });
  const stepBtn = el('button', { type: 'button', class: 'primary', 'data-testid': 'upload-step-through' }, ['Step through it']);
  const info = el('div', { class: 'upload-info', 'data-testid': 'upload-info', hidden: true });
  const form = el('form', { class: 'model-upload', 'data-testid': 'model-upload', autocomplete: 'off' }, [
    el('p', { class: 'muted upload-intro' }, ['Your own trained RNN, LSTM or GRU (torch or any library with the same weight names, or any framework through ONNX), on your own sequence.']),
    fields.model.row, fields.input.row, fields.targets.row, fields.lengths.row,
    el('div', { class: 'upload-options' }, [fields.cell.row, fields.loss.row, fields.batch_first.row]),
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

  async function post(files) {
    const body = {
      model: await base64Of(files.model), input: await base64Of(files.input),
      model_name: files.model.name, input_name: files.input.name,
      cell: files.cell || null, loss: files.loss || null,
    };
    if (files.targets) {
      body.targets = await base64Of(files.targets);
      body.targets_name = files.targets.name;
    }
    if (files.lengths) {
      body.lengths = await base64Of(files.lengths);
      body.lengths_name = files.lengths.name;
    }
    if (files.batch_first) body.batch_first = true;
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
    const { model, input } = chosen;
    clearErrors();
    if (!model) showError('model', 'Choose the model: a .npz state dict or an .onnx file.');
    if (!input) showError('input', 'Choose an input sequence: a .npy array.');
    if (!model || !input) return;
    upload({ model, input, targets: chosen.targets, lengths: chosen.lengths, cell: chosen.cell, loss: chosen.loss, batch_first: chosen.batch_first });
  });
  for (const name of ['model', 'input', 'targets', 'lengths']) {
    fields[name].control.addEventListener('change', () => { fields[name].error.hidden = true; fields[name].row.classList.remove('has-error'); });
  }
  stepBtn.addEventListener('click', () => { if (uploaded && typeof startModelRun === 'function') startModelRun(uploaded.model_id); });

  return {
    /** POST the files of the last successful upload again (the same id comes back); its info or null. */
    reupload: () => (kept ? upload(kept) : Promise.resolve(null)),
  };
}
