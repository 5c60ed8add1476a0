"""Helpers shared by the chat_svc test modules: test tokens, a fake user directory, callers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from auth_svc.keys import Keyring, new_key
from chat_svc.domain import Room
from chat_svc.events import EventHub
from chat_svc.invitations import Invitations, Limits
from chat_svc.locks import RoomLocks
from chat_svc.models import Message
from chat_svc.publisher import Publisher
from chat_svc.rooms import Rooms
from chat_svc.servicer import ChatServicer
from chat_svc.settings import ChatSettings
from common.db import Database
from common.errors import NotFound
from common.tokens import ALGORITHM, StaticKeySource, auth_metadata
from parley.chat.v1 import chat_pb2 as pb
from tests.support.grpc_testing_adapter import AsyncServicerHarness

ISSUER = "parley-auth"
AUDIENCE = "parley"

# Users the fake directory knows; anything else is NOT_FOUND.
ALICE, BOB, CAROL, DAVE = 1, 2, 3, 4
KNOWN_USERS = frozenset(range(1, 10))
UNKNOWN_USER = 999


class TokenMint:
    """Signs test access tokens with a throwaway Ed25519 keyring, as auth_svc would."""

    def __init__(self, keys_dir: Path) -> None:
        self.keyring = Keyring([new_key(keys_dir)])

    @property
    def key_id(self) -> str:
        """The kid every token from this mint carries."""
        return self.keyring.active.key_id

    def key_source(self) -> StaticKeySource:
        """What chat_svc verifies with: the mint's public key under its kid."""
        return StaticKeySource({self.key_id: self.keyring.active.public_key})

    @staticmethod
    def claims(subject: str, **overrides: Any) -> dict[str, Any]:
        """Valid claims for subject, with overrides applied (None removes a claim)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "sid": f"session-{subject}",
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, subject: str | int, **overrides: Any) -> str:
        """A signed access token for a user id or a "service:<name>" subject."""
        return self.keyring.sign(self.claims(str(subject), **overrides))

    def forged(self, subject: str | int, key_id: str = "") -> str:
        """A token signed by another key, naming this mint's kid (or key_id)."""
        other = Ed25519PrivateKey.generate()
        headers = {"kid": key_id or self.key_id}
        return jwt.encode(self.claims(str(subject)), other, algorithm=ALGORITHM, headers=headers)


# Usernames the fake directory knows: user 1 is "alice", ... (see USERNAMES).
USERNAMES = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE}


@dataclass
class FakeDirectory:
    """Stands in for auth_svc's user lookups: knows a fixed set of user ids and USERNAMES."""

    known: frozenset[int] = KNOWN_USERS
    calls: list[list[int]] = field(default_factory=list)
    name_calls: list[list[str]] = field(default_factory=list)

    async def user_ids(self, usernames: Sequence[str], token: str, timeout_s: float) -> dict[str, int]:
        """The ids of the known usernames among these, as UserDirectory answers."""
        self.name_calls.append(list(usernames))
        return {name: USERNAMES[name] for name in usernames if name in USERNAMES}

    async def require_users(self, user_ids: Sequence[int], token: str, timeout_s: float) -> None:
        """NotFound for the lowest id that is not known, as UserDirectory does."""
        self.calls.append(sorted(set(user_ids)))
        missing = set(user_ids) - self.known
        if missing:
            raise NotFound(f"no user with id {min(missing)}")


_ids = itertools.count(1)


def new_client_msg_id() -> str:
    """A fresh client_msg_id."""
    return f"cm-{next(_ids)}"


@dataclass
class Caller:
    """One principal's view of the harness: every call carries its token."""

    harness: AsyncServicerHarness
    token: str
    user_id: int = 0
    # Other users' callers, so that the users a room is created with can accept their invitations.
    peer: Callable[[int], Caller] | None = None

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The authorization metadata of this caller."""
        return auth_metadata(self.token)

    def call(self, method: str, request: Any) -> tuple[Any, grpc.StatusCode, str]:
        """(response, code, details) of a unary ChatService call."""
        return self.harness.invoke_unary(method, request, metadata=self.metadata)

    def ok(self, method: str, request: Any) -> Any:
        """The response of a unary call that must succeed."""
        response, code, details = self.call(method, request)
        assert code == grpc.StatusCode.OK, f"{method}: {code} {details}"
        return response

    def code(self, method: str, request: Any) -> grpc.StatusCode:
        """Only the status code of a unary call."""
        return self.call(method, request)[1]

    def create_room(
        self, name: str = "general", kind: int = pb.ROOM_KIND_PUBLIC, members: Iterable[int] = ()
    ) -> pb.Room:
        """A new room owned by this caller; the members invited accept, as each of them would."""
        invited = list(members)
        request = pb.CreateRoomRequest(kind=kind, name=name, member_ids=invited)  # type: ignore[arg-type]
        room = self.ok("CreateRoom", request).room
        for user_id in sorted(set(invited) - {self.user_id}):
            assert self.peer is not None, "a caller made by ChatHarness.user accepts for its members"
            room = self.peer(user_id).ok("AcceptInvitation", pb.AcceptInvitationRequest(room_id=room.id)).room
        return room

    def direct(self, other: Caller) -> pb.Room:
        """The direct room of this caller and another, opened by this caller and accepted by the other."""
        room = self.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=other.user_id)).room
        return other.ok("OpenDirectRoom", pb.OpenDirectRoomRequest(user_id=self.user_id)).room or room

    def invite(self, room_id: int, user_id: int) -> pb.Room:
        """Invite a user to a room; the invited user accepts. The room as it is then."""
        self.ok("InviteMember", pb.InviteMemberRequest(room_id=room_id, user_id=user_id))
        assert self.peer is not None
        return self.peer(user_id).ok("AcceptInvitation", pb.AcceptInvitationRequest(room_id=room_id)).room

    def send(self, room_id: int, body: str = "hello", client_msg_id: str | None = None) -> pb.Message:
        """Send a message that must be stored."""
        request = pb.SendMessageRequest(room_id=room_id, client_msg_id=client_msg_id or new_client_msg_id(), body=body)
        return self.ok("SendMessage", request).message

    def room(self, room_id: int) -> pb.Room:
        """GetRoom, which must succeed."""
        return self.ok("GetRoom", pb.GetRoomRequest(room_id=room_id)).room

    def my_room(self, room_id: int) -> pb.MyRoom:
        """This caller's entry for a room in ListMyRooms."""
        rooms = {r.room.id: r for r in self.ok("ListMyRooms", pb.ListMyRoomsRequest(limit=500)).rooms}
        return rooms[room_id]

    def history(self, room_id: int, anchor: int = 0, direction: int = pb.DIRECTION_FORWARD, limit: int = 200):
        """A page of ListMessages."""
        request = pb.ListMessagesRequest(room_id=room_id, anchor_seq=anchor, direction=direction, limit=limit)  # type: ignore[arg-type]
        return self.ok("ListMessages", request)


@dataclass
class ChatHarness:
    """A ChatServicer under grpcio-testing with everything it was built from."""

    harness: AsyncServicerHarness
    servicer: ChatServicer
    hub: EventHub
    db: Database
    mint: TokenMint
    directory: FakeDirectory
    settings: ChatSettings

    def user(self, user_id: int) -> Caller:
        """A caller with a valid token for user_id."""
        return Caller(self.harness, self.mint.token(user_id), user_id, self.user)

    def caller(self, token: str) -> Caller:
        """A caller presenting any token at all."""
        return Caller(self.harness, token)

    def message_rows(self) -> int:
        """How many message rows are stored, tombstones included."""
        with self.db.sessions() as s:
            return s.scalar(select(func.count()).select_from(Message)) or 0

    def open_stream(self, caller: Caller, request: pb.StreamEventsRequest, timeout: float = 5.0) -> Any:
        """A live StreamEvents call: take_response() each batch, cancel() when done."""
        method = self.harness.service.methods_by_name["StreamEvents"]
        return self.harness.server.invoke_unary_stream(method, caller.metadata, request, timeout)

    def stream(
        self, caller: Caller, request: pb.StreamEventsRequest, take: int, timeout: float = 5.0
    ) -> tuple[list[pb.StreamEventsResponse], grpc.StatusCode | None, str]:
        """The first `take` responses of StreamEvents (or fewer, and the status, if it ends)."""
        return self.harness.invoke_stream("StreamEvents", request, caller.metadata, take=take, timeout=timeout)

    def close(self) -> None:
        """End every open event stream (as server shutdown does) so no handler thread is left waiting."""
        self.harness.loop.call_soon_threadsafe(self.hub.close)
        deadline = time.monotonic() + 5
        while self.hub._subscriptions and time.monotonic() < deadline:
            time.sleep(0.01)


def read_until_caught_up(rpc: Any) -> list[pb.Event]:
    """Take StreamEvents responses up to the caught_up marker; the replayed events."""
    events: list[pb.Event] = []
    while True:
        response = rpc.take_response()
        events.extend(response.events)
        if response.caught_up:
            return events


def created_seqs(events: Iterable[pb.Event], room_id: int) -> list[int]:
    """The seqs of message_created events for one room, in arrival order."""
    return [e.message_created.seq for e in events if e.room_id == room_id and e.HasField("message_created")]


class AcceptingRooms(Rooms):
    """Rooms whose create() has each invited member accept at once, as domain-level tests want."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks, limits: Limits | None = None) -> None:
        super().__init__(db, publisher, locks, limits or Limits())
        self.invitations = Invitations(db, publisher, locks, limits or Limits())

    def create(self, user_id: int, kind: int, name: str, topic: str, member_ids: Sequence[int]) -> Room:
        """A new room owned by user_id, with member_ids as members who accepted."""
        room = super().create(user_id, kind, name, topic, member_ids)
        for member in sorted(set(member_ids) - {user_id}):
            room = self.invitations.accept(member, room.id)
        return room
