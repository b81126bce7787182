// A guided lesson on the page: the scene's card (title, counter, text with its numbers filled from
// the trace), the presenter keys (→ / ← between scenes; Shift+→ / Shift+← still step inside one),
// the permalink (?lesson=name&scene=k), the highlights, and the "Download as page" button.
// main.js calls installLessons(ctx) once; the scenes' runs go through ctx.runConfig and
// ctx.actions like any user action, so the page state stays main.js's and run_state.js's.
//
// For tests and scripts: <body data-lesson-ready="k"> once scene k is drawn, and
// data-lesson-problems (JSON list: placeholders not filled, highlights not found).

import { offlineData } from './offline.js';
import { fillText } from './lesson_text.js';
import { sceneScope, stepSeq, configKey } from './lesson_scope.js';
import { sceneIndex, moveScene, counterText, highlightTarget, highlightName } from './lesson_engine.js';
import { wireDownload } from './page_download.js';

const POLL_MS = 25;

function make(tag, attrs = {}, text = '') {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text) el.textContent = text;
  return el;
}

/** Resolve once `test()` is true (null when the scene was left or the run failed first). */
function until(test, stillWanted) {
  return new Promise((resolve) => {
    const poll = () => {
      if (!stillWanted()) resolve(null);
      else if (test()) resolve(true);
      else setTimeout(poll, POLL_MS);
    };
    poll();
  });
}

const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

function lessonCard() {
  const card = make('section', { class: 'card lesson-card', 'data-testid': 'lesson', 'aria-live': 'polite' });
  const head = make('div', { class: 'lesson-head' });
  const name = make('span', { class: 'lesson-name' });
  const counter = make('span', { class: 'lesson-counter', 'data-testid': 'lesson-counter' });
  head.append(name, counter);
  const title = make('h2', { class: 'lesson-title' });
  const text = make('div', { class: 'lesson-text', 'data-testid': 'lesson-text' });
  const nav = make('div', { class: 'lesson-nav' });
  const prev = make('button', { type: 'button', 'data-testid': 'lesson-prev', title: 'Previous scene (←)' }, '← previous');
  const next = make('button', { type: 'button', 'data-testid': 'lesson-next', title: 'Next scene (→)' }, 'next →');
  const hint = make('span', { class: 'lesson-hint' }, '→ ← scenes · ⇧→ ⇧← steps');
  nav.append(prev, hint, next);
  card.append(head, title, text, nav);
  // beside the graph, where the story card was: the graph stays on screen at 1280×720
  const side = document.querySelector('aside.side') ?? document.querySelector('.stage') ?? document.body;
  side.prepend(card);
  return { card, name, counter, title, text, prev, next };
}

/** Play `lesson` on the page from scene `start` (0-based). */
function playLesson(lesson, start, ctx) {
  const { app, actions } = ctx;
  const ui = lessonCard();
  ui.name.textContent = lesson.title;
  document.body.classList.add('lesson-mode');
  let index = start;
  let generation = 0;
  let loadedKey = null;
  let marks = [];   // [{mark, target}] of the scene on screen (equation lines are re-marked when redrawn)

  function markAll() {
    for (const el of document.querySelectorAll('[data-lesson-mark]')) el.removeAttribute('data-lesson-mark');
    const missing = [];
    for (const { mark, target } of marks) {
      let found = [...document.querySelectorAll(target.selector)];
      if (target.text !== null) found = found.filter((el) => el.textContent.includes(target.text));
      if (target.card) found = found.map((el) => el.closest('.card') ?? el);
      for (const el of found) el.setAttribute('data-lesson-mark', '1');
      if (!found.length) missing.push(`highlight not found: ${highlightName(mark)}`);
    }
    return missing;
  }
  const equation = document.getElementById('equation');
  if (equation) new MutationObserver(() => { if (marks.length) markAll(); }).observe(equation, { childList: true });

  /** Bring a plot-centred scene's plot on screen (the card follows, sticky); otherwise the graph. */
  function showFocus(scene) {
    const onGraph = (scene.highlight ?? []).some((m) => m.node !== undefined || m.edge !== undefined);
    const plot = document.querySelector('.plot-card[data-lesson-mark]');
    if (plot && !onGraph) plot.scrollIntoView({ block: 'center' });
    else window.scrollTo({ top: 0 });
  }

  function showText(scene, problems) {
    const scope = sceneScope(app.store, app.run.cursor);
    const paragraphs = scene.text.map((p) => fillText(p, scope));
    ui.text.replaceChildren(...paragraphs.map((p) => make('p', {}, p.text)));
    for (const p of paragraphs) problems.push(...p.problems);
  }

  async function show(to) {
    const gen = ++generation;
    index = to;
    const scene = lesson.scenes[index];
    const wanted = () => gen === generation;
    delete document.body.dataset.lessonReady;
    ui.counter.textContent = counterText(index, lesson.scenes.length);
    ui.title.textContent = scene.title;
    ui.prev.disabled = index === 0;
    ui.next.disabled = index === lesson.scenes.length - 1;
    ui.text.replaceChildren(make('p', { class: 'muted' }, 'Loading the scene’s run…'));
    app.view = { ...app.view, lesson: lesson.name, scene: index + 1 };
    const problems = [];
    const key = configKey(scene.config);
    if (key !== loadedKey || !app.run.done) {
      loadedKey = key;
      const before = app.store.runId;   // the store starts a new run when the new meta arrives
      ctx.runConfig({ ...scene.config });
      const failed = () => app.run.status === 'error';
      if (!await until(() => (app.store.runId > before && app.run.hasMeta) || failed(), wanted)) return;
      if (!failed()) actions.jumpPhase('backward', 'end');   // the whole run at once: the scene reads all of it
      if (!await until(() => (app.run.done && app.store.summary) || failed(), wanted)) return;
      if (failed()) { loadedKey = null; problems.push(`the scene’s run failed: ${app.banner?.text ?? 'no message'}`); }
    }
    const seq = stepSeq(scene.step, app.store);
    if (seq === null) problems.push(`no event for step ${JSON.stringify(scene.step)}`);
    actions.jump(seq ?? app.store.total - 1);
    if (scene.select) app.selection = { kind: 'h', ...scene.select };
    ctx.updateUrl();
    ctx.requestRender();
    await frame();
    await frame();
    if (!wanted()) return;
    showText(scene, problems);
    marks = (scene.highlight ?? []).map((mark) => ({ mark, target: highlightTarget(mark) }));
    problems.push(...markAll());
    showFocus(scene);
    document.body.dataset.lessonProblems = JSON.stringify(problems);
    document.body.dataset.lessonReady = String(index + 1);
  }

  const go = (delta) => { const to = moveScene(index, delta, lesson.scenes.length); if (to !== index) show(to); };
  ui.prev.addEventListener('click', () => go(-1));
  ui.next.addEventListener('click', () => go(1));
  // capture: → / ← belong to the lesson before the step-through keys see them (Shift passes through)
  window.addEventListener('keydown', (e) => {
    if (e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const tag = e.target?.tagName;
    if (tag === 'SELECT' || tag === 'TEXTAREA' || (tag === 'INPUT' && e.target.type !== 'range' && e.target.type !== 'checkbox')) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    go(e.key === 'ArrowRight' ? 1 : -1);
  }, true);
  show(index);
}

async function fetchLesson(name) {
  const response = await fetch(`/static/lessons/${encodeURIComponent(name)}.json`);
  if (!response.ok) throw new Error(`no lesson named “${name}”`);
  return response.json();
}

/**
 * Start the page's lesson, if it has one (?lesson=name, or an exported lesson page), and wire the
 * "Download as page" button. ctx = {app, actions, runConfig, requestRender, updateUrl, showBanner,
 * pageData}. Returns true when a lesson starts the runs (main.js then starts none itself).
 */
export function installLessons(ctx) {
  const offline = offlineData();
  const name = offline ? offline.lesson?.name : ctx.app.view.lesson;
  wireDownload(ctx, () => (name ? { lesson: name } : null), offline);
  if (!name) return false;
  const begin = (lesson) => playLesson(lesson, sceneIndex(ctx.app.view.scene, lesson.scenes.length), ctx);
  if (offline) begin(offline.lesson);
  else {
    fetchLesson(name).then(begin).catch((err) => {
      ctx.showBanner(`${err.message}: starting the default preset instead.`, 'error');
      ctx.app.view = { ...ctx.app.view, lesson: null, scene: null };
      ctx.runConfig(ctx.app.config);
    });
  }
  return true;
}
