import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema } from '@relay/common';
import type { View } from '../../console/frames.js';
import { SnapshotSchema, type History } from './schemas.js';

/**
 * Bytes a stream may have queued unsent before it is closed: a client that
 * reads slower than one snapshot a second is cut off (it may reconnect and
 * get the history) rather than make the backend buffer for it without bound.
 */
export const STREAM_BACKLOG_MAX_BYTES = 256 * 1024;

/** A comment line this often keeps proxies from closing a quiet stream (while Redis is away, say). */
const PING_MS = 15_000;

export interface ConsoleStreamOptions {
  /** RELAY_AUTH=off: every stream sees every application. */
  authOff: boolean;
}

/**
 * GET /api/console/stream: the console's live overview as Server-Sent Events,
 * the only console route that is not the public API. The key travels in the
 * Authorization header like everywhere else (the console reads the stream
 * with fetch, since EventSource cannot send headers and a key in a URL ends
 * up in logs). An application key sees its application's counters and top
 * lists; the master key, or no keys at all, every application's.
 */
const consoleStreamRoutes: FastifyPluginAsyncTypebox<ConsoleStreamOptions> = async (app, { authOff }) => {
  app.get(
    '/api/console/stream',
    {
      schema: {
        tags: ['console'],
        summary:
          'Live overview for the console (Server-Sent Events): one `history` event, then a `snapshot` every second',
        description:
          'Events: `history` with `{"points": [Snapshot...]}` (up to 15 minutes, one point per second, top lists empty), ' +
          'then `snapshot` with a Snapshot at least once per second. Read it with fetch and the Authorization header. ' +
          'A client that falls behind by more than 256 KiB is disconnected.',
        security: [{ bearerKey: [] }],
        response: {
          200: {
            description: 'A text/event-stream of `history` then `snapshot` events',
            content: { 'text/event-stream': { schema: SnapshotSchema } },
          },
          401: ErrorBodySchema,
          503: ErrorBodySchema,
        },
      },
      config: { access: 'any' },
    },
    async (request, reply) => {
      const principal = request.principal;
      const view: View =
        authOff || principal.kind !== 'application'
          ? { kind: 'all' }
          : { kind: 'application', id: principal.application.id };
      const poller = app.consolePoller;
      // From here on the response is written by hand: no serializer, no onSend hooks.
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
        'x-request-id': request.id,
      });
      const history = { points: poller.history(view) } satisfies History;
      const historyChunk = `event: history\ndata: ${JSON.stringify(history)}\n\n`;
      // The history goes out in one piece: it may sit in the buffer on top of the allowance.
      const backlogMax = Buffer.byteLength(historyChunk) + STREAM_BACKLOG_MAX_BYTES;
      let open = true;
      const send = (chunk: string) => {
        if (!open) return;
        if (res.writableLength > backlogMax) {
          request.log.warn({ backlog: res.writableLength }, 'console stream client too slow; closing');
          close();
          res.destroy();
          return;
        }
        res.write(chunk);
      };
      send(historyChunk);
      const ping = setInterval(() => send(': ping\n\n'), PING_MS);
      const unsubscribe = poller.subscribe({
        frame: () => {
          const json = poller.latest(view);
          if (json !== null) send(`event: snapshot\ndata: ${json}\n\n`);
        },
        close: () => {
          close();
          res.end();
        },
      });
      // A frame may exist already (another stream keeps the poller running): send it at once.
      const current = poller.latest(view);
      if (current !== null) send(`event: snapshot\ndata: ${current}\n\n`);
      function close() {
        if (!open) return;
        open = false;
        clearInterval(ping);
        unsubscribe();
      }
      res.on('close', close);
      request.log.info({ view: view.kind }, 'console stream opened');
    },
  );
};

export default consoleStreamRoutes;
