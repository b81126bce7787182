// Buttons, keyboard shortcuts, the scrubber, the speed slider and the breakpoint inputs.
// This module only translates user input into calls on `actions` (with the new values) and shows
// state it is given; it holds no run state and nobody reads state back from its inputs.

const $ = (id) => document.getElementById(id);

// What the breakpoint inputs say, by input id: each is read once at start-up and then only in its own
// change handler, never read back later.
const breakInputs = {};
let helpOpen = false;   // the keyboard help overlay is shown

/** The breakpoint inputs as view settings {break_nan, break_below, break_above}. */
function breakpointSettings() {
  const value = (id) => (breakInputs[`${id}-on`] && Number.isFinite(breakInputs[id]) ? breakInputs[id] : null);
  return { break_nan: breakInputs['break-nan'], break_below: value('break-below'), break_above: value('break-above') };
}

/** Keep one breakpoint input's value in breakInputs; each change hands the new settings to onChange. */
function bindBreakInput(id, onChange) {
  const input = $(id);
  const read = () => { breakInputs[id] = input.type === 'checkbox' ? input.checked : Number.parseFloat(input.value); };
  read();
  input.addEventListener('change', () => { read(); onChange(breakpointSettings()); });
}

/** Put the permalink's breakpoints (view settings) into the form (before installControls). */
export function writeBreakpoints(view) {
  $('break-nan').checked = Boolean(view.break_nan);
  $('break-below-on').checked = view.break_below !== null && view.break_below !== undefined;
  if ($('break-below-on').checked) $('break-below').value = String(view.break_below);
  $('break-above-on').checked = view.break_above !== null && view.break_above !== undefined;
  if ($('break-above-on').checked) $('break-above').value = String(view.break_above);
}

/** Set the speed slider (and its label). */
export function writeDelay(ms) {
  $('speed').value = String(ms);
  $('speed-out').textContent = `${ms} ms`;
}

function isTyping(target) {
  const tag = target?.tagName;
  if (tag === 'SELECT' || tag === 'TEXTAREA') return true;
  return tag === 'INPUT' && !['range', 'checkbox', 'button'].includes(target.type);
}

/** Show or hide (show null: toggle) the keyboard help overlay. */
function toggleHelp(show = null) {
  helpOpen = show === null ? !helpOpen : show;
  $('help').hidden = !helpOpen;
  if (helpOpen) $('close-help').focus();
}

/**
 * Wire every control to `actions` (run, togglePlay, stepForward, stepBack, jump, jumpPhase, ...).
 * Inputs are read once, when they change, and handed over as values: setDelay(ms),
 * breakpointsChanged({break_nan, break_below, break_above}), setGraphFollowsCursor(on).
 */
export function installControls(actions) {
  const click = (id, fn) => $(id).addEventListener('click', (e) => { e.preventDefault(); fn(); });
  click('run', actions.run);
  click('play', actions.togglePlay);
  click('step-forward', actions.stepForward);
  click('step-back', actions.stepBack);
  click('jump-start', () => actions.jumpPhase('forward', 'start'));
  click('jump-end', () => actions.jumpPhase('backward', 'end'));
  click('jump-forward-end', () => actions.jumpPhase('forward', 'end'));
  click('jump-backward-start', () => actions.jumpPhase('backward', 'start'));
  click('zoom-in', () => actions.zoom(1.25));
  click('zoom-out', () => actions.zoom(0.8));
  click('zoom-fit', () => actions.zoom(null));
  click('show-help', () => toggleHelp(true));
  click('close-help', () => toggleHelp(false));
  click('toggle-theme', actions.toggleTheme);
  click('toggle-present', actions.togglePresent);
  click('copy-link', actions.copyLink);
  click('export-json', actions.exportJson);
  click('export-npz', actions.exportNpz);
  $('follow').addEventListener('change', (e) => actions.setGraphFollowsCursor(e.target.checked));
  $('scrubber').addEventListener('input', (e) => actions.jump(Number.parseInt(e.target.value, 10)));
  $('speed').addEventListener('input', (e) => {
    const ms = Number.parseInt(e.target.value, 10) || 0;
    writeDelay(ms);
    actions.setDelay(ms);
  });
  for (const id of ['break-nan', 'break-below-on', 'break-above-on', 'break-below', 'break-above']) {
    bindBreakInput(id, actions.breakpointsChanged);
  }
  for (const button of document.querySelectorAll('button.png')) {
    const plot = button.dataset.plot;   // which plot a button saves is markup, read once
    button.addEventListener('click', () => actions.downloadPlot(plot));
  }
  $('help').addEventListener('click', (e) => { if (e.target === $('help')) toggleHelp(false); });

  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || isTyping(e.target)) return;
    const keys = {
      ArrowRight: actions.stepForward,
      ArrowLeft: actions.stepBack,
      ' ': actions.togglePlay,
      Home: () => actions.jumpPhase('forward', 'start'),
      End: () => actions.jumpPhase('backward', 'end'),
      PageUp: () => actions.jumpPhase('forward', 'start'),
      PageDown: () => actions.jumpPhase('backward', 'start'),
      '?': () => toggleHelp(),
      Escape: () => toggleHelp(false),
      r: actions.run,
      p: actions.togglePresent,
      t: actions.toggleTheme,
      '+': () => actions.zoom(1.25),
      '=': () => actions.zoom(1.25),
      '-': () => actions.zoom(0.8),
      0: () => actions.zoom(null),
    };
    const fn = keys[e.key];
    if (!fn) return;
    e.preventDefault();
    fn();
  });
  // space already toggled play on keydown: do not let a focused button "click" on keyup as well
  document.addEventListener('keyup', (e) => {
    if (e.key === ' ' && e.target?.tagName === 'BUTTON') e.preventDefault();
  });
}

/** Reflect the run's state in the controls: play label, scrubber range, disabled buttons. */
export function updateControls({ cursor, received, total, playing, canStepForward }) {
  const play = $('play');
  play.textContent = playing ? '‖ pause' : '▶ play';
  play.setAttribute('aria-pressed', String(playing));
  const scrub = $('scrubber');
  scrub.max = String(Math.max(0, total - 1));
  scrub.value = String(cursor);
  const pct = total > 0 ? (100 * received) / total : 0;
  scrub.style.setProperty('--received', `${pct}%`);
  $('step-back').disabled = cursor < 0;
  $('step-forward').disabled = !canStepForward;
}
