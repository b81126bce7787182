// The page's look as JS state: the theme and presenter mode. main.js sets it from the permalink's
// view settings and renders it on <body>; the drawing modules read it here, never from the DOM.

const current = { theme: 'light', present: false };

/** Set the look ({theme?, present?}); returns the whole look. */
export function setLook(changes) {
  if (changes.theme !== undefined) current.theme = changes.theme === 'dark' ? 'dark' : 'light';
  if (changes.present !== undefined) current.present = Boolean(changes.present);
  return look();
}

/** The current look, {theme: "light" | "dark", present: boolean} (a copy). */
export function look() {
  return { ...current };
}
