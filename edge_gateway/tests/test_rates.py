"""The rate limits: one table, one hit path, counted in Redis across gateways (memory without, or while it fails)."""

from __future__ import annotations

from typing import get_args

import pytest

from edge_gateway.rates import ADDRESS_KEYED, DEFAULT_LIMITS, ROUTES, RateLimited, RateLimits, parse_table
from edge_gateway.settings import GatewaySettings
from edge_gateway.ws.commands import FRAME_FAMILIES
from edge_gateway.ws.frames import ClientFrame
from tests.support.redis import RedisServer

TABLE = {**DEFAULT_LIMITS, "send": "3 per minute", "typing": "1 per minute"}


async def test_the_hit_over_the_limit_is_refused_with_when_to_retry() -> None:
    """With send at 3 per minute, the 4th send is resource_exhausted with a retry-after within the minute."""
    rates = RateLimits(TABLE)
    for _ in range(3):
        await rates.hit("send", 7)
    with pytest.raises(RateLimited) as refused:
        await rates.hit("send", 7)
    assert refused.value.http_status == 429 and refused.value.name == "resource_exhausted"
    assert refused.value.retry_after_ms is not None and 0 < refused.value.retry_after_ms <= 60_000
    assert refused.value.headers == {"Retry-After": str(-(-refused.value.retry_after_ms // 1000))}
    assert refused.value.body()["error"]["retry_after_ms"] == refused.value.retry_after_ms


async def test_limits_count_per_key_and_per_family() -> None:
    """One user's spent budget stops neither another user nor the same user's other commands."""
    rates = RateLimits(TABLE)
    await rates.hit("typing", 7)
    with pytest.raises(RateLimited):
        await rates.hit("typing", 7)
    await rates.hit("typing", 8)
    await rates.hit("send", 7)


async def test_two_gateways_share_one_budget_through_redis(broker: RedisServer) -> None:
    """Two RateLimits on one Redis (two gateways) refuse the 4th send of a user between them."""
    one, two = RateLimits(TABLE, broker.url), RateLimits(TABLE, broker.url)
    try:
        await one.hit("send", 7)
        await two.hit("send", 7)
        await one.hit("send", 7)
        with pytest.raises(RateLimited):
            await two.hit("send", 7)
    finally:
        await one.close()
        await two.close()


async def test_with_redis_down_the_limits_hold_per_gateway(broker: RedisServer) -> None:
    """When Redis fails, a gateway counts in memory: the limit still holds there."""
    rates = RateLimits(TABLE, broker.url)
    broker.kill()
    try:
        for _ in range(3):
            await rates.hit("send", 7)
        with pytest.raises(RateLimited):
            await rates.hit("send", 7)
    finally:
        await rates.close()


def test_settings_override_the_defaults_and_refuse_unknown_families() -> None:
    """GATEWAY_RATE_LIMITS overrides families by name; an unknown name or unreadable limit is refused."""
    settings = GatewaySettings(client_secret="a-rates-test-secret-0123", rate_limits={"send": "5 per second"})
    assert settings.rate_limits["send"] == "5 per second"
    assert settings.rate_limits["typing"] == DEFAULT_LIMITS["typing"]
    with pytest.raises(ValueError, match="unknown rate limit"):
        parse_table({"sendz": "5 per second"})
    with pytest.raises(ValueError):
        parse_table({"send": "lots"})


def test_every_rest_operation_has_a_family_and_documents_429() -> None:
    """Each operation under /api/v1 is in ROUTES (no stale entries) and its OpenAPI entry lists 429."""
    from edge_gateway.app import create_app

    document = create_app(GatewaySettings(client_secret="a-rates-test-secret-0123")).openapi()
    operations = {
        f"{method.upper()} {path.removeprefix('/api/v1')}": operation
        for path, entries in document["paths"].items()
        if path.startswith("/api/v1")
        for method, operation in entries.items()
    }
    assert set(operations) == set(ROUTES)
    assert all("429" in operation["responses"] for operation in operations.values())
    assert set(ROUTES.values()) <= set(DEFAULT_LIMITS)


def test_every_frame_type_has_a_family() -> None:
    """Each client frame type is counted against a per-user family."""
    assert set(FRAME_FAMILIES) == set(get_args(get_args(ClientFrame)[0]))
    assert set(FRAME_FAMILIES.values()) <= set(DEFAULT_LIMITS) - ADDRESS_KEYED
