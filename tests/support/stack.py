"""One builder for the real services as processes: databases, environment, start, wait, stop.

chat_svc's and the gateway's integration stacks, the browser tests' stack, the scale cluster and the
bench all start auth_svc, chat_svc (one or several replicas), edge_gateway, the built web app and a
Redis broker through `Stack`, so a new setting or component is added in one place.

Ports are picked here (free_port) and passed in, rather than read from the "listening on" log line,
so that every address is known up front: auth_svc, the chat_svc replicas and the web app start side
by side, and a stack whose services log at WARNING (the bench) starts the same way. Readiness is
asked of the process itself: gRPC health for the services, /readyz for the gateway (its event
stream from chat_svc is live).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Self

import grpc
import httpx
import orjson
from sqlalchemy import Engine, create_engine, text

from edge_gateway.rates import DEFAULT_LIMITS
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from tests.support import mysql
from tests.support.processes import (
    ROOT,
    ServiceProcess,
    free_port,
    grpc_serving,
    http_answers,
    spawn,
    wait_until,
)
from tests.support.redis import RedisServer

Component = Literal["auth_svc", "chat_svc", "edge_gateway", "webapp"]
AUTH: Final = "auth_svc"
CHAT: Final = "chat_svc"
GATEWAY: Final = "edge_gateway"
WEB: Final = "webapp"
SERVICE_NAMES = {AUTH: "parley.auth.v1.AuthService", CHAT: "parley.chat.v1.ChatService"}
PORT_VARIABLES = {AUTH: "AUTH_PORT", CHAT: "CHAT_PORT", GATEWAY: "GATEWAY_PORT", WEB: "PORT"}
METRICS_VARIABLES = {AUTH: "AUTH_METRICS_PORT", CHAT: "CHAT_METRICS_PORT", GATEWAY: "GATEWAY_METRICS_PORT"}
SERVER_JS = ROOT / "webapp" / ".next" / "standalone" / "server.js"
GATEWAY_SECRET = "test-gateway-secret-0123456789"
# Service clients of the operator APIs in every stack: "operator" may read and write, "auditor" only read.
OPERATORS: dict[str, dict[str, Any]] = {
    "operator": {"secret": "test-operator-secret-0123456789", "scopes": ["admin:read", "admin:write"]},
    "auditor": {"secret": "test-auditor-secret-0123456789", "scopes": ["admin:read"]},
}
PASSWORD = "correct horse battery"
# What every stack runs with unless its `env` says otherwise. Tests send in bursts, open many
# sockets and sign up many users from one address: the rate limits and socket caps are as good as
# off, and the tests of the limits (tests/test_flood.py, edge_gateway/tests/test_rates.py) set their own.
UNLIMITED = orjson.dumps({name: "1000000 per second" for name in DEFAULT_LIMITS}).decode()
DEFAULTS = {
    "GATEWAY_RATE_LIMITS": UNLIMITED,
    "GATEWAY_WS_SOCKETS_PER_USER": "100000",
    "GATEWAY_WS_ANONYMOUS_SOCKETS_PER_ADDRESS": "100000",
    "CHAT_SHUTDOWN_GRACE_SECONDS": "5",
    "GATEWAY_SHUTDOWN_GRACE_SECONDS": "2",
}
_STORED = {
    "body": text("SELECT seq, body FROM messages WHERE room_id = :room ORDER BY seq"),
    "client_msg_id": text("SELECT seq, client_msg_id FROM messages WHERE room_id = :room ORDER BY seq"),
}


@dataclass
class Stack:
    """The processes of one stack and how to reach them; build it up with create_databases, start or up."""

    workdir: Path  # the signing keys, and SQLite files when there is no MySQL prefix
    env: Mapping[str, str] = field(default_factory=dict)  # on top of DEFAULTS, for every process
    logs: Path | None = None  # a log file per process there, instead of lines kept in memory
    secret: str = GATEWAY_SECRET
    auth_db_url: str = ""
    chat_db_url: str = ""
    broker: RedisServer | None = None
    web_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)  # the first gateway's: the web app needs it up front
    processes: dict[str, list[ServiceProcess]] = field(
        default_factory=lambda: {AUTH: [], CHAT: [], GATEWAY: [], WEB: []}
    )
    _engine: Engine | None = None

    # -- databases ------------------------------------------------------------------------------

    def create_databases(self, mysql_prefix: str | None = None, server_url: str = mysql.SERVER_URL) -> Self:
        """Fresh auth_db and chat_db, migrated.

        With a prefix: MySQL databases `<prefix>_auth` and `<prefix>_chat` (with this run's id) on the
        shared test server or `server_url`; without: SQLite files in workdir.
        """
        if mysql_prefix is None:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.auth_db_url = f"sqlite:///{self.workdir / 'auth.db'}"
            self.chat_db_url = f"sqlite:///{self.workdir / 'chat.db'}"
        else:
            self.auth_db_url = mysql.fresh_database(f"{mysql_prefix}_auth", server_url)
            self.chat_db_url = mysql.fresh_database(f"{mysql_prefix}_chat", server_url)
        self.migrate(AUTH, CHAT)
        return self

    def migrate(self, *components: Component) -> None:
        """Bring the components' databases to the latest schema.

        In this process, one after the other (Alembic's context is global): several times faster than
        a `python -m <service> migrate` each, which imports the whole service first.
        """
        from common import migrations  # alembic loads slowly: only stacks with databases pay for it

        urls = {AUTH: self.auth_db_url, CHAT: self.chat_db_url}
        for component in components:
            migrations.upgrade(ROOT / component / "migrations", urls[component])

    # -- environment ----------------------------------------------------------------------------

    @property
    def keys_dir(self) -> Path:
        """auth_svc's signing keys (the first start generates one)."""
        return self.workdir / "auth-keys"

    def environment(self, component: Component, port: int) -> dict[str, str]:
        """The variables of one process of component listening on port (the stack's env last)."""
        own: dict[str, str] = {PORT_VARIABLES[component]: str(port)}
        if component == AUTH:
            own |= {
                "AUTH_HOST": "127.0.0.1",
                "AUTH_DATABASE_URL": self.auth_db_url,
                "AUTH_KEYS_DIR": str(self.keys_dir),
                "AUTH_SERVICE_CLIENTS": orjson.dumps({"edge_gateway": self.secret, **OPERATORS}).decode(),
            }
        elif component == CHAT:
            own |= {"CHAT_HOST": "127.0.0.1", "CHAT_DATABASE_URL": self.chat_db_url}
            own |= {"CHAT_FILE_FOLDER": str(self.workdir / "files")}  # one folder for every replica, as a shared volume
            own |= {"CHAT_AUTH_ADDRESS": self.auth.address} if self.processes[AUTH] else {}
            own |= {"CHAT_BROKER_URL": self.broker.url} if self.broker else {}
        elif component == GATEWAY:
            own |= self._gateway_environment()
        else:
            own |= {"HOSTNAME": "127.0.0.1", "NEXT_TELEMETRY_DISABLED": "1", "GATEWAY_PUBLIC_URL": self.gateway_url}
        return {**DEFAULTS, **own, **self.env}

    def _gateway_environment(self) -> dict[str, str]:
        env = {
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_AUTH_ADDRESS": self.auth.address,
            "GATEWAY_CHAT_ADDRESS": self.chat_address,
            "GATEWAY_CLIENT_SECRET": self.secret,
        }
        if self.processes[WEB]:
            env["GATEWAY_CORS_ORIGINS"] = orjson.dumps([self.web_url]).decode()
        if self.broker:
            index = len(self.processes[GATEWAY])
            env |= {"GATEWAY_BROKER_URL": self.broker.url, "GATEWAY_INSTANCE_ID": f"gw{index}-{uuid.uuid4().hex[:4]}"}
        return env

    # -- starting and stopping ------------------------------------------------------------------

    def start(self, component: Component, env: Mapping[str, str] | None = None) -> ServiceProcess:
        """Start one more process of component on a free port (env on top) and wait until it serves."""
        process = self.launch(component, env)
        try:
            self.wait_until_ready(process)
        except BaseException:
            self.processes[component].remove(process)
            process.kill()
            raise
        return process

    def launch(self, component: Component, env: Mapping[str, str] | None = None) -> ServiceProcess:
        """Start one more process of component without waiting: its address is known at once."""
        started = self.processes[component]
        # The first gateway's and the web app's ports are picked up front: the web app and CORS name them.
        reserved = {GATEWAY: self.gateway_port, WEB: self.web_port}.get(component)
        port = reserved if reserved and not started else free_port()
        env = {**self.environment(component, port), **(env or {})}
        metrics_port = free_port() if component in METRICS_VARIABLES else None
        if metrics_port is not None:
            env[METRICS_VARIABLES[component]] = str(metrics_port)
        log = self.logs / f"{component}{f'-{len(started)}' if started else ''}.log" if self.logs else None
        if component == WEB:
            process = spawn(WEB, ["node", str(SERVER_JS)], env, port, log, cwd=SERVER_JS.parent)
        else:
            process = spawn(component, [sys.executable, "-m", component, "serve"], env, port, log)
        process.metrics_port = metrics_port
        started.append(process)
        return process

    @staticmethod
    def wait_until_ready(process: ServiceProcess) -> None:
        """Wait until the process serves: gRPC health, the gateway's /readyz, the web app's login page."""
        module = process.module
        if module == GATEWAY:
            ready = http_answers(f"http://{process.address}/readyz")
        elif module == WEB:
            ready = http_answers(f"http://{process.address}/login", below=500)
        else:
            ready = grpc_serving(process.address, SERVICE_NAMES[module])
        wait_until(ready, module, process, timeout=60)  # processes started side by side on a busy machine: slow

    def start_broker(self) -> RedisServer:
        """A Redis broker of the stack's own (chat_svc replicas and gateways started after it use it)."""
        self.broker = RedisServer().start()
        return self.broker

    def up(self, replicas: int = 1, gateways: int = 1, broker: bool = False, web: bool = False) -> Self:
        """Start the components, each as early as it can; stop them all if one fails.

        auth_svc, the chat_svc replicas and the web app start side by side (every address is known
        up front), then the gateways, which need chat_svc ready: a refused first event stream would
        cost them gRPC's reconnect backoff.
        """
        try:
            if broker:
                self.start_broker()
            first = [self.launch(AUTH), *(self.launch(CHAT) for _ in range(replicas))]
            last = [self.launch(WEB)] if web else []
            for process in first:
                self.wait_until_ready(process)
            for process in [self.launch(GATEWAY) for _ in range(gateways)] + last:
                self.wait_until_ready(process)
        except BaseException:
            self.stop()
            raise
        return self

    def running(self) -> list[ServiceProcess]:
        """Every process started, of every component."""
        return [process for processes in self.processes.values() for process in processes]

    def stop(self) -> None:
        """Stop every process that still runs, all at once (each may wait out its grace period)."""
        running = self.running()
        with ThreadPoolExecutor(max(1, len(running))) as pool:
            list(pool.map(ServiceProcess.stop, running))
        if self.broker is not None:
            self.broker.stop()
        if self._engine is not None:
            self._engine.dispose()

    # -- addresses ------------------------------------------------------------------------------

    def _first(self, component: Component) -> ServiceProcess:
        assert self.processes[component], f"no {component} was started"
        return self.processes[component][0]

    @property
    def auth(self) -> ServiceProcess:
        """The first auth_svc."""
        return self._first(AUTH)

    @property
    def chat(self) -> ServiceProcess:
        """The first chat_svc replica."""
        return self._first(CHAT)

    @property
    def chats(self) -> list[ServiceProcess]:
        """Every chat_svc replica started."""
        return self.processes[CHAT]

    @property
    def gateway(self) -> ServiceProcess:
        """The first gateway."""
        return self._first(GATEWAY)

    @property
    def gateways(self) -> list[ServiceProcess]:
        """Every gateway started."""
        return self.processes[GATEWAY]

    @property
    def auth_address(self) -> str:
        """host:port of the first auth_svc."""
        return self.auth.address

    @property
    def chat_address(self) -> str:
        """gRPC target of every chat_svc replica (one round-robin target when there are several)."""
        addresses = [chat.address for chat in self.chats]
        assert addresses, "no chat_svc was started"
        return addresses[0] if len(addresses) == 1 else "ipv4:" + ",".join(addresses)

    @property
    def gateway_url(self) -> str:
        """http://host:port of the first gateway (known before it starts)."""
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def api_url(self) -> str:
        """Base URL of the first gateway's REST API."""
        return f"{self.gateway_url}/api/v1"

    @property
    def ws_url(self) -> str:
        """URL of the first gateway's WebSocket endpoint."""
        return self.api_url.replace("http://", "ws://", 1) + "/ws"

    @property
    def web_url(self) -> str:
        """Origin of the web app (its port is picked before the gateway starts, for CORS)."""
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def pids(self) -> dict[str, int]:
        """Process id of the first process of each component started."""
        return {name: processes[0].process.pid for name, processes in self.processes.items() if processes}

    # -- users and messages ---------------------------------------------------------------------

    def register(self, prefix: str = "user", password: str = PASSWORD, api_url: str = "") -> tuple[dict[str, Any], str]:
        """Sign up a user with a unique name through the REST API; (user JSON, access token)."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        response = httpx.post(
            f"{api_url or self.api_url}/auth/register", json={"username": name, "password": password}, timeout=10
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["user"], str(body["session"]["access_token"])

    def private_room(self, name: str, owner_token: str, member: dict[str, Any], member_token: str) -> int:
        """A private room of two: the owner creates it inviting `member`, who accepts; its id."""
        with httpx.Client(base_url=self.api_url, timeout=10) as api:
            created = api.post(
                "/rooms",
                json={"kind": "private", "name": name, "member_ids": [member["id"]]},
                headers={"Authorization": f"Bearer {owner_token}"},
            )
            assert created.status_code == 201, created.text
            room = int(created.json()["id"])
            accepted = api.post(f"/invitations/{room}/accept", headers={"Authorization": f"Bearer {member_token}"})
            assert accepted.status_code == 200, accepted.text
        return room

    def service_token(self, client: str = "operator") -> str:
        """An access token of one of OPERATORS (IssueServiceToken over gRPC), with its scopes."""
        with grpc.insecure_channel(self.auth_address) as channel:
            request = auth_pb2.IssueServiceTokenRequest(client_id=client, client_secret=OPERATORS[client]["secret"])
            reply = auth_pb2_grpc.AuthServiceStub(channel).IssueServiceToken(request, timeout=10)
        return str(reply.access_token)

    def stored_messages(self, room_id: int, column: Literal["body", "client_msg_id"] = "body") -> list[tuple[int, str]]:
        """(seq, body or client_msg_id) of a room's messages as chat_db holds them, ascending seq."""
        if self._engine is None:
            self._engine = create_engine(self.chat_db_url)
        with self._engine.connect() as conn:
            rows = conn.execute(_STORED[column], {"room": room_id})
            return [(int(seq), str(value)) for seq, value in rows]
