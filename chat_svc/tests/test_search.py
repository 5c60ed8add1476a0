"""Search on both engines: found by word in the caller's rooms only, keyset pages, edits, deletes, filters."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from chat_svc.domain import RoomKind, Send
from chat_svc.locks import RoomLocks
from chat_svc.membership import Membership
from chat_svc.messages import Messages
from chat_svc.publisher import Publisher
from chat_svc.repository import Wanted
from chat_svc.search import Hit, Search
from chat_svc.server import migrate
from chat_svc.settings import ChatSettings
from chat_svc.tests.helpers import AcceptingRooms
from common.db import Database
from common.errors import InvalidArgument, NotFound, PermissionDenied
from common.timestamps import utcnow
from parley.chat.v1 import chat_pb2 as pb
from tests.support import mysql

_users = itertools.count(1000)
_keys = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[Database]:
    """A migrated chat_db shared by this module's tests: a SQLite file, or a fresh MySQL database."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("search") / "chat.db"
        shutil.copyfile(migrated_sqlite, path)
        url = f"sqlite:///{path}"
    else:
        url = mysql.fresh_database("parley_test_chat_search")
        migrate(ChatSettings(database_url=url))
    db = Database(url, threads=4)
    yield db
    db.close()


@dataclass
class World:
    """The concepts search works beside, on the shared database; each test's users are its own."""

    db: Database
    events: list[pb.Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Wire the concepts as chat_svc does."""
        publisher, locks = Publisher(self.events.extend), RoomLocks()
        self.rooms = AcceptingRooms(self.db, publisher, locks)
        self.membership = Membership(self.db, publisher, locks, 1000)
        self.messages = Messages(self.db, publisher, locks)
        self.search = Search(self.db)

    def room(self, owner: int, *members: int) -> int:
        """A new private room of owner's with these members; its id."""
        return self.rooms.create(owner, RoomKind.PRIVATE, "search", "", list(members)).id

    def send(self, user_id: int, room_id: int, body: str, thread_root_seq: int = 0) -> int:
        """Store one message; its seq."""
        return self.messages.send(user_id, room_id, f"k{next(_keys)}", body, thread_root_seq).message.seq

    def find(self, user_id: int, query: str, **filters: object) -> list[Hit]:
        """Every hit of a search, all pages read (pages of `limit`, default 3, so paging is exercised)."""
        limit = int(filters.pop("limit", 3))  # type: ignore[call-overload]
        wanted = Wanted(user_id, **filters)  # type: ignore[arg-type]
        hits, token = self.search.find(wanted, query, "", limit)
        while token:
            page, token = self.search.find(wanted, query, token, limit)
            assert page, "a next_page_token leads to hits"
            hits.extend(page)
        return hits

    def found(self, user_id: int, query: str, **filters: object) -> list[tuple[int, int]]:
        """(room, seq) of every hit, in the order found."""
        return [(h.message.room_id, h.message.seq) for h in self.find(user_id, query, **filters)]


@pytest.fixture
def world(database: Database) -> World:
    """The concepts over this module's database."""
    return World(database)


def users(n: int) -> list[int]:
    """Fresh user ids, n of them, that no other test uses."""
    return [next(_users) for _ in range(n)]


def test_finds_by_word_in_the_callers_rooms_and_not_in_others(world: World) -> None:
    """A word is found in each room the caller belongs to, newest first, and never in a room of others."""
    alice, bob, carol = users(3)
    ours, mine, theirs = world.room(alice, bob), world.room(alice), world.room(carol, bob)
    first = world.send(bob, ours, "the quarterly report is late")
    world.send(alice, ours, "lunch?")
    second = world.send(alice, mine, "Quarterly numbers, draft")
    world.send(carol, theirs, "quarterly secrets")
    assert world.found(alice, "quarterly") == [(mine, second), (ours, first)]
    assert world.found(carol, "quarterly") == [(theirs, 1)]


def test_a_member_who_left_no_longer_finds_the_rooms_messages(world: World) -> None:
    """Membership is part of the query: after leaving, the room's messages are not found."""
    alice, bob = users(2)
    room = world.room(alice, bob)
    world.send(alice, room, "farewell party on friday")
    assert world.found(bob, "farewell") == [(room, 1)]
    world.membership.leave(bob, room)
    assert world.found(bob, "farewell") == []


def test_pages_return_each_hit_once_newest_first(world: World) -> None:
    """25 hits in pages of 3, some stored in one batch with the same created_at: each once, in order."""
    alice, bob = users(2)
    one, two = world.room(alice, bob), world.room(alice, bob)
    batch = [Send(alice, room, f"b{next(_keys)}", f"standup note {n}") for n in range(10) for room in (one, two)]
    world.messages.store(batch)  # one transaction: all share one created_at
    for n in range(5):
        world.send(bob, one, f"standup later {n}")
    found = world.found(alice, "standup", limit=3)
    assert len(found) == len(set(found)) == 25
    assert found[:5] == [(one, seq) for seq in range(15, 10, -1)]
    tied = [(room, seq) for room in (one, two) for seq in range(1, 11)]
    assert found[5:] == sorted(tied, reverse=True)  # the same time: by room, then seq, descending


def test_an_edited_message_is_found_by_its_new_text_only(world: World) -> None:
    """After an edit the new words find the message and the old ones do not."""
    alice = users(1)[0]
    room = world.room(alice)
    seq = world.send(alice, room, "meet at the harbour")
    world.messages.edit(alice, room, seq, "meet at the station")
    assert world.found(alice, "station") == [(room, seq)]
    assert world.found(alice, "harbour") == []
    (hit,) = world.find(alice, "station")
    assert hit.message.body == "meet at the station" and hit.message.edited_at is not None


def test_a_deleted_message_is_never_found(world: World) -> None:
    """A tombstone is not found by the words it had."""
    alice, bob = users(2)
    room = world.room(alice, bob)
    seq = world.send(alice, room, "password hunter2 oops")
    world.send(bob, room, "you posted your password")
    world.messages.delete(alice, room, seq)
    assert world.found(bob, "password") == [(room, 2)]
    assert world.found(bob, "hunter2") == []


def test_replies_in_threads_are_found(world: World) -> None:
    """A reply is a message like any other: found, with its thread's root."""
    alice, bob = users(2)
    room = world.room(alice, bob)
    root = world.send(alice, room, "deploy plan")
    world.send(bob, room, "rollback first", thread_root_seq=root)
    (hit,) = world.find(alice, "rollback")
    assert hit.message.thread_root_seq == root


def test_filters_by_room_sender_and_time(world: World) -> None:
    """room_id, sender_id and since/until each narrow the hits."""
    alice, bob = users(2)
    one, two = world.room(alice, bob), world.room(alice, bob)
    world.send(alice, one, "invoice one")
    before = utcnow()
    world.send(bob, one, "invoice two")
    world.send(bob, two, "invoice three")
    assert world.found(alice, "invoice", room_id=two) == [(two, 1)]
    assert world.found(alice, "invoice", sender_id=bob) == [(two, 1), (one, 2)]
    assert world.found(alice, "invoice", until=before) == [(one, 1)]
    assert world.found(alice, "invoice", since=before) == [(two, 1), (one, 2)]
    later = utcnow() + timedelta(seconds=1)
    assert world.found(alice, "invoice", since=later) == []


def test_every_word_is_needed_and_the_last_matches_as_a_prefix(world: World) -> None:
    """All words must be present; the last one may be the start of a word; case and accents do not matter."""
    alice = users(1)[0]
    room = world.room(alice)
    world.send(alice, room, "Café meeting tomorrow")
    world.send(alice, room, "cafe closed")
    assert world.found(alice, "cafe meet") == [(room, 1)]
    assert world.found(alice, "CAFÉ") == [(room, 2), (room, 1)]
    assert world.found(alice, "meeting cafe") == [(room, 1)]  # the prefix "cafe" is a whole word too
    assert world.found(alice, "tomorrow closed") == []


def test_highlights_are_code_point_ranges_of_the_words_found(world: World) -> None:
    """Highlights count code points (an emoji is one), cover whole words, and follow the body."""
    alice = users(1)[0]
    room = world.room(alice)
    body = "🎉🎉 Release notes: release-candidate ready"
    world.send(alice, room, body)
    (hit,) = world.find(alice, "notes rele")
    assert hit.highlights == ((3, 10), (11, 16), (18, 25))
    assert [body[a:b] for a, b in hit.highlights] == ["Release", "notes", "release"]


def test_operators_in_a_query_are_only_punctuation(world: World) -> None:
    """Boolean and FTS5 syntax in a query is ignored: "+a -b" needs both words, and quotes break nothing."""
    alice = users(1)[0]
    room = world.room(alice)
    world.send(alice, room, "alpha bravo")
    world.send(alice, room, "alpha charlie")
    assert world.found(alice, "+alpha -bravo*") == [(room, 1)]
    assert world.found(alice, '"alpha" (charlie) OR ~x') == []  # "OR" and "x" are words too
    assert world.found(alice, 'alpha" (charl*') == [(room, 2)]


def test_a_query_without_words_is_refused(world: World) -> None:
    """Only punctuation or operators, an empty query or one too long: InvalidArgument."""
    alice = users(1)[0]
    for query in ['+-"*()~<>@', "   ", "", "x" * 201]:
        with pytest.raises(InvalidArgument):
            world.search.find(Wanted(alice), query, "", 0)


def test_a_malformed_or_foreign_page_token_is_refused(world: World) -> None:
    """A token not from this search (garbage, altered, or another query's) is InvalidArgument."""
    alice = users(1)[0]
    room = world.room(alice)
    for n in range(3):
        world.send(alice, room, f"ticket {n}")
    _, token = world.search.find(Wanted(alice), "ticket", "", 1)
    assert token
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in ["garbage!", "AAAA", altered, token + "x", "é"]:
        with pytest.raises(InvalidArgument, match="page_token"):
            world.search.find(Wanted(alice), "ticket", bad, 1)
    with pytest.raises(InvalidArgument, match="page_token"):
        world.search.find(Wanted(alice), "tickets", token, 1)
    with pytest.raises(InvalidArgument, match="page_token"):
        world.search.find(Wanted(alice, room_id=room), "ticket", token, 1)


def test_one_room_needs_membership(world: World) -> None:
    """Searching one room needs membership (PermissionDenied) and an existing room (NotFound)."""
    alice, carol = users(2)
    room = world.room(carol)
    with pytest.raises(PermissionDenied):
        world.search.find(Wanted(alice, room_id=room), "anything", "", 0)
    with pytest.raises(NotFound):
        world.search.find(Wanted(alice, room_id=10**9), "anything", "", 0)


def test_limits_are_checked(world: World) -> None:
    """The limit is 1-50 (0 = 20); since must come before until."""
    alice = users(1)[0]
    for limit in (-1, 51):
        with pytest.raises(InvalidArgument, match="limit"):
            world.search.find(Wanted(alice), "word", "", limit)
    now = utcnow()
    with pytest.raises(InvalidArgument, match="since"):
        world.search.find(Wanted(alice, since=now, until=now), "word", "", 0)


def test_short_words_still_find_by_the_other_words(world: World) -> None:
    """A short word or stopword next to a real one: found on both engines (MySQL cannot require it)."""
    alice = users(1)[0]
    room = world.room(alice)
    world.send(alice, room, "go to the gym at 7")
    assert world.found(alice, "go to the gym") == [(room, 1)]
    assert world.found(alice, "the gym") == [(room, 1)]


def test_a_word_longer_than_the_index_holds_does_not_hide_the_rest(world: World) -> None:
    """A word past InnoDB's longest token (84) is not required on MySQL; on SQLite it is a word like any other."""
    alice = users(1)[0]
    room = world.room(alice)
    long_word = "a" * 90
    world.send(alice, room, f"{long_word} marker")
    assert world.found(alice, f"{long_word} marker") == [(room, 1)]


def test_sqlite_vacuum_keeps_the_index_attached(world: World, database: Database) -> None:
    """VACUUM may renumber the implicit rowids of messages; the FTS rows are keyed by (room, seq) instead."""
    if not database.is_sqlite:
        pytest.skip("SQLite only: VACUUM and implicit rowids")
    alice = users(1)[0]
    gone, kept = world.room(alice), world.room(alice)
    for n in range(20):
        world.send(alice, gone, f"filler {n}")
    world.send(alice, kept, "lighthouse keeper")
    with database.sessions.begin() as s:
        s.execute(text("DELETE FROM rooms WHERE id = :r"), {"r": gone})  # cascades: a gap in the rowids
    with database.engine.connect() as conn:
        conn.execute(text("VACUUM"))
    (hit,) = world.find(alice, "lighthouse")
    assert (hit.message.room_id, hit.message.body) == (kept, "lighthouse keeper")
    assert world.found(alice, "filler") == []
