// "Download as page": the server records the current run (or the lesson's runs) and sends one
// self-contained HTML file (POST /api/export.html, GET /api/lessons/{name}/page); the lesson picker
// opens a lesson (?lesson=name). On an exported page neither can work, and both say so.

const $ = (id) => document.getElementById(id);

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Why the current run cannot be exported as a page, or null. */
function refusal(app, pageData) {
  if (app.source === 'model') return 'An uploaded model’s run cannot be exported from the page: record it with unrolled.show(net, x, targets) in Python.';
  if (app.source === 'trained') return 'A trained network’s run cannot be exported from the page yet: export its trained config with `unrolled export --config`.';
  if (pageData.view_trace && !app.config.cell && !app.config.preset) return 'Export the loaded trace with `unrolled export trace.npz`.';
  return null;
}

async function download(ctx, lesson) {
  const { app, pageData, showBanner } = ctx;
  const refused = lesson ? null : refusal(app, pageData);
  if (refused) { showBanner(refused, 'error'); return; }
  showBanner('Recording the page…', 'info');
  const response = lesson
    ? await fetch(`/api/lessons/${encodeURIComponent(lesson.lesson)}/page`)
    : await fetch('/api/export.html', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(app.config) });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail ?? detail; } catch (_) { /* not JSON */ }
    showBanner(`Could not export the page: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`, 'error');
    return;
  }
  const blob = await response.blob();
  const name = lesson ? lesson.lesson : (app.config.preset ?? 'unrolled');
  save(blob, `${name}.html`);
  showBanner(`Saved ${name}.html (${(blob.size / 2 ** 20).toFixed(1)} MB): open it anywhere, no server needed.`, 'info');
}

async function fillPicker(select, current) {
  try {
    const response = await fetch('/static/lessons/index.json');
    const lessons = await response.json();
    for (const { name, title } of lessons) {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = title;
      option.selected = name === current;
      select.append(option);
    }
  } catch (_) { select.disabled = true; }
}

/** Wire the button (lessonOf() → {lesson: name} | null) and the lesson picker; `offline` on an exported page. */
export function wireDownload(ctx, lessonOf, offline) {
  const button = $('download-page');
  const picker = $('lesson-picker');
  if (offline) {
    for (const el of [button, picker]) {
      if (!el) continue;
      el.disabled = true;
      el.title = 'This page is already a self-contained recording (it has no server to record another).';
    }
    return;
  }
  button?.addEventListener('click', () => download(ctx, lessonOf()));
  if (picker) {
    fillPicker(picker, ctx.app.view.lesson);
    picker.addEventListener('change', () => {
      const url = picker.value ? `?lesson=${encodeURIComponent(picker.value)}` : window.location.pathname;
      window.location.assign(url);
    });
  }
}
