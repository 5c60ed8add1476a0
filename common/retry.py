"""Riding out short outages: which database failures are worth another try, and how long to try.

A MySQL restart or failover shows up as "can't connect", "server has gone away", "lost connection"
or, under contention, as a deadlock; each passes in seconds. `Database.run` (common/db.py) retries
them here, the one place for chat_svc's and auth_svc's transactions, with exponential backoff and
full jitter (so replicas do not retry in step), until the deadline of the call being served (the
gRPC guard sets it, common/grpc_errors.py) or, outside a call, a window of the service's settings.

Only operations that are safe twice are retried after a failure mid-transaction, since a commit
whose answer was lost may have happened: every chat_svc write is idempotent by its request (a
client_msg_id, a target state) except CreateRoom, and auth_svc's Register, Login and Refresh are
not. Those are retried only when the connection could not be made at all (nothing was sent).
docs/delivery.md lists them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextvars import ContextVar

from sqlalchemy.exc import DBAPIError

# When the gRPC call being served must be answered (time.monotonic()), or None outside a call.
call_deadline: ContextVar[float | None] = ContextVar("call_deadline", default=None)

# MySQL / MariaDB client and server error numbers of a passing outage.
CANNOT_CONNECT = frozenset({2002, 2003, 2005})  # no socket, refused, unknown host: nothing was sent
CONNECTION_LOST = frozenset({2006, 2013, 4031})  # gone away, lost during a query, closed for inactivity
TRY_AGAIN = frozenset({1205, 1213})  # lock wait timeout, deadlock: the transaction was rolled back
READ_ONLY = frozenset({1290, 1836})  # --read-only / a replica being promoted during a failover

ANSWER_MARGIN_S = 0.25  # answer this long before the caller's deadline, so the error reaches it


def error_number(exc: BaseException) -> int | None:
    """The driver's error number of a database error, if it has one."""
    if not isinstance(exc, DBAPIError):
        return None
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def cannot_connect(exc: BaseException) -> bool:
    """The database could not be reached at all: nothing of the transaction was sent."""
    return error_number(exc) in CANNOT_CONNECT


def conflict(exc: BaseException) -> bool:
    """Another writer got in the way (a deadlock, a lock wait timeout, SQLite busy): rolled back, try again."""
    if not isinstance(exc, DBAPIError):
        return False
    number = error_number(exc)
    return number in TRY_AGAIN if number is not None else "database is locked" in str(exc.orig)


def transient(exc: BaseException) -> bool:
    """A failure that another try a moment later may not meet (an outage, a deadlock, a failover)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or conflict(exc):
        return True
    return error_number(exc) in CANNOT_CONNECT | CONNECTION_LOST | READ_ONLY


def retry_until(window_s: float) -> float:
    """When to stop retrying: the call's deadline (less a margin to answer), else now + window."""
    deadline = call_deadline.get()
    return time.monotonic() + window_s if deadline is None else deadline - ANSWER_MARGIN_S


def backoff(until: float, base_s: float = 0.05, cap_s: float = 1.0) -> Iterator[float]:
    """Pauses before each next try (full jitter, doubling up to cap_s) until `until`; the last one ends there."""
    ceiling = base_s
    while (left := until - time.monotonic()) > 0:
        # Cut to what is left rather than giving up early when the jitter draws past `until`.
        yield min(random.uniform(0, ceiling), left)
        ceiling = min(cap_s, ceiling * 2)
