// The tabs below the first screen (issue 20): one panel shown at a time; the graph and the punchline
// plot stay above them. Pure DOM wiring: which tab is open is the only state, kept here.
//
//   import { installTabs, openTab, setTabBadge } from './tabs.js';
//   installTabs(onOpen)          // once; onOpen(name) after a tab opens (plots redraw at their size)
//   openTab('inspector')         // e.g. when a node is clicked
//   setTabBadge('diagnosis', '2')

let listener = () => {};

/** Wire the tab buttons ([data-tab]) to their panels ([data-panel]); onOpen(name) hears each opening. */
export function installTabs(onOpen = () => {}) {
  listener = onOpen;
  for (const button of document.querySelectorAll('.tabs [data-tab]')) {
    button.addEventListener('click', () => openTab(button.dataset.tab));
  }
}

/** Show the panel `name` and hide the others (nothing happens for an unknown name). */
export function openTab(name) {
  const panel = document.querySelector(`.tab-panel[data-panel="${name}"]`);
  if (!panel) return;
  for (const p of document.querySelectorAll('.tab-panel')) p.hidden = p !== panel;
  for (const b of document.querySelectorAll('.tabs [data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  // plots drawn while their panel was hidden take their real size now
  for (const div of panel.querySelectorAll('.js-plotly-plot')) globalThis.Plotly?.Plots?.resize(div);
  listener(name);
}

/** A short badge on a tab's button (e.g. the number of findings); empty text removes it. */
export function setTabBadge(name, text) {
  const button = document.querySelector(`.tabs [data-tab="${name}"]`);
  if (!button) return;
  let badge = button.querySelector('.tab-badge');
  if (!text) { badge?.remove(); return; }
  if (!badge) {
    badge = document.createElement('span');
    badge.className = 'tab-badge';
    button.append(badge);
  }
  badge.textContent = text;
}
