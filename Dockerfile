# syntax=docker/dockerfile:1
# tenant-guard admission webhook image.
#
#   docker build -t tenant-guard:dev .
#   docker run --rm tenant-guard:dev --help
#
# Three stages: compile the TypeScript, install production dependencies only,
# then copy both into a distroless Node.js runtime (no shell, no package
# manager, nonroot user): the webhook gates API writes, so its image carries as
# little as possible. Every dependency is pure JavaScript (no native add-on),
# so node_modules built on Debian 12 runs on distroless' Debian 12 unchanged.
# Pin the base images by digest in release builds.
ARG NODE_VERSION=20

# 1. Build: all dependencies (TypeScript is a devDependency), then `tsc` into dist/.
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The commit `tenant-guard --version` and tenant_guard_build_info name (the
# build context has no .git): docker build --build-arg TG_COMMIT=$(git rev-parse HEAD) .
ARG TG_COMMIT=unknown
RUN TG_COMMIT=${TG_COMMIT} npm run build

# 2. Production dependencies only, from the same lock file.
FROM node:${NODE_VERSION}-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. Runtime.
FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module", which makes Node load dist/ as ESM.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The demo tenancy config (used only when passed as --config examples/tenancy.yaml).
COPY examples ./examples
# distroless "nonroot" is uid/gid 65532; numeric, so Kubernetes can verify
# runAsNonRoot (the Helm chart sets the same ids).
USER 65532:65532
EXPOSE 8443
# Exec form: node is PID 1 and receives SIGTERM itself (the server handles it:
# fails /readyz, waits --shutdown-delay, drains in-flight reviews).
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/main.js"]
# No default subcommand: serve needs --config (the chart passes it); without arguments the image prints its usage.
CMD ["--help"]
