"""Stored history for the bench: chat_db pre-filled with N messages by a bulk loader, not the API.

The shape (docs/performance.md, "History-independent cost"): a few very large public channels
(most of the messages, every user in the first), many small rooms of 3 to 30 members, and many
direct conversations. In a channel a tenth of the members post and the rest lurk; read markers
are spread: some members read up to the end, some part way, many far behind, and no marker is
below its member's own newest message there (a send moves the sender's marker, messages.py).
Users are ids 1..users: the bench's first users register as those ids in a fresh auth_db, so they
sign in as members of this history, and the rooms the scenarios create come after it.

Every invariant chat_svc keeps holds: seq is 1..last_seq gap-free in every room and each message's
change is its seq (no edits), rooms.last_seq / last_change / timeline_count / last_message_at /
member_count and members.read_count match their rows, direct rooms have their "<low>:<high>" key,
and each mentions row has its message's `mentions` column. No threads, reactions, files or tombstones.

How: the messages go in by LOAD DATA LOCAL INFILE from tab-separated chunks, in primary-key order,
with the table's secondary and FULLTEXT indexes dropped first and built again afterwards (a sorted
build, much faster than maintaining them row by row); a thread writes the next chunk while MariaDB
loads the one before. Measured on 2 cores, 300,000 rows into the bare table: LOAD DATA 1.3 s,
multi-row INSERTs of 1,000 rows 4.3 s.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Queue

import MySQLdb
from sqlalchemy.engine import make_url

PUBLIC, PRIVATE, DIRECT = 1, 2, 3  # parley.chat.v1.RoomKind
OWNER, MEMBER = 1, 2  # parley.chat.v1.MemberRole
CHANNEL_SHARES = (0.30, 0.20, 0.10, 0.05)  # of all messages, one per very large channel
SMALL_SHARE, DIRECT_SHARE = 0.25, 0.10
CHUNK_ROWS = 500_000
SPAN = timedelta(days=365)  # the history covers the year before the load
EPOCH = datetime(2000, 1, 1)  # created_at = EPOCH + the row's microseconds (no time zone involved)


@dataclass
class Room:
    """A room of the history: its members, who of them post, and how many messages it holds."""

    id: int
    kind: int
    members: list[int]
    posters: list[int]
    messages: int
    last_by: dict[int, int] = field(default_factory=dict)  # poster -> their newest seq
    last_us: int = 0  # its newest message's created_at, in microseconds after EPOCH


@dataclass(frozen=True)
class Loaded:
    """What a load stored, and how long it took."""

    messages: int
    rooms: int
    members: int
    mentions: int
    users: int
    seconds: float
    index_seconds: float  # of which building the indexes again


def users_for(messages: int) -> int:
    """How many users a history of this size has (the bench's latency and throughput users, at 10M)."""
    return max(20, min(2000, messages // 5000))


def shape(messages: int, users: int, rng: random.Random) -> list[Room]:
    """The rooms of a history of `messages` messages among users 1..users."""
    everyone = list(range(1, users + 1))
    rooms: list[Room] = []
    for share in CHANNEL_SHARES:
        members = everyone[: max(2, users // (len(rooms) + 1))]
        posters = rng.sample(members, max(2, len(members) // 10))
        rooms.append(Room(len(rooms) + 1, PUBLIC, members, posters, int(messages * share)))
    small = max(4, messages // 10_000)
    weights = [rng.lognormvariate(0, 1.2) for _ in range(small)]
    for weight in weights:
        members = rng.sample(everyone, min(users, rng.randint(3, 30)))
        count = int(messages * SMALL_SHARE * weight / sum(weights))
        rooms.append(Room(len(rooms) + 1, rng.choice((PUBLIC, PRIVATE)), members, members, count))
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < min(max(4, messages // 5000), users * (users - 1) // 2):
        a, b = sorted(rng.sample(everyone, 2))
        pairs.add((a, b))
    per_direct = int(messages * DIRECT_SHARE / len(pairs))
    for a, b in sorted(pairs):
        rooms.append(Room(len(rooms) + 1, DIRECT, [a, b], [a, b], per_direct))
    rooms[0].messages += messages - sum(r.messages for r in rooms)  # rounding: the first channel takes it
    return rooms


def _bodies(rng: random.Random, count: int = 5000) -> list[str]:
    """Message bodies from a made-up vocabulary whose words are unevenly common, as words are."""
    syllables = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "pi", "an", "chu", "ex", "bo", "lin", "tar"]
    words = sorted({"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(4000)})
    ranked = [1 / (i + 1) for i in range(len(words))]
    return [" ".join(rng.choices(words, ranked, k=rng.randint(3, 14))) for _ in range(count)]


def _chunks(rooms: list[Room], rng: random.Random, folder: Path) -> Iterator[tuple[Path, Path, int]]:
    """Tab-separated files of messages (and their mentions rows), CHUNK_ROWS lines at most each."""
    bodies = _bodies(rng)
    end = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    start_us = int((end - SPAN - EPOCH).total_seconds() * 1e6)
    span_us = int(SPAN.total_seconds() * 1e6)
    lines: list[str] = []
    mentions: list[str] = []
    number = 0

    def flush() -> tuple[Path, Path, int]:
        nonlocal number
        number += 1
        path, named = folder / f"messages-{number}.tsv", folder / f"mentions-{number}.tsv"
        path.write_text("".join(lines))
        named.write_text("".join(mentions))
        result = (path, named, len(lines))
        lines.clear()
        mentions.clear()
        return result

    for room in rooms:
        n = room.messages
        if not n:
            continue
        begins = start_us + rng.randrange(span_us // 2) if room.kind != PUBLIC else start_us
        step = (start_us + span_us - begins) // n
        senders = rng.choices(room.posters, k=n)
        picks = rng.choices(range(len(bodies)), k=n)
        named_at = set(rng.sample(range(n), n // 200)) if room.kind != DIRECT and n >= 200 else set()
        rid = room.id
        room.last_us = begins + n * step
        for i in range(n):
            seq = i + 1
            sender = senders[i]
            room.last_by[sender] = seq
            mention = "\\N"
            if i in named_at:
                target = rng.choice(room.members)
                if target != sender:
                    mention = str(target)
                    mentions.append(f"{rid}\t{target}\t{seq}\t{sender}\n")
            lines.append(f"{rid}\t{seq}\t{sender}\t{bodies[picks[i]]}\t{begins + seq * step}\t{mention}\n")
            if len(lines) >= CHUNK_ROWS:
                yield flush()
    if lines:
        yield flush()


def _connect(url: str) -> MySQLdb.Connection:
    u = make_url(url)
    conn = MySQLdb.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 3306,
        user=u.username or "root",
        passwd=u.password or "",
        db=u.database or "",
        charset="utf8mb4",
        local_infile=1,
    )
    cursor = conn.cursor()
    # A fresh database of our own: no other writer, so the checks the loader's order already keeps are off.
    cursor.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
    return conn


def _secondary_indexes(cursor: MySQLdb.cursors.Cursor, table: str) -> list[str]:
    """The ADD INDEX clauses that rebuild the table's indexes other than its primary key (the migrations' own)."""
    cursor.execute(
        "SELECT index_name, non_unique, index_type, GROUP_CONCAT(CONCAT('`', column_name, '`') ORDER BY seq_in_index)"
        " FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = %s"
        " AND index_name <> 'PRIMARY' GROUP BY index_name, non_unique, index_type ORDER BY index_name",
        (table,),
    )
    clauses = []
    for name, non_unique, kind, columns in cursor.fetchall():
        prefix = "FULLTEXT INDEX" if kind == "FULLTEXT" else "INDEX" if non_unique else "UNIQUE INDEX"
        clauses.append(f"{prefix} `{name}` ({columns})")
    return clauses


def _writer(rooms: list[Room], rng: random.Random, folder: Path, out: Queue[tuple[Path, Path, int] | None]) -> None:
    try:
        for chunk in _chunks(rooms, rng, folder):
            out.put(chunk)
    finally:
        out.put(None)


def load(url: str, messages: int, users: int | None = None, seed: int = 19) -> Loaded:
    """Fill the (migrated, empty) chat_db at url with a history of `messages` messages."""
    started = time.monotonic()
    users = users or users_for(messages)
    rng = random.Random(seed)
    rooms = shape(messages, users, rng)
    conn = _connect(url)
    try:
        cursor = conn.cursor()
        indexes = _secondary_indexes(cursor, "messages")
        if indexes:
            names = [clause.split("`")[1] for clause in indexes]
            cursor.execute("ALTER TABLE messages " + ", ".join(f"DROP INDEX `{n}`" for n in names))
        stored = mentioned = 0
        with tempfile.TemporaryDirectory(prefix="parley-history-") as folder:
            chunks: Queue[tuple[Path, Path, int] | None] = Queue(maxsize=1)  # one chunk written ahead
            writer = threading.Thread(target=_writer, args=(rooms, rng, Path(folder), chunks), daemon=True)
            writer.start()
            while (chunk := chunks.get()) is not None:
                path, named, rows = chunk
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE messages"
                    " (room_id, seq, sender_id, body, @t, mentions)"
                    f" SET `change` = seq, client_msg_id = CONCAT('h', seq),"
                    f" created_at = TIMESTAMP'{EPOCH:%Y-%m-%d %H:%M:%S}' + INTERVAL @t MICROSECOND"
                )
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE '{named}' INTO TABLE mentions (room_id, user_id, seq, sender_id)"
                )
                mentioned += cursor.rowcount
                conn.commit()
                stored += rows
                path.unlink()
                named.unlink()
            writer.join()
        _rooms_and_members(cursor, rooms)
        conn.commit()
        index_started = time.monotonic()
        # One ALTER for the B-trees (one pass over the rows); InnoDB adds a FULLTEXT index alone.
        plain = [clause for clause in indexes if not clause.startswith("FULLTEXT")]
        if plain:
            cursor.execute("ALTER TABLE messages " + ", ".join(f"ADD {clause}" for clause in plain))
        for clause in indexes:
            if clause.startswith("FULLTEXT"):
                cursor.execute(f"ALTER TABLE messages ADD {clause}")
        index_seconds = time.monotonic() - index_started
        cursor.execute("ANALYZE TABLE rooms, members, messages, mentions")
        cursor.fetchall()
    finally:
        conn.close()
    members = sum(len(r.members) for r in rooms)
    return Loaded(stored, len(rooms), members, mentioned, users, time.monotonic() - started, index_seconds)


def _rooms_and_members(cursor: MySQLdb.cursors.Cursor, rooms: list[Room]) -> None:
    """The rooms with their counters, and their members with read markers, after the messages are in."""
    rng = random.Random(len(rooms))
    room_rows = []
    member_rows = []
    for room in rooms:
        owner = room.members[0]
        name = {PUBLIC: f"history-channel-{room.id}", PRIVATE: f"history-room-{room.id}", DIRECT: ""}[room.kind]
        if room.kind == PUBLIC and room.posters == room.members:
            name = f"history-public-{room.id}"
        key = f"{min(room.members)}:{max(room.members)}" if room.kind == DIRECT else None
        last = EPOCH + timedelta(microseconds=room.last_us) if room.messages else None
        first = EPOCH + timedelta(microseconds=room.last_us) - SPAN
        n = room.messages  # every message is live and in the main timeline: timeline_count is n
        row = (room.id, room.kind, name, owner, first, n, n, n, last, len(room.members), key)
        room_rows.append(row)
        for user in room.members:
            # Markers: a third read to the end, a third part way, a third far behind (the first 5%);
            # never below the member's own newest message.
            draw = rng.random()
            marker = n if draw < 0.34 else rng.randint(0, n) if draw < 0.67 else rng.randint(0, n // 20)
            marker = max(marker, room.last_by.get(user, 0))
            member_rows.append((room.id, user, OWNER if user == owner else MEMBER, first, marker, marker))
    cursor.executemany(
        "INSERT INTO rooms (id, kind, name, topic, created_by, created_at, last_seq, last_change, timeline_count,"
        " last_message_at, member_count, direct_key) VALUES (%s, %s, %s, '', %s, %s, %s, %s, %s, %s, %s, %s)",
        room_rows,
    )
    for start in range(0, len(member_rows), 10_000):
        cursor.executemany(
            "INSERT INTO members (room_id, user_id, role, joined_at, last_read_seq, read_count)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            member_rows[start : start + 10_000],
        )
