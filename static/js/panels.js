// The panels below the graph — training, diagnosis, model upload, compare — mounted once, each
// handing its result to the page: a trained network or an uploaded model becomes the next run, a
// finding selects its node and step.

import { pickConfig } from './state.js';
import { mountDiagnosisPanel } from './findings.js';
import { mountModelUpload } from './models.js';
import { mountComparePanel } from './compare.js';
import { mountTrainingPanel } from './training.js';
import { openTab } from './tabs.js';

const $ = (id) => document.getElementById(id);

/** Mount the panels on the page state `app`; startRun(mode), showBanner(text, kind) and the graph
 * come from main.js; `fields` (the config table), `limits` and `uploadFields` (the upload form's
 * fields, issue 19) from the page data. Returns the panels main.js talks to: {training, diagnosis, upload}. */
export function mountPanels(app, { startRun, showBanner, graph, fields, limits, uploadFields }) {
  const training = mountTrainingPanel($('training'), {
    getConfig: () => ({ ...app.config }),
    fields,
    limits,
    onTrained: ({ config, source }) => {
      app.config = { ...pickConfig(config, fields) };
      app.source = source;
      startRun('play');
      showBanner('Stepping through the trained network (Run repeats it; changing the config goes back to a fresh one).', 'info');
      window.scrollTo({ top: 0, behavior: 'smooth' });
    },
  });
  training.update?.(app.config);
  const diagnosis = mountDiagnosisPanel($('diagnosis'), {
    onSelect: (node, t) => {   // show the finding's step: select it and bring its column on screen
      app.selection = { node, t, kind: 'h' };
      openTab('step');   // issue 20: the inspector shows the finding's node
      graph.viewport.userMove(() => graph.viewport.centerOn(t));
    },
  });
  const upload = mountModelUpload($('model-upload'), {
    fields: uploadFields,   // issue 19: the upload route's fields (page data upload_fields)
    startModelRun: (modelId) => {
      app.source = 'model';
      app.modelId = modelId;
      app.stepped = [...(app.stepped ?? []).filter((id) => id !== modelId), modelId].slice(-2);   // issue 21: checkpoints to compare
      app.reuploaded = false;
      startRun('play');
      window.scrollTo({ top: 0, behavior: 'smooth' });
    },
  });
  mountComparePanel($('compare'), {
    getConfig: () => ({ ...app.config }),
    getModelId: () => (app.source === 'model' ? app.modelId : null),
    getModelIds: () => app.stepped ?? [],
    fields,
  });
  return { training, diagnosis, upload };
}
