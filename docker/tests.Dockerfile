# syntax=docker/dockerfile:1
# The test runner of docker/compose.test.yaml: everything scripts/test needs, and nothing else.
# The repository is mounted at /repo at run time (this image holds no code), so it tests your
# working tree:
#
#   docker compose -f docker/compose.yaml -f docker/compose.test.yaml run --rm tests
#
# Python is the service images' exact release, Node the web app image's, and Chromium is
# Debian's, as the browser tests expect at /usr/bin/chromium (tests/browser/conftest.py).

# Node 20 comes from its official image: Debian bookworm's own nodejs is 18, too old for Next 16.
FROM node:20.20.2-bookworm-slim AS node

FROM python:3.11.15-slim-bookworm

# scripts/bootstrap needs: a compiler and the MariaDB headers (mysqlclient), git (it hashes the
# web app's sources with `git ls-files`), chromium for the browser tests, and redis-server for
# the scale-out tests (they start and kill brokers of their own), prometheus (promtool and a real
# Prometheus for tests/test_observability.py; an image starts no service, so it never runs on its own).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gcc libc6-dev default-libmysqlclient-dev pkg-config git chromium redis-server prometheus \
    && rm -rf /var/lib/apt/lists/* \
    # The mounted tree belongs to the host's user; without this git refuses to read it.
    && git config --system --add safe.directory /repo

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version && npm --version

ENV NEXT_TELEMETRY_DISABLED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /repo
# Root on purpose: a throwaway container, and scripts/bootstrap may apt-get what is missing.
CMD ["bash", "scripts/test"]
