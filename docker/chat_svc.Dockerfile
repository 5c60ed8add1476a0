# syntax=docker/dockerfile:1
# chat_svc: rooms, members, messages and the event stream (gRPC :50052).
#
#   docker build -f docker/chat_svc.Dockerfile -t parley/chat-svc:dev .    # from the repository root
#
# Serve: the default command. Migrate chat_db (a separate step, before rolling out; never
# at start): the same image with `python -m chat_svc migrate`.
#
# The three Python images (auth_svc, chat_svc, edge_gateway) share this builder stage line for
# line, so BuildKit builds it once for all three; tests/test_deploy_consistency.py fails when they
# drift apart. Base images are pinned to an exact patch release: bump all three files together
# (and the tests image in docker/compose.test.yaml).

# ---- builder: compile the dependencies into a virtualenv --------------------------------------
FROM python:3.11.15-slim-bookworm AS builder

# mysqlclient has no Linux wheels: it compiles against the MariaDB client headers.
# Debian's packages are not version-pinned (DL3008): the base image tag pins the Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev default-libmysqlclient-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src

# Dependencies first (a layer that survives code changes): only pyproject.toml's runtime
# dependencies, at the versions requirements.lock pins (-c), so images never carry the dev tools
# (pytest, mypy, kubectl, ...) that the lock also lists.
COPY pyproject.toml requirements.lock ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > runtime-requirements.txt \
    && pip install --no-cache-dir -c requirements.lock -r runtime-requirements.txt

# Then the code, installed as a regular (non-editable) package: migrations, .ini/.mako files and
# the generated gen/parley stubs are package data (see pyproject.toml). Tests are excluded.
COPY README.md ./
COPY gen ./gen
COPY common ./common
COPY auth_svc ./auth_svc
COPY chat_svc ./chat_svc
COPY edge_gateway ./edge_gateway
RUN pip install --no-cache-dir --no-deps . \
    && pip check

# ---- runtime: the virtualenv on a slim base, as an unprivileged user --------------------------
FROM python:3.11.15-slim-bookworm AS runtime

# libmariadb3 is the client library mysqlclient links against (no compiler, no headers here). It
# speaks MySQL 8's caching_sha2_password: Debian builds it with OpenSSL, so it fetches the
# server's RSA key by itself on a plain connection.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 parley \
    && useradd --system --uid 10001 --gid parley --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin parley \
    && mkdir -p /app/var/files \
    && chown -R parley:parley /app/var

COPY --from=builder /opt/venv /opt/venv
# PYTHONDONTWRITEBYTECODE: the code is compiled at install; the root filesystem may be read-only.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# /app/var is writable only so that a bare `docker run` works on SQLite; compose and Kubernetes
# set a MySQL URL.
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

EXPOSE 50052
# The gRPC health protocol (common/healthcheck.py: exit 0 iff SERVING, 3 s deadline). Through sh
# so that a changed CHAT_PORT is followed.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["sh", "-c", "exec python -m common.healthcheck \"127.0.0.1:${CHAT_PORT:-50052}\" parley.chat.v1.ChatService"]
CMD ["python", "-m", "chat_svc", "serve"]
