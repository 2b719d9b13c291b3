import { ApiError, authHeaders } from './api.js';
import type { Snapshot } from './api-types.js';
import { SseParser } from './sse.js';

export const STREAM_PATH = '/api/console/stream';

export interface StreamHandlers {
  history(points: Snapshot[]): void;
  snapshot(point: Snapshot): void;
  /** null when (re)connected; otherwise what went wrong, for the page to show. */
  status(error: ApiError | null): void;
}

/** Waits before reconnecting after the stream dropped (ms): long enough not to hammer a restarting backend. */
const RECONNECT_MS = 2_000;

/**
 * Reads the live stream until `signal` aborts, reconnecting after a drop.
 * Every reconnect starts with a fresh `history` event, so the charts never
 * keep a gap the server already filled. A 401/403 stops: retrying a refused
 * key would only count against the stranger limit.
 */
export async function followStream(signal: AbortSignal, handlers: StreamHandlers): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch(STREAM_PATH, {
        headers: { accept: 'text/event-stream', ...authHeaders() },
        signal,
        cache: 'no-store',
      });
      if (!res.ok || !res.body) {
        let code = `HTTP_${res.status}`;
        let message = `The live stream answered ${res.status}`;
        try {
          const body = (await res.json()) as { code?: string; message?: string };
          if (body.code) code = body.code;
          if (body.message) message = body.message;
        } catch {
          // not JSON; the status says enough
        }
        handlers.status(new ApiError(res.status, code, message));
        if (res.status === 401 || res.status === 403) return;
      } else {
        handlers.status(null);
        const parser = new SseParser();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.push(value)) {
            if (event.event === 'history') handlers.history((JSON.parse(event.data) as { points: Snapshot[] }).points);
            else if (event.event === 'snapshot') handlers.snapshot(JSON.parse(event.data) as Snapshot);
          }
        }
        handlers.status(new ApiError(0, 'STREAM_ENDED', 'The live stream ended; reconnecting…'));
      }
    } catch (err) {
      if (signal.aborted) return;
      handlers.status(new ApiError(0, 'NETWORK', 'The live stream is unreachable; reconnecting…'));
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}
