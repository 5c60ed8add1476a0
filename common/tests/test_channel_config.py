"""The client channel's service config: retries name real, idempotent methods only."""

from __future__ import annotations

import json

from common.server import RETRYABLE, SERVICE_CONFIG
from parley.auth.v1 import auth_pb2
from parley.chat.v1 import chat_pb2

SERVICES = {
    "parley.chat.v1.ChatService": chat_pb2.DESCRIPTOR.services_by_name["ChatService"],
    "parley.auth.v1.AuthService": auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
}


def test_every_retried_method_exists() -> None:
    """Every method named in the retry policy exists in its service's descriptor."""
    for service, methods in RETRYABLE.items():
        known = {m.name for m in SERVICES[service].methods}
        assert set(methods) <= known, set(methods) - known


def test_calls_that_are_not_idempotent_are_never_retried() -> None:
    """Calls that must not run twice (creating rooms, registering, signing in and out) are never retried."""
    never = {"CreateRoom", "Register", "Login", "Refresh", "Logout"}
    assert not never & {m for methods in RETRYABLE.values() for m in methods}


def test_service_config_is_round_robin_with_unavailable_retries() -> None:
    """The channel balances round robin and retries only on UNAVAILABLE."""
    config = json.loads(SERVICE_CONFIG)
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    policy = config["methodConfig"][0]["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]
