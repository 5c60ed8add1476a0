"""Conversions between stored datetimes and protobuf Timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from common.timestamps import from_epoch, to_timestamp, utcnow


def test_utcnow_is_naive_utc() -> None:
    """utcnow() has no tzinfo and is within a second of the real UTC time."""
    now = utcnow()
    assert now.tzinfo is None
    assert abs((datetime.now(UTC).replace(tzinfo=None) - now).total_seconds()) < 1


def test_to_timestamp_reads_naive_values_as_utc() -> None:
    """A naive datetime is taken as UTC, microseconds included."""
    stamp = to_timestamp(datetime(2026, 1, 2, 3, 4, 5, 678901))
    assert stamp is not None
    assert stamp.ToDatetime(tzinfo=UTC) == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def test_to_timestamp_of_none_is_none() -> None:
    """None stays None (an unset optional field)."""
    assert to_timestamp(None) is None


def test_from_epoch_keeps_fractions() -> None:
    """Epoch seconds with a fraction become seconds and nanos, to the microsecond (a float's precision here)."""
    stamp = from_epoch(1_700_000_000.25)
    assert stamp.seconds == 1_700_000_000
    assert round(stamp.nanos, -3) == 250_000_000


def test_from_epoch_of_whole_seconds_is_exact() -> None:
    """Whole epoch seconds (token expiries) convert exactly."""
    stamp = from_epoch(1_795_539_399.0)
    assert (stamp.seconds, stamp.nanos) == (1_795_539_399, 0)
