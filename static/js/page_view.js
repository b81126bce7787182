// The page drawn from the page's state: main.js changes `app` (the run state app.run of run_state.js,
// the selection, view settings, …) and asks this view to render; nothing here decides anything from
// what the DOM shows.
//
//   const view = createPageView(app, { pageData, presets, onSelect, onHover });
//   view.requestRender(withPlots)   // everything that follows the cursor, on the next frame
//   view.runInfo(meta) · view.summary(msg) · view.banner() · view.statusHook() · view.exports() · view.look()
//   · view.teacher()

import { TIMING } from './theme/config.js';
import { UnrolledGraph } from './graph.js';
import { patternNotes, teacherComparable, storyFallback, exportButtons, statusLine } from './page_notes.js';
import { setLook } from './look.js';
import { describeEvent, renderEquation } from './equations.js';
import { renderInspector } from './inspector.js';
import { renderLegend } from './legend.js';
import { findingsVerdict } from './findings.js';
import { PlotPanel } from './plots.js';
import { TeacherCompare } from './teacher.js';
import { updateControls } from './controls.js';
import { isPlaying, canStepForward } from './run_state.js';
import { PlotPacer, PLOT_PACING } from './plot_pacer.js';                // issue 17
import { plotlyLoaded, loadPlotly } from './plotly_loader.js';           // issue 17
// issue 20: the punchline card, the run's progress, the weights' note, the findings on the first screen
import { mountPunchline } from './punchline_plot.js';
import { progressOf } from './pacing.js';
import { weightsNote } from './page_honesty.js';
import { setTabBadge } from './tabs.js';
import { drawNormLabels } from './graph_norm_labels.js';
import { hideCutAtEdges } from './graph_edge_clip.js';
import { hideOverlaps } from './graph_overlap.js';   // issue 20
import { look as currentLook } from './look.js';
import { streamingFast } from './stream_frame.js';   // issue 17

const $ = (id) => document.getElementById(id);

/** The page's views of `app`; onSelect(node, t, kind) and onHover(node, t) report graph and plot pointing. */
export function createPageView(app, { pageData, presets, onSelect, onHover }) {
  const graph = new UnrolledGraph($('graph'), $('overview'), { onSelect, onHover, onUserMove: () => requestRender(false), onRelayout: () => requestRender(false) });
  const plots = new PlotPanel(onHover);
  const teacherGraph = new TeacherCompare({ card: $('teacher-card'), svg: $('graph-teacher'), overview: $('overview-teacher'), title: $('teacher-title') });
  const npzTitle = $('export-npz').title;
  const punch = mountPunchline({ getConfig: () => ({ ...app.config }), fields: pageData.config_fields });   // issue 20
  let framePending = false;
  let plotsDue = false;
  let plotTimer = null;
  // ---- issue 17 (page speed): plots wait while the cursor is moved by hand, and pace themselves ----
  const pacer = new PlotPacer({ ...PLOT_PACING, throttleMs: TIMING.plotThrottleMs });
  let lastCursor = null;

  /** Draw the due plots when the pacer allows (plot_pacer.js), else once it will. */
  function pacePlots() {
    const wait = pacer.wait(performance.now());
    if (wait <= 0) drawPlots();
    else if (!plotTimer) plotTimer = setTimeout(() => { plotTimer = null; if (plotsDue) pacePlots(); }, wait);
  }
  let plotlyAsked = false;

  /** Load plotly once (plotly_loader.js), then draw every plot. */
  function askPlotly() {
    if (plotlyAsked) return;
    plotlyAsked = true;
    loadPlotly().then(() => drawPlots(true), () => { plotlyAsked = false; });
  }
  // a page that has not run yet gets its plots a moment after it is usable; a fast stream's page first
  // takes its events (evaluating plotly.js holds the main thread ~0.6 s), and its plots wait for the end anyway
  const askWhenIdle = () => { if (fastStream()) setTimeout(askWhenIdle, TIMING.plotlyIdleMs); else askPlotly(); };
  requestAnimationFrame(() => setTimeout(askWhenIdle, TIMING.plotlyIdleMs));

  /** Whether the run streams faster than frames with events still due (stream_frame.js). */
  function fastStream() {
    const delayMs = app.view.delay ?? app.pacedDelay ?? TIMING.defaultDelayMs;
    return streamingFast(app.run, delayMs, app.store.count, app.store.meta ? app.store.total : 0, TIMING.streamFrameMs);
  }
  // ---- end issue 17 ----

  /** Redraw on the next animation frame (plots too, throttled, unless withPlots is false). */
  function requestRender(withPlots = true) {
    plotsDue = plotsDue || withPlots;
    if (framePending) return;
    framePending = true;
    requestAnimationFrame(frame);
  }

  // issue 17: while the server streams faster than frames, the page draws every TIMING.streamFrameMs
  // only (the events fly by either way), leaving the CPU to the stream; stepping and scrubbing draw every frame
  let lastFrame = -Infinity;
  function frame(now) {
    if (framePending && !drawDue(now)) requestAnimationFrame(frame);
  }

  /** Draw what requestRender asked for, unless a fast stream drew less than a stream frame ago; whether drawn. */
  function drawDue(now) {
    const fast = fastStream();
    if (fast && now - lastFrame < TIMING.streamFrameMs) return false;
    lastFrame = now;
    framePending = false;
    render(fast);
    return true;
  }

  /** Draw now, inside the animation frame whose timestamp is `now`, what a requestRender asked for (socket
   * messages applied in a frame are drawn in that frame, not the next; the frame already requested then finds
   * nothing to do). */
  function renderNow(now) {
    if (framePending) drawDue(now);
  }

  /** Draw everything that follows the cursor (`fast`: a fast stream's frame, see stream_frame.js). */
  function render(fast = false) {
    const { store, run } = app;
    const { cursor } = run;
    const meta = store.meta;
    graph.render({ store, cursor, hover: app.hover, selected: app.selection, pausedSeq: run.paused?.seq ?? null });
    drawNormLabels($('graph'), { store, cursor, present: currentLook().present });   // issue 20
    if (!fast) hideCutAtEdges($('graph'));   // issue 20: no half nodes at the edges (issue 17: once the stream ends)
    if (!fast) hideOverlaps($('graph'), currentLook().present);   // issue 20: no text over another in presenter mode
    renderLegend($('legend'), store, cursor);
    renderEquation($('equation'), describeEvent(store.get(cursor), store, meta ?? {}));
    renderInspector($('inspector'), app.selection, { store, cursor, meta });
    updateControls({
      cursor, received: store.count, total: meta ? store.total : 0, playing: isPlaying(run), canStepForward: canStepForward(run),
    });
    status();
    $('follow').checked = graph.viewport.followsCursor;
    if (cursor !== lastCursor) {   // issue 17: a cursor moved by hand holds the plots back
      lastCursor = cursor;
      pacer.moved(performance.now(), !run.cursorFollowsStream && !run.replaying);
    }
    if (plotsDue && meta && !fast) pacePlots();   // issue 17: a fast stream's plots wait for its end
  }

  /** Redraw the plots whose inputs changed (all of them when `force`, e.g. after a theme change). */
  function drawPlots(force = false) {
    if (!plotlyLoaded()) {   // issue 17: plotly comes after the first event (or the start-up timer)
      plotsDue = true;
      if (app.store.count > 0 || app.store.summary) {
        askPlotly();
        punch.draw(app.store, app.run.cursor);   // its factor and compare button need no plotly (its plot waits)
      }
      return;
    }
    plotsDue = false;
    const start = performance.now();
    plots.draw({ store: app.store, cursor: app.run.cursor, node: app.plotNode, flowNode: app.flowNode, quantity: app.hiddenQuantity }, force);
    punch.draw(app.store, app.run.cursor);   // issue 20
    pacer.drew(start, performance.now());
  }

  /** The status line, and the run's state on <body data-status/-cursor/-received> (hooks for tests
   * and for anyone scripting the page). */
  function status() {
    const { cursor, status: runStatus } = app.run;
    $('status').textContent = statusLine(app.store, cursor, runStatus);
    document.body.dataset.status = runStatus;
    document.body.dataset.cursor = String(cursor);
    document.body.dataset.received = String(app.store.count);
    document.body.dataset.total = String(app.store.meta ? app.store.total : 0);   // issue 17: the run's event count
    markDrawn(cursor, app.store.meta ? app.store.total : 0);
    // issue 20: a run still streaming shows its progress (and a cancel) beside the step controls
    const total = app.store.meta ? app.store.total : 0;
    const streaming = runStatus === 'running' && isPlaying(app.run) && app.store.count < total;
    $('run-progress-box').hidden = !streaming;
    if (streaming) {
      const p = progressOf(app.store.count, total);
      $('run-progress').value = p.fraction;
      $('run-progress').title = p.text;
    }
    // the server's acknowledgement of a pause: every event up to this seq has arrived, no more will
    if (app.run.serverPausedAt === null) delete document.body.dataset.serverPausedAt;
    else document.body.dataset.serverPausedAt = String(app.run.serverPausedAt);
  }

  /** User Timing marks (issue 17; DevTools' Performance panel and benchmarks/bench_page.py read them):
   * "unrolled:first-event" when this page first draws an event, "unrolled:last-event" when it first
   * draws a run's last one — measured by the page itself, with no poll from outside disturbing it. */
  function markDrawn(cursor, total) {
    if (cursor < 0) return;
    if (!performance.getEntriesByName('unrolled:first-event').length) performance.mark('unrolled:first-event');
    if (total > 0 && cursor === total - 1 && !performance.getEntriesByName('unrolled:last-event').length) {
      performance.mark('unrolled:last-event');
    }
  }

  /** Only <body data-status>, at once when the status changes (the rest waits for the frame: tests
   * read data-cursor as "this event is drawn"). */
  function statusHook() {
    document.body.dataset.status = app.run.status;
  }

  /** Show app.banner ({text, kind} or null). */
  function banner() {
    const box = $('banner');
    box.hidden = !app.banner;
    if (!app.banner) return;
    box.className = `banner ${app.banner.kind}`;
    box.textContent = app.banner.text;
  }

  /** The run's words and switches around the graph, once its meta is known; the graph is laid out anew. */
  function runInfo(meta) {
    $('run-title').textContent = app.config.preset ? '' : meta.title ?? '';
    $('story-title').textContent = meta.title ?? '';
    $('story').textContent = meta.story ?? storyFallback(meta, { source: app.source, preset: app.config.preset, presets });
    // the lecture equations of this run's cell (the panel holds one block per cell)
    const panel = meta.topology ? `topology-${meta.topology.name}` : meta.cell;   // issue 15: a topology's own block
    for (const el of document.querySelectorAll('.eq-cell')) el.hidden = !el.dataset.cell.split(' ').includes(panel);
    document.querySelector('.eq-seq2seq').hidden = !meta.segments;
    const notes = patternNotes(meta);
    $('pattern-note').textContent = notes.join(' · ');
    $('pattern-note').hidden = notes.length === 0;
    document.querySelector('.teacher-toggle').hidden = !teacherComparable(meta);
    document.querySelector('.diagnosis-card').hidden = true;   // until this run's summary arrives
    // issue 20: an untrained network says so on the graph; last run's findings go
    const note = weightsNote({ source: app.source, seed: app.config.seed, loaded: Boolean(pageData.view_trace) && !app.config.cell && !app.config.preset });
    $('weights-note').textContent = note;
    $('weights-note').hidden = !note;
    $('lesson-findings').hidden = true;
    setTabBadge('diagnosis', '');
    teacher();
    exports();
    graph.build(meta);   // a new run fits the view and follows the step again
  }

  /** The run's summary has arrived: its diagnosis card, and its findings on the overview strip. */
  function summary(msg) {
    document.querySelector('.diagnosis-card').hidden = false;
    graph.viewport.overview.showFindings(msg.diagnosis);
    // issue 20: the findings on the first screen, beside the story (the Diagnosis tab has them all)
    const findings = Array.isArray(msg.diagnosis) ? msg.diagnosis : [];
    setTabBadge('diagnosis', findings.length ? String(findings.length) : '');
    const verdict = findingsVerdict(findings);
    $('lesson-findings').textContent = verdict.text;
    $('lesson-findings').classList.toggle('healthy', verdict.healthy);
    $('lesson-findings').title = $('lesson-findings').textContent;   // presenter mode shows one line of it
    $('lesson-findings').hidden = false;
  }

  /** A generation run shows the teacher-forced run of the same weights beside it when asked to. */
  function teacher() {
    if (app.teacherCompare && teacherComparable(app.store.meta)) teacherGraph.show({ config: app.config, source: app.source });
    else teacherGraph.hide();
  }

  /** Which of the permalink and export buttons this run allows. */
  function exports() {
    const loaded = Boolean(pageData.view_trace) && !app.config.cell && !app.config.preset;
    const buttons = exportButtons({ source: app.source, loaded });
    $('copy-link').disabled = buttons.link.disabled;
    $('export-json').disabled = buttons.json.disabled;
    $('export-npz').disabled = buttons.npz.disabled;
    $('export-npz').title = buttons.npz.why ?? npzTitle;
  }

  /** Theme and presenter mode (app.view) as the look the drawing modules read, and on <body>. */
  function look() {
    const { theme, present } = setLook({ theme: app.view.theme, present: app.view.present });
    document.body.dataset.theme = theme;
    document.body.classList.toggle('present', present);
    $('toggle-present').setAttribute('aria-pressed', String(present));
    $('toggle-present').textContent = present ? 'Exit' : 'Present';   // issue 20
  }

  return { graph, requestRender, renderNow, drawPlots, statusHook, banner, runInfo, summary, teacher, exports, look };
}
