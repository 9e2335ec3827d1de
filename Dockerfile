# syntax=docker/dockerfile:1
# mynaflow image: one image for the API (default), the Temporal worker and migrations.
#   api:      node dist/app/api.js
#   worker:   node --optimize-for-size dist/app/worker.js   (with MALLOC_ARENA_MAX=2)
#   migrate:  node dist/app/migrate.js   (as the database owner; sets the app role's password)
#   ops:      node dist/app/ops.js …     (the operators' CLI, `npm run ops` outside the image)

# Debian (glibc), not Alpine: @temporalio/core-bridge ships prebuilt binaries for glibc only.
FROM node:20-bookworm-slim AS base
# openssl: Prisma's CLI probes it to detect the platform and warns when it is missing.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

FROM base AS build
COPY package.json package-lock.json ./
# Production dependencies only: the build below compiles with esbuild and tsx, both dependencies.
# --ignore-scripts: no install script is needed (Prisma uses its JS engine, native packages ship
# prebuilt binaries), and the project's npm 11 skips them anyway; the image's npm 10 must match.
RUN npm ci --omit=dev --ignore-scripts
COPY . .
# Our fixes to dependencies (patches/, e.g. the OpenAPI validator's route lookup), as postinstall
# applies them outside the image.
RUN npx --no-install patch-package
# Prisma wants some DATABASE_URL even to generate; none is contacted.
RUN DATABASE_URL=postgresql://build@localhost/build npx --no-install prisma generate
# What runs: the entries compiled to dist/app (plain JavaScript, no tsx at run time) and the
# workflow bundle the worker loads instead of running webpack at every start.
RUN node --import tsx scripts/build.ts

# Only /app is carried over, leaving the npm cache and build layers behind.
FROM base AS runtime
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
# Code stays root-owned (the app cannot rewrite itself).
COPY --from=build /app /app
# DATA_DIR (master key, later) is the one writable place; a named volume mounted here inherits
# this ownership on first use.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
CMD ["node", "dist/app/api.js"]
