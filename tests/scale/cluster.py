"""Several replicas on one machine: a broker, auth_svc, N chat_svc and N gateways on fresh MySQL databases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.support import mysql
from tests.support.processes import ServiceProcess
from tests.support.redis import RedisServer
from tests.support.stack import Stack


@dataclass
class Cluster:
    """Real processes (a tests.support.stack.Stack); kill and restart them to test failures."""

    tmp: Path
    replicas: int = 2
    presence_ttl: float = 3.0
    mysql_url: str = mysql.SERVER_URL  # the shared test server, or one the test started itself
    stack: Stack = field(init=False)

    def __post_init__(self) -> None:
        settings = {
            "CHAT_SHUTDOWN_GRACE_SECONDS": "3",
            "CHAT_GAP_SWEEP_SECONDS": "0.5",
            "GATEWAY_PRESENCE_TTL_SECONDS": str(self.presence_ttl),
        }
        self.stack = Stack(self.tmp, env=settings)

    def start(self) -> Cluster:
        """Broker, databases, auth_svc and the chat_svc replicas, then the gateways."""
        self.stack.create_databases(f"parley_test_sc_{uuid.uuid4().hex[:6]}", self.mysql_url)
        self.stack.up(replicas=self.replicas, gateways=self.replicas, broker=True)
        return self

    @property
    def broker(self) -> RedisServer:
        """The Redis broker every replica and gateway uses."""
        assert self.stack.broker is not None
        return self.stack.broker

    @property
    def chats(self) -> list[ServiceProcess]:
        """The chat_svc replicas."""
        return self.stack.chats

    @property
    def gateways(self) -> list[ServiceProcess]:
        """The gateways; each reaches every chat_svc replica as one round-robin target."""
        return self.stack.gateways

    def ws_url(self, index: int) -> str:
        """WebSocket URL of gateway `index`."""
        return f"ws://{self.gateways[index].address}/api/v1/ws"

    def api_url(self, index: int = 0) -> str:
        """REST base URL of gateway `index`."""
        return f"http://{self.gateways[index].address}/api/v1"

    def stop(self) -> None:
        """Stop everything that still runs."""
        self.stack.stop()

    # -- helpers over REST and the database ----------------------------------------------------------

    def register(self, prefix: str) -> tuple[int, str]:
        """A fresh user: (user id, access token)."""
        user, token = self.stack.register(prefix)
        return int(user["id"]), token

    def room(self, token: str, members: list[tuple[int, str]], name: str = "scale") -> int:
        """A private room of the token's user with these (id, token) members, each accepting their invitation."""
        reply = httpx.post(
            f"{self.api_url()}/rooms",
            json={"kind": "private", "name": name, "member_ids": [uid for uid, _ in members]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert reply.status_code == 201, reply.text
        room_id = int(reply.json()["id"])
        for _, member_token in members:
            accepted = httpx.post(
                f"{self.api_url()}/invitations/{room_id}/accept",
                headers={"Authorization": f"Bearer {member_token}"},
                timeout=10,
            )
            assert accepted.status_code == 200, accepted.text
        return room_id

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
        return self.stack.stored_messages(room_id, "client_msg_id")


def frames_of(data: Any) -> dict[str, Any]:
    """A server frame as a dict."""
    frame: dict[str, Any] = orjson.loads(data)
    return frame
