// Bulk change page, live: the server pushes progress (Server-Sent Events from
// GET /bulk-changes/:id/events); when that stream is not available the page polls instead.
// Also the throughput over the last minute and the time left, from the counts seen.
import { API } from '../lib/api.js';
import { fmtNum } from '../lib/format.js';
import { onLeave } from '../lib/router.js';

/** @typedef {import('../lib/types.js').Counts} Counts */

const WINDOW_MS = 60_000;

/** Devices finished (processed, error or cancelled) of some counts. @param {Counts} c */
export const finished = (c) => c.processed + c.error + c.cancelled;

/**
 * Keeps the counts seen over the last minute: devices per minute and the time left.
 * @returns {{ add: (counts: Counts) => void, text: (counts: Counts, open: boolean) => string }}
 */
export function throughput() {
  /** @type {{ at: number, done: number }[]} */
  const samples = [];
  return {
    add(counts) {
      const now = Date.now();
      samples.push({ at: now, done: finished(counts) });
      while (samples.length > 2 && now - (samples[1]?.at ?? now) > WINDOW_MS) samples.shift();
    },
    text(counts, open) {
      if (!open) return '';
      const first = samples[0];
      const last = samples[samples.length - 1];
      if (!first || !last || last.at - first.at < 2_000) return 'Measuring throughput…';
      const perMin = ((last.done - first.done) * 60_000) / (last.at - first.at);
      if (perMin <= 0) return 'No device finished in the last minute.';
      const left = counts.total - finished(counts) - counts.waiting;
      const minutes = left / perMin;
      const eta =
        minutes < 1
          ? 'less than a minute left'
          : minutes < 90
            ? `about ${Math.ceil(minutes)} min left`
            : `about ${Math.round(minutes / 60)} h left`;
      return `${fmtNum(Math.round(perMin))} devices/min over the last minute · ${left > 0 ? eta : 'finishing'}`;
    },
  };
}

/**
 * Follows a bulk change while it is open: `onChange` runs on each pushed event (SSE), or on each
 * poll when the stream fails. `isOpen` says whether to go on. Stops when the user leaves the page.
 * @param {number} id
 * @param {{ every: (tick: () => Promise<boolean>) => void }} view
 * @param {() => Promise<void>} onChange re-reads and redraws
 * @param {() => boolean} isOpen
 * @returns {{ mode: () => 'events' | 'polling' | 'idle' }}
 */
export function follow(id, view, onChange, isOpen) {
  /** @type {'events' | 'polling' | 'idle'} */
  let mode = 'idle';
  const poll = () => {
    if (mode === 'polling') return;
    mode = 'polling';
    document.body.dataset.live = mode;
    view.every(async () => {
      await onChange();
      const open = isOpen();
      if (!open) mode = 'idle';
      return open;
    });
  };
  if (typeof EventSource === 'undefined') {
    poll();
    return { mode: () => mode };
  }
  const source = new EventSource(`${API}/bulk-changes/${id}/events`, { withCredentials: true });
  mode = 'events';
  document.body.dataset.live = mode;
  let busy = false;
  let again = false;
  const changed = async () => {
    if (busy) return void (again = true);
    busy = true;
    try {
      do {
        again = false;
        await onChange();
      } while (again);
    } finally {
      busy = false;
    }
    if (!isOpen()) source.close();
  };
  source.addEventListener('progress', () => void changed());
  source.addEventListener('message', () => void changed());
  // The server's last event at a final status; closed here, or EventSource would reconnect.
  source.addEventListener('final', () => {
    source.close();
    void changed();
  });
  source.onerror = () => {
    // The stream ended or never opened (an older server, a proxy that buffers): poll instead.
    source.close();
    if (isOpen()) poll();
  };
  onLeave(() => source.close());
  return { mode: () => mode };
}
