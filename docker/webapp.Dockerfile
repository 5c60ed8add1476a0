# syntax=docker/dockerfile:1
# webapp: the Next.js browser client (HTTP :3000), as Next's standalone server.
#
#   docker build -f docker/webapp.Dockerfile -t parley/webapp:dev \
#       --build-arg NEXT_PUBLIC_GATEWAY_URL=http://localhost:8000 .   # from the repository root
#
# The gateway's URL can be baked in at build time (NEXT_PUBLIC_GATEWAY_URL) or, better, given at
# run time as GATEWAY_PUBLIC_URL, which wins (webapp/src/lib/config.ts): then one image serves
# every environment. Node is pinned to the exact release the developers and CI use.

# ---- deps: node_modules from the lockfile only, a layer that survives code changes -----------
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY webapp/package.json webapp/package-lock.json ./
RUN npm ci --no-audit --no-fund

# ---- builder: `npm run build` = next build (output: "standalone") + copying .next/static and
# public/ next to the standalone server.js (webapp/scripts/copy-standalone-assets.mjs) -----------
FROM node:20.20.2-bookworm-slim AS builder
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY webapp/ ./
ARG NEXT_PUBLIC_GATEWAY_URL=""
ENV NEXT_TELEMETRY_DISABLED=1 \
    NEXT_PUBLIC_GATEWAY_URL=${NEXT_PUBLIC_GATEWAY_URL}
RUN npm run build

# ---- runtime: only the standalone server (it carries the node_modules it traced) -------------
FROM node:20.20.2-bookworm-slim AS runtime
WORKDIR /app
# HOSTNAME: Docker sets it to the container id; Next's server binds to it, so bind to all.
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    PORT=3000 \
    HOSTNAME=0.0.0.0
# Files stay owned by root (the server cannot rewrite its own code); only Next's cache is
# writable, by the image's unprivileged `node` user (uid 1000).
COPY --from=builder /app/.next/standalone ./
RUN mkdir -p .next/cache && chown node:node .next/cache
USER 1000:1000

EXPOSE 3000
# Node 20 has fetch; any non-2xx answer, refusal or 3 s timeout is unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/', {signal: AbortSignal.timeout(3000)}).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Next's server handles SIGTERM itself, so node can be PID 1 without an init.
CMD ["node", "server.js"]
