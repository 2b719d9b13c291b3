# One image for both processes: the default command runs the backend, and the
# worker service in docker-compose.yml overrides it. TypeScript runs through tsx,
# as it does locally, so there is no build step to drift from the sources.
FROM node:20-slim

# corepack cannot fetch pnpm through the registry set up here; npm can.
RUN npm i -g pnpm@10.34.9

WORKDIR /app

# Manifests and lockfile first: the install layer is reused until a dependency
# changes. Every workspace project is listed, or --frozen-lockfile refuses the lock.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/common/package.json packages/common/
COPY packages/backend/package.json packages/backend/
COPY packages/worker/package.json packages/worker/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
# tsx is a devDependency of the root, so dev dependencies are installed too.
RUN CI=true pnpm install --frozen-lockfile

COPY . .

ENV HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000
USER node

# The .bin wrapper execs node, so SIGTERM reaches tsx, which relays it to the app.
CMD ["node_modules/.bin/tsx", "packages/backend/src/server.ts"]
