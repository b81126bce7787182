// The page's look as JS state: the theme and presenter mode. main.js sets it from the permalink's
// view settings and renders it on <body>; the drawing modules read it here, never from the DOM, and
// hear of its changes here (onLookChange), not by watching <body>.

const current = { theme: 'light', present: false };
const listeners = new Set();
let noticePending = false;   // one notice for all the changes of one task

/** Set the look ({theme?, present?}); returns the whole look. Listeners hear of the changes of a task
 * once, in a microtask: after the caller has shown the new look on the page (plots read its CSS colours). */
export function setLook(changes) {
  const before = `${current.theme}|${current.present}`;
  if (changes.theme !== undefined) current.theme = changes.theme === 'dark' ? 'dark' : 'light';
  if (changes.present !== undefined) current.present = Boolean(changes.present);
  if (`${current.theme}|${current.present}` !== before && !noticePending) {
    noticePending = true;
    queueMicrotask(() => {
      noticePending = false;
      for (const listener of listeners) listener(look());
    });
  }
  return look();
}

/** The current look, {theme: "light" | "dark", present: boolean} (a copy). */
export function look() {
  return { ...current };
}

/** Call listener(look) after every change of the look; returns a function that stops it. */
export function onLookChange(listener) {
  listeners.add(listener);
  return () => { listeners.delete(listener); };
}
