"""Search latency over a stored history: `python -m bench.search [--messages 100000] [--engines sqlite,mysql]`.

Each engine gets a fresh chat_db (a SQLite file under var/bench/, a parley_bench_search_* database on
the MySQL of PARLEY_TEST_MYSQL_URL), migrated, then filled through SQLAlchemy Core: rooms of 10
members, the searching user in half of them, bodies of 4-24 words drawn from a Zipf-like vocabulary
(so some words are in a third of all messages and most in a handful). The searches go through
chat_svc's Search concept, the code the SearchMessages RPC runs, minus gRPC: first pages of 20,
newest first, membership joined in the query. Prints a Markdown table of p50 / p95 / max per query.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from chat_svc import models
from chat_svc.repository import Wanted
from chat_svc.search import Search
from chat_svc.server import migrate
from chat_svc.settings import ChatSettings
from common.db import Database
from common.timestamps import utcnow
from tests.support import mysql

ROOT = Path(__file__).resolve().parent.parent
SEARCHER = 1
ROOM_SIZE = 10
CHUNK = 5000
RARE = "lighthouse"  # in 20 messages, half of them in the searcher's rooms
RUNS = 30


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    head = ["deploy", "review", "meeting", "release"]  # the queries' common words, the most frequent
    words: set[str] = set()
    while len(words) < size - len(head):
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return [*head, *sorted(words - set(head))]


def _bodies(rng: random.Random, count: int) -> Iterator[str]:
    vocabulary = _vocabulary(rng)
    weights = [1 / (rank + 8) for rank in range(len(vocabulary))]  # Zipf-like, flattened at the head
    rare = set(rng.sample(range(count), 20))
    for n in range(count):
        words = rng.choices(vocabulary, weights, k=rng.randint(4, 24))
        if n in rare:
            words.insert(rng.randrange(len(words)), RARE)
        yield " ".join(words)


def fill(db: Database, messages: int, rooms: int) -> None:
    """Rooms, members and messages, as a busy deployment would hold them."""
    rng = random.Random(13)
    start = utcnow() - timedelta(days=365)
    with db.sessions.begin() as s:
        s.execute(
            insert(models.Room),
            [
                {"id": r, "kind": 2, "name": f"room {r}", "topic": "", "created_by": 2, "created_at": start,
                 "last_seq": messages // rooms, "last_change": messages // rooms, "member_count": ROOM_SIZE}
                for r in range(1, rooms + 1)
            ],
        )  # fmt: skip
        s.execute(
            insert(models.Member),
            [
                {"room_id": r, "user_id": u, "role": 2, "joined_at": start, "last_read_seq": 0}
                for r in range(1, rooms + 1)
                for u in ([SEARCHER] if r % 2 else []) + list(range(2, ROOM_SIZE + 1))
            ],
        )
    rows: list[dict[str, object]] = []
    for n, body in enumerate(_bodies(rng, messages)):
        room, seq = n % rooms + 1, n // rooms + 1
        created = start + timedelta(seconds=n * 300)
        rows.append({"room_id": room, "seq": seq, "change": seq, "sender_id": 2 + n % (ROOM_SIZE - 1),
                     "client_msg_id": f"b{n}", "body": body, "created_at": created})  # fmt: skip
        if len(rows) == CHUNK:
            _store(db, rows)
            rows = []
    if rows:
        _store(db, rows)


def _store(db: Database, rows: list[dict[str, object]]) -> None:
    with db.sessions.begin() as s:
        s.execute(insert(models.Message), rows)


QUERIES = [
    ("a rare word (20 hits)", RARE, 0),
    ("a common word (in 1 message of 5)", "deploy", 0),
    ("two common words (together in 1 of 30)", "review meeting", 0),
    ("a two-letter prefix", "de", 0),
    ("a common word in one room", "deploy", 1),
]


def measure(db: Database) -> list[tuple[str, int, float, float, float]]:
    """(query, hits on the first page, p50, p95, max in ms) of each query."""
    search = Search(db)
    found = []
    for label, query, room in QUERIES:
        wanted = Wanted(SEARCHER, room_id=room)
        search.find(wanted, query, "", 20)  # warm: the engine's caches, the word rules
        times = []
        for _ in range(RUNS):
            began = time.perf_counter()
            hits, _ = search.find(wanted, query, "", 20)
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        found.append((label, len(hits), statistics.median(times), p95, times[-1]))
    return found


def _database(engine: str, messages: int) -> str:
    if engine == "sqlite":
        path = ROOT / "var" / "bench" / f"search-{messages}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in path.parent.glob(f"{path.name}*"):
            leftover.unlink()
        return f"sqlite:///{path}"
    return mysql.fresh_database("parley_bench_search")


def main() -> None:
    """Fill each engine's chat_db and print the search latencies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--engines", default="sqlite,mysql")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        url = _database(engine, args.messages)
        migrate(ChatSettings(database_url=url))
        db = Database(url, threads=1)
        try:
            began = time.perf_counter()
            fill(db, args.messages, args.rooms)
            filled = time.perf_counter() - began
            print(f"\n{engine}: {args.messages:,} messages in {args.rooms} rooms (the searcher in half), "
                  f"stored and indexed in {filled:.1f} s\n")  # fmt: skip
            print("| query | hits | p50 ms | p95 ms | max ms |\n| --- | --- | --- | --- | --- |")
            for label, hits, p50, p95, most in measure(db):
                print(f"| {label} | {hits} | {p50:.1f} | {p95:.1f} | {most:.1f} |")
        finally:
            db.close()


if __name__ == "__main__":
    main()
