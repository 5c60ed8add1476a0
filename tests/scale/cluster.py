"""Several replicas on one machine: a broker, auth_svc, N chat_svc and N gateways on fresh MySQL databases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

from tests.support import mysql
from tests.support.processes import ServiceProcess, run_command, start_service, wait_until_serving
from tests.support.redis import RedisServer

GATEWAY_SECRET = "gw-scale-test-secret-0123456789"
PASSWORD = "correct horse battery"


@dataclass
class Cluster:
    """Real processes; kill and restart them to test failures."""

    tmp: Path
    replicas: int = 2
    presence_ttl: float = 3.0
    broker: RedisServer = field(default_factory=RedisServer)
    auth: ServiceProcess | None = None
    chats: list[ServiceProcess] = field(default_factory=list)
    gateways: list[ServiceProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> Cluster:
        """Broker, databases, auth_svc, then the chat_svc replicas, then the gateways."""
        self.broker.start()
        tag = uuid.uuid4().hex[:6]
        self.env = {
            "AUTH_HOST": "127.0.0.1",
            "AUTH_PORT": "0",
            "AUTH_DATABASE_URL": mysql.fresh_database(f"parley_test_sc_auth_{tag}"),
            "AUTH_KEYS_DIR": str(self.tmp / "keys"),
            "AUTH_SERVICE_CLIENTS": orjson.dumps({"edge_gateway": GATEWAY_SECRET}).decode(),
            "CHAT_HOST": "127.0.0.1",
            "CHAT_PORT": "0",
            "CHAT_DATABASE_URL": mysql.fresh_database(f"parley_test_sc_chat_{tag}"),
            "CHAT_SEND_RATE_PER_SECOND": "100000",
            "CHAT_SEND_BURST": "100000",
            "CHAT_SHUTDOWN_GRACE_SECONDS": "3",
            "CHAT_BROKER_URL": self.broker.url,
            "CHAT_GAP_SWEEP_SECONDS": "0.5",
        }
        run_command("auth_svc", "migrate", self.env)
        run_command("chat_svc", "migrate", self.env)
        self.auth = start_service("auth_svc", self.env)
        self.env["CHAT_AUTH_ADDRESS"] = self.auth.address
        for _ in range(self.replicas):
            self.chats.append(start_service("chat_svc", self.env))
        for index in range(self.replicas):
            self.gateways.append(self.start_gateway(index))
        return self

    def gateway_env(self, index: int) -> dict[str, str]:
        """Environment of gateway `index`: every chat_svc replica as one round-robin target."""
        assert self.auth is not None
        return {
            **self.env,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": "0",
            "GATEWAY_AUTH_ADDRESS": self.auth.address,
            "GATEWAY_CHAT_ADDRESS": "ipv4:" + ",".join(chat.address for chat in self.chats),
            "GATEWAY_CLIENT_SECRET": GATEWAY_SECRET,
            "GATEWAY_SHUTDOWN_GRACE_SECONDS": "2",
            "GATEWAY_BROKER_URL": self.broker.url,
            "GATEWAY_INSTANCE_ID": f"gw{index}-{uuid.uuid4().hex[:4]}",
            "GATEWAY_PRESENCE_TTL_SECONDS": str(self.presence_ttl),
        }

    def start_gateway(self, index: int) -> ServiceProcess:
        """Start gateway `index` and wait until it answers."""
        gateway = start_service("edge_gateway", self.gateway_env(index))
        wait_until_serving(f"http://{gateway.address}")
        return gateway

    def ws_url(self, index: int) -> str:
        """WebSocket URL of gateway `index`."""
        return f"ws://{self.gateways[index].address}/api/v1/ws"

    def api_url(self, index: int = 0) -> str:
        """REST base URL of gateway `index`."""
        return f"http://{self.gateways[index].address}/api/v1"

    def stop(self) -> None:
        """Stop everything that still runs."""
        for process in [*self.gateways, *self.chats, *([self.auth] if self.auth else [])]:
            process.stop()
        self.broker.stop()

    # -- helpers over REST and the database ----------------------------------------------------------

    def register(self, prefix: str) -> tuple[int, str]:
        """A fresh user: (user id, access token)."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        reply = httpx.post(f"{self.api_url()}/auth/register", json={"username": name, "password": PASSWORD}, timeout=10)
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return int(body["user"]["id"]), str(body["session"]["access_token"])

    def room(self, token: str, member_ids: list[int], name: str = "scale") -> int:
        """A private room of the token's user with these members."""
        reply = httpx.post(
            f"{self.api_url()}/rooms",
            json={"kind": "private", "name": name, "member_ids": member_ids},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert reply.status_code == 201, reply.text
        return int(reply.json()["id"])

    def presence(self, token: str, room_id: int, gateway: int) -> list[int]:
        """Who gateway `gateway` says is online in the room."""
        reply = httpx.get(
            f"{self.api_url(gateway)}/rooms/{room_id}/presence",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        return [int(u) for u in reply.json()["online"]]

    def stored(self, room_id: int) -> list[tuple[int, str]]:
        """(seq, client_msg_id) of the room's messages in chat_db, ascending seq."""
        engine = create_engine(self.env["CHAT_DATABASE_URL"])
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT seq, client_msg_id FROM messages WHERE room_id = :r ORDER BY seq"), {"r": room_id}
                )
                return [(int(seq), str(key)) for seq, key in rows]
        finally:
            engine.dispose()


def frames_of(data: Any) -> dict[str, Any]:
    """A server frame as a dict."""
    frame: dict[str, Any] = orjson.loads(data)
    return frame
