import type { TypedApp } from '../../src/http/app.ts';

/**
 * A Server-Sent Events client as a browser's EventSource reads a stream (the real HTTP client of
 * Node over loopback), keeping every field: `retry:` lines, events, comments.
 */

export interface SseEvent {
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

export interface StreamRead {
  opening: { status: number; contentType: string | null; retryAfter: string | null };
  events: SseEvent[];
  /** The server ended the stream (false: the reader aborted it). */
  ended: boolean;
}

/** A session cookie header for this user, as the sign-in screen gets it. */
export async function signIn(app: TypedApp, email: string, password: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  const session = res.cookies.find((c) => c.name === 'simbind_session');
  if (!session) throw new Error(`no session cookie: ${res.statusCode} ${res.body}`);
  return `simbind_session=${session.value}`;
}

/** Reads `url` until the server ends it (or `signal` aborts); `opened` settles with the status. */
export function readEvents(
  url: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<StreamRead> & { opened: Promise<{ status: number }> } {
  let opened!: (value: { status: number }) => void;
  const openedPromise = new Promise<{ status: number }>((resolve) => (opened = resolve));
  const read = (async (): Promise<StreamRead> => {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal });
    const opening = {
      status: res.status,
      contentType: res.headers.get('content-type'),
      retryAfter: res.headers.get('retry-after'),
    };
    opened({ status: res.status });
    if (res.status !== 200) {
      await res.text();
      return { opening, events: [], ended: true };
    }
    const events: SseEvent[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      const reader = res.body!.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          events.push(parseBlock(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
        }
      }
      return { opening, events, ended: true };
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') return { opening, events, ended: false };
      throw error;
    }
  })();
  read.catch(() => opened({ status: 0 }));
  return Object.assign(read, { opened: openedPromise });
}

function parseBlock(block: string): SseEvent {
  const event: SseEvent = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) event.comment = line.slice(1).trim();
    else if (line.startsWith('retry: ')) event.retry = Number(line.slice(7));
    else if (line.startsWith('event: ')) event.event = line.slice(7);
    else if (line.startsWith('data: ')) event.data = line.slice(6);
  }
  return event;
}
