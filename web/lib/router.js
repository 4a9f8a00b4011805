// Navigation and the life of a screen: which render is current, its timers and dialogs.
import { isSignedOut } from './api.js';
import { replace } from './dom.js';

const REFRESH_MS = 2500;

export const main = /** @type {HTMLElement} */ (document.getElementById('main'));

/** Draws the screen of the current URL (set by the entry module). @type {() => Promise<void>} */
let renderer = async () => {};
/** @param {() => Promise<void>} render */
export function setRenderer(render) {
  renderer = render;
}

/** @param {string} url @param {boolean} [replaceState] */
export function navigate(url, replaceState = false) {
  if (replaceState) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  void renderer();
}

window.addEventListener('popstate', () => void renderer());

// Same-origin links marked data-link navigate without a reload (modifier clicks keep browser behaviour).
document.addEventListener('click', (event) => {
  const target = /** @type {Element} */ (event.target);
  const anchor = target.closest?.('a[data-link]');
  if (!anchor || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
    return;
  event.preventDefault();
  navigate(anchor.getAttribute('href') ?? '/');
});

/**
 * One render of a screen. Renders overlap when the user navigates quickly: a slow earlier screen
 * finishes after the later one started, so only the current render may draw into `main` or start
 * timers; a stale one's `show` does nothing and answers false.
 * @typedef {object} View
 * @property {() => boolean} current whether this render is still the one on screen
 * @property {(...children: any[]) => boolean} show puts the screen into `main`, if still current
 * @property {(tick: () => Promise<boolean>) => void} every a refresh every 2.5 s while this screen is shown
 */

let generation = 0;
/** Screen renders started and not finished (what the browser tests wait on). */
let rendering = 0;
/** Cleanups of the current screen (timers, dialogs); run on every navigation. @type {(() => void)[]} */
let cleanups = [];

/** Leaves the current screen (its timers stop, its dialogs close) and starts the next. @returns {View} */
export function beginView() {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
  const mine = ++generation;
  const current = () => mine === generation;
  return {
    current,
    show: (...children) => {
      if (!current()) return false;
      replace(main, ...children);
      return true;
    },
    every: (tick) => {
      if (current()) every(tick);
    },
  };
}

/**
 * Runs a render, counting it in `main`'s `data-rendering` while it runs.
 * @param {() => Promise<void>} work
 */
export async function counted(work) {
  main.dataset.rendering = String(++rendering);
  try {
    await work();
  } finally {
    main.dataset.rendering = String(--rendering);
  }
}

/** Runs `cleanup` when the user leaves the current screen. @param {() => void} cleanup */
export function onLeave(cleanup) {
  cleanups.push(cleanup);
}

/** A repeating refresh of the current screen. @param {() => Promise<boolean>} tick returns whether to continue */
function every(tick) {
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const loop = async () => {
    if (stopped) return;
    let again;
    try {
      again = await tick();
    } catch (error) {
      again = !isSignedOut(error);
    }
    if (!stopped && again) timer = setTimeout(() => void loop(), REFRESH_MS);
  };
  timer = setTimeout(() => void loop(), REFRESH_MS);
  onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
}
