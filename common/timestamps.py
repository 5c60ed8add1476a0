"""Conversions between datetimes stored in the database and protobuf Timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo and at microsecond precision (as both databases store it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_timestamp(value: datetime | None) -> Timestamp | None:
    """A Timestamp for a naive-UTC datetime, None for None."""
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value.replace(tzinfo=UTC))
    return stamp


def from_epoch(seconds: float) -> Timestamp:
    """A Timestamp for seconds since the epoch."""
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp
