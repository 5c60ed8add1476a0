"""A cluster per test: the failure tests kill its processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale.cluster import Cluster
from tests.support import redis as redis_support


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A broker, auth_svc, two chat_svc replicas and two gateways, on fresh MySQL databases."""
    redis_support.require()  # MySQL: the `mysql` marker skips or fails these tests
    started = Cluster(tmp_path)
    try:
        yield started.start()
    finally:
        started.stop()
