# One image for both processes: the default command runs the backend, and the
# worker service in docker-compose.yml overrides it. The build stage compiles the
# TypeScript (`pnpm build`: tsc -b to packages/*/dist); the runtime stage holds
# the production dependencies and those dist/ folders only, and runs them with
# node: no tsx, no compiler, no dev dependencies.
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS manifests
# corepack cannot fetch pnpm through the registry set up here; npm can.
RUN npm i -g pnpm@10.34.9
WORKDIR /app
# Manifests and lockfile first: the install layers are reused until a dependency
# changes. Every workspace project is listed, or --frozen-lockfile refuses the lock.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/common/package.json packages/common/
COPY packages/backend/package.json packages/backend/
COPY packages/worker/package.json packages/worker/
COPY packages/console/package.json packages/console/
COPY e2e/package.json e2e/
COPY bench/package.json bench/

FROM manifests AS build
RUN CI=true pnpm install --frozen-lockfile
COPY . .
RUN pnpm build

FROM manifests AS prod-deps
# What the backend and the worker import at run time: their dependencies and
# common's, without dev dependencies and without the root's (tsx, typescript, vitest).
RUN CI=true pnpm install --frozen-lockfile --prod --filter '@relay/backend...' --filter '@relay/worker...'

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# pnpm links each package's dependencies from packages/*/node_modules into
# node_modules/.pnpm with relative symlinks, which COPY keeps. packages/ brings
# each package.json too: node reads "type" and "exports" there, and the backend
# its version.
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=prod-deps /app/packages packages
COPY --from=build /app/packages/common/dist packages/common/dist
COPY --from=build /app/packages/backend/dist packages/backend/dist
# The console: static files the backend serves at /console (built by vite in `pnpm build`).
COPY --from=build /app/packages/console/dist packages/console/dist
COPY --from=build /app/packages/worker/dist packages/worker/dist
# The entrypoint fills generated secrets (docker-compose.yml); init-secrets.sh
# is run by compose's one-shot `secrets` service. Run with sh: no exec bit needed.
COPY docker/entrypoint.sh docker/init-secrets.sh docker/

ENV HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000
# The files stay root's: the process can read them, not change them.
USER node

# node is the process itself (compose adds an init as PID 1 to reap children;
# the entrypoint execs the command), so SIGTERM reaches the app's own shutdown.
# Without RELAY_SECRETS_DIR the entrypoint changes nothing.
ENTRYPOINT ["sh", "/app/docker/entrypoint.sh"]
CMD ["node", "packages/backend/dist/server.js"]
