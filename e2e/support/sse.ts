/**
 * A Server-Sent Events reader over fetch, as the console reads its stream
 * (EventSource cannot send an Authorization header). Tests pull events one
 * at a time with a deadline.
 */
export interface SseEvent {
  event: string;
  data: string;
}

export interface SseReader {
  status: number;
  headers: Headers;
  /** The next event named `name` (others are skipped); rejects after `timeoutMs`. */
  next(name: string, timeoutMs?: number): Promise<SseEvent>;
  /** Comment lines seen so far (`: ping`). */
  comments: string[];
  close(): void;
}

/** Parses complete events out of `buffer`; returns the events and the unparsed rest. */
export function parseSse(buffer: string, comments: string[] = []): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  let rest = buffer;
  let cut: number;
  while ((cut = rest.indexOf('\n\n')) !== -1) {
    const block = rest.slice(0, cut);
    rest = rest.slice(cut + 2);
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line);
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const queue: SseEvent[] = [];
  const comments: string[] = [];
  const waiters: (() => void)[] = [];
  let ended: Error | null = null;
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          const parsed = parseSse(buffer + decoder.decode(chunk, { stream: true }), comments);
          buffer = parsed.rest;
          queue.push(...parsed.events);
          waiters.splice(0).forEach((w) => w());
        }
        ended = new Error('stream ended');
      } catch (err) {
        ended = err as Error;
      }
      waiters.splice(0).forEach((w) => w());
    })();
  }
  return {
    status: res.status,
    headers: res.headers,
    comments,
    async next(name, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = queue.findIndex((e) => e.event === name);
        if (i !== -1) return queue.splice(0, i + 1).at(-1)!;
        queue.length = 0;
        if (ended) throw ended;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no '${name}' event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => abort.abort(),
  };
}
