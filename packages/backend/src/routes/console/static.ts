import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { RelayError } from '@relay/common';

/**
 * What the console's pages may load: only files of this server, no inline
 * script or style, no frames, no form posts, and fetch() to this origin only
 * (the public API and the stream). Nothing outside the machine is reachable
 * anyway; this makes an injected script unable to run or call out.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface ConsoleStaticOptions {
  /** The built console: index.html and its assets. */
  distDir: string;
}

/**
 * The console, registered with the prefix /console: its built files with @fastify/static, and
 * index.html for every other path without a file extension, so that deep
 * links (/console/jobs/<id>, /console/jobs?status=failed) load the app, which
 * routes on the client. Every answer carries the strict CSP. Without a build,
 * every /console path answers 503 RELAY_ERR_CONSOLE_NOT_BUILT saying what to
 * run. Whether it is built is decided at start-up (restart after building).
 */
const consoleStaticRoutes: FastifyPluginAsync<ConsoleStaticOptions> = async (app, { distDir }) => {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  });

  if (!existsSync(join(distDir, 'index.html'))) {
    app.log.warn({ distDir }, 'console not built; /console answers 503 until `pnpm build` and a restart');
    const notBuilt = async () => {
      throw new RelayError('CONSOLE_NOT_BUILT');
    };
    app.get('/', { schema: { hide: true } }, notBuilt);
    app.get('/*', { schema: { hide: true } }, notBuilt);
    return;
  }

  await app.register(fastifyStatic, {
    root: distDir,
    prefix: '/',
    // The console's own scope (registered under /console): reply.sendFile serves index.html below.
    decorateReply: true,
    index: false,
    // Cache-Control is set below, per kind of file, instead of send's `max-age=0` for all.
    cacheControl: false,
    // Vite names assets by content hash: they never change under one name.
    setHeaders: (res, path) => {
      res.setHeader(
        'cache-control',
        path.includes(`${join(distDir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });

  const sendIndex = (reply: FastifyReply) => reply.header('cache-control', 'no-cache').sendFile('index.html', distDir);
  // `/` under the /console prefix: both /console and /console/.
  app.get('/', { schema: { hide: true } }, (_request, reply) => sendIndex(reply));
  // Reached for every /console path that is not a file (fastify-static passes its misses here).
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    // A missing asset is a 404; any other page is the app's to route.
    if (request.method !== 'GET' || extname(path) !== '') {
      throw new RelayError('NOT_FOUND');
    }
    return sendIndex(reply);
  });
};

export default consoleStaticRoutes;
